import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '@keyswitch/core';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltPackage } from './support/built-package.js';
import { startChild } from './support/child.js';
import { expectCode } from './support/errors.js';

const PASSPHRASE = 'correct horse battery staple 0f9e';
const message = new TextEncoder().encode('keys survive a restart');
let dir: string;
let counter = 0;
const freshPath = () => join(dir, `store-${++counter}`, 'dev.keystore');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'soft-hsm-keystore-'));
  ensureBuiltPackage();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('persistence', () => {
  it('keys, states and dates survive close and reopen; they sign with the same public key', async () => {
    const keystore = freshPath();
    const first = await SoftHsm.open({ keystore, passphrase: new Secret(PASSPHRASE) });
    expect(first.keystore).toBe(keystore);
    const rsa = await first.createKey({
      spec: 'RSA_2048',
      usage: 'SIGN_VERIFY',
      label: 'rsa',
      tags: { a: 'b' },
    });
    await first.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'ec', description: 'ACS' });
    const aes = await first.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT' });
    await first.createKey({ spec: 'HMAC_512', usage: 'GENERATE_VERIFY_MAC', label: 'mac' });
    await first.disableKey('mac');
    const deletion = await first.scheduleKeyDeletion(aes.ref, { pendingWindowDays: 30 });
    const ciphertext = await (async () => {
      await first.cancelKeyDeletion(aes.ref);
      await first.enableKey(aes.ref);
      const blob = await first.encrypt({
        ref: aes.ref,
        algorithm: 'SYMMETRIC_DEFAULT',
        plaintext: message,
        context: { t: '1' },
      });
      await first.scheduleKeyDeletion(aes.ref, { pendingWindowDays: 30 });
      return blob;
    })();
    const rsaPublic = (await first.getPublicKey('rsa')).spki;
    const ecPublic = (await first.getPublicKey('ec')).spki;
    const before = (await first.listKeys()).keys;
    await first.close();
    expect(existsSync(`${keystore}.lock`)).toBe(false);

    const second = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    const after = (await second.listKeys()).keys;
    expect(after).toEqual(before);
    expect(after.find((key) => key.keyId === aes.keyId)!.deletionDate!.getTime()).toBeGreaterThanOrEqual(
      deletion.getTime(),
    );
    expect((await second.describeKey('rsa')).keyId).toBe(rsa.keyId);
    expect((await second.describeKey('ec')).description).toBe('ACS');
    expect((await second.describeKey('mac')).state).toBe('DISABLED');
    expect((await second.getPublicKey('rsa')).spki).toEqual(rsaPublic);
    expect((await second.getPublicKey('ec')).spki).toEqual(ecPublic);
    const signature = await second.sign({ ref: 'ec', algorithm: 'ECDSA_SHA_256', message });
    expect(
      verify(
        'sha256',
        message,
        createPublicKey({ key: Buffer.from(ecPublic), format: 'der', type: 'spki' }),
        signature,
      ),
    ).toBe(true);
    const rsaSignature = await second.sign({
      ref: rsa.keyId,
      algorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      message,
    });
    expect(
      verify(
        'sha256',
        message,
        createPublicKey({ key: Buffer.from(rsaPublic), format: 'der', type: 'spki' }),
        rsaSignature,
      ),
    ).toBe(true);
    await second.cancelKeyDeletion(aes.keyId);
    await second.enableKey(aes.keyId);
    expect(
      await second.decrypt({
        ref: aes.keyId,
        algorithm: 'SYMMETRIC_DEFAULT',
        ciphertext,
        context: { t: '1' },
      }),
    ).toEqual(message);
    await second.close();
  });

  it('imported keys persist and keep working', async () => {
    const keystore = freshPath();
    const raw = Buffer.alloc(32, 0x5a);
    const ec = generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
    const first = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    await first.importKey({ label: 'hmac', usage: 'GENERATE_VERIFY_MAC', spec: 'HMAC_256', raw });
    await first.importKey({
      label: 'ec',
      usage: 'SIGN_VERIFY',
      pkcs8: ec.privateKey.export({ format: 'der', type: 'pkcs8' }),
    });
    const mac = await first.generateMac({ ref: 'hmac', algorithm: 'HMAC_SHA_256', message });
    await first.close();
    const second = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    expect(await second.generateMac({ ref: 'hmac', algorithm: 'HMAC_SHA_256', message })).toEqual(mac);
    const digest = createHash('sha512').update(message).digest();
    const signature = await second.sign({
      ref: 'ec',
      algorithm: 'ECDSA_SHA_512',
      message: digest,
      messageType: 'DIGEST',
    });
    expect(verify('sha512', message, ec.publicKey, signature)).toBe(true);
    await second.close();
  });

  it('is encrypted at rest: a scrypt header with N, r, p and salt, no key bytes or names in clear', async () => {
    const keystore = freshPath();
    const raw = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pkcs8 = ec.privateKey.export({ format: 'der', type: 'pkcs8' });
    const hsm = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    await hsm.importKey({
      label: 'very-secret-label',
      usage: 'ENCRYPT_DECRYPT',
      spec: 'SYMMETRIC_DEFAULT',
      raw,
    });
    await hsm.importKey({ label: 'ec-key', usage: 'SIGN_VERIFY', pkcs8 });
    await hsm.close();
    const file = readFileSync(keystore);
    expect(file.subarray(0, 5).toString('ascii')).toBe('KSHSM');
    expect(file[5]).toBe(1);
    const header = JSON.parse(file.subarray(10, 10 + file.readUInt32BE(6)).toString('utf8'));
    expect(header).toMatchObject({ kdf: { name: 'scrypt', N: 131072, r: 8, p: 1 }, cipher: 'aes-256-gcm' });
    expect(Buffer.from(header.kdf.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(header.iv, 'base64')).toHaveLength(12);
    expect(file.includes(raw)).toBe(false);
    expect(file.includes(pkcs8.subarray(-40))).toBe(false);
    expect(file.includes(Buffer.from('very-secret-label'))).toBe(false);
    expect(file.includes(Buffer.from(PASSPHRASE))).toBe(false);
    // Each write uses a fresh IV under the same salt.
    const again = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    await again.disableKey('ec-key');
    await again.close();
    const rewritten = JSON.parse(
      readFileSync(keystore)
        .subarray(10, 10 + file.readUInt32BE(6))
        .toString('utf8'),
    );
    expect(rewritten.kdf.salt).toBe(header.kdf.salt);
    expect(rewritten.iv).not.toBe(header.iv);
  });

  it('keys past their deletion date are destroyed when the keystore is opened', async () => {
    const keystore = freshPath();
    let now = new Date('2030-01-01T00:00:00Z');
    const clock = () => now;
    const first = await SoftHsm.open({ keystore, passphrase: PASSPHRASE, clock });
    await first.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'old' });
    await first.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'young' });
    await first.scheduleKeyDeletion('old', { pendingWindowDays: 7 });
    await first.close();
    now = new Date('2030-01-09T00:00:00Z');
    const second = await SoftHsm.open({ keystore, passphrase: PASSPHRASE, clock });
    await second.close();
    // Destroyed on disk, not only hidden: a reader with the real clock does not see it either.
    const reader = await SoftHsm.open({ keystore, passphrase: PASSPHRASE, readOnly: true });
    expect((await reader.listKeys()).keys.map((key) => key.ref)).toEqual(['young']);
    await reader.close();
  });

  it('concurrent changes are serialized: none is lost', async () => {
    const keystore = freshPath();
    const hsm = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    const created = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) =>
        hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: `k${i}` }),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        hsm.createKey({ spec: 'ECC_NIST_P384', usage: 'SIGN_VERIFY', label: `e${i}` }),
      ),
    ]);
    await Promise.all([hsm.disableKey('k0'), hsm.disableKey('k1'), hsm.scheduleKeyDeletion('k2')]);
    await hsm.close();
    const reopened = await SoftHsm.open({ keystore, passphrase: PASSPHRASE, readOnly: true });
    const keys = (await reopened.listKeys()).keys;
    expect(new Set(keys.map((key) => key.keyId))).toEqual(new Set(created.map((key) => key.keyId)));
    expect(
      keys
        .filter((key) => key.state !== 'ENABLED')
        .map((key) => key.ref)
        .sort(),
    ).toEqual(['k0', 'k1', 'k2']);
    await reopened.close();
  });
});

describe('opening', () => {
  it('a wrong passphrase gives CONFIG_INVALID without echoing it', async () => {
    const keystore = freshPath();
    await (await SoftHsm.open({ keystore, passphrase: PASSPHRASE })).close();
    const error = await expectCode(
      SoftHsm.open({ keystore, passphrase: 'wrong passphrase 7c2d' }),
      'CONFIG_INVALID',
    );
    expect(error.message).toContain('cannot open keystore: wrong passphrase or corrupted file');
    expect(error.message).toContain(keystore);
    expect(error.message).not.toContain('7c2d');
    expect(JSON.stringify(error)).not.toContain('7c2d');
    expect(existsSync(`${keystore}.lock`)).toBe(false); // a failed open releases the lock
  });

  it('a changed byte anywhere gives the same CONFIG_INVALID', async () => {
    const keystore = freshPath();
    const hsm = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    await hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'k' });
    await hsm.close();
    const original = readFileSync(keystore);
    const headerEnd = 10 + original.readUInt32BE(6);
    for (const offset of [12, headerEnd - 3, headerEnd + 5, original.length - 1]) {
      const changed = Buffer.from(original);
      changed[offset]! ^= 0x01;
      writeFileSync(keystore, changed);
      const error = await expectCode(SoftHsm.open({ keystore, passphrase: PASSPHRASE }), 'CONFIG_INVALID');
      expect(error.message, `byte ${offset}`).toMatch(
        /cannot open keystore: (wrong passphrase or corrupted file|not a keyswitch)/,
      );
    }
    writeFileSync(keystore, 'not a keystore at all');
    expect(
      (await expectCode(SoftHsm.open({ keystore, passphrase: PASSPHRASE }), 'CONFIG_INVALID')).message,
    ).toMatch(/not a keyswitch soft-hsm keystore/);
    writeFileSync(keystore, original);
    await (await SoftHsm.open({ keystore, passphrase: PASSPHRASE })).close();
  });

  it('a keystore needs a passphrase; a read-only open needs an existing keystore', async () => {
    const keystore = freshPath();
    expect((await expectCode(SoftHsm.open({ keystore }), 'CONFIG_INVALID')).message).toMatch(
      /needs a passphrase/,
    );
    await expectCode(SoftHsm.open({ keystore, passphrase: '' }), 'CONFIG_INVALID');
    expect(
      (await expectCode(SoftHsm.open({ keystore, passphrase: PASSPHRASE, readOnly: true }), 'CONFIG_INVALID'))
        .message,
    ).toMatch(/does not exist/);
    expect(existsSync(keystore)).toBe(false);
  });

  it('read-only opens alongside a writer, sees committed changes, and refuses changes with ACCESS_DENIED', async () => {
    const keystore = freshPath();
    const writer = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    await writer.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'k' });
    const reader = await SoftHsm.open({ keystore, passphrase: PASSPHRASE, readOnly: true });
    expect((await reader.listKeys()).keys.map((key) => key.ref)).toEqual(['k']);
    await reader.sign({ ref: 'k', algorithm: 'ECDSA_SHA_256', message });
    for (const change of [
      () => reader.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' }),
      () => reader.disableKey('k'),
      () => reader.enableKey('k'),
      () => reader.scheduleKeyDeletion('k'),
      () => reader.cancelKeyDeletion('k'),
    ]) {
      const error = await expectCode(change(), 'ACCESS_DENIED');
      expect(error.message).toContain('read-only');
    }
    await reader.close();
    await writer.disableKey('k');
    const later = await SoftHsm.open({ keystore, passphrase: PASSPHRASE, readOnly: true });
    expect((await later.describeKey('k')).state).toBe('DISABLED');
    await later.close();
    await writer.close();
  });

  it('removes temporary files a crashed writer left behind', async () => {
    const keystore = freshPath();
    await (await SoftHsm.open({ keystore, passphrase: PASSPHRASE })).close();
    const leftover = join(keystore, '..', '.dev.keystore.99999.abcdef012345.tmp');
    writeFileSync(leftover, 'half a keystore');
    await (await SoftHsm.open({ keystore, passphrase: PASSPHRASE })).close();
    expect(existsSync(leftover)).toBe(false);
  });
});

describe('locking', () => {
  it('a second opener in this process gets LOCKED', async () => {
    const keystore = freshPath();
    const first = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    const error = await expectCode(SoftHsm.open({ keystore, passphrase: PASSPHRASE }), 'LOCKED');
    expect(error.message).toContain(keystore);
    expect(error.message).toContain(`pid ${process.pid}`);
    await first.close();
    await (await SoftHsm.open({ keystore, passphrase: PASSPHRASE })).close();
  });

  it('a second process gets LOCKED naming the keystore and the holder pid', async () => {
    const keystore = freshPath();
    const holder = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    expect(readFileSync(`${keystore}.lock`, 'utf8').trim()).toBe(`${process.pid} ${hostname()}`);
    const child = startChild('open', keystore, PASSPHRASE);
    const line = await child.next();
    await child.exited;
    expect(line).toMatchObject({ ok: false, code: 'LOCKED' });
    expect(line.message).toContain(keystore);
    expect(line.message).toContain(`process ${process.pid}`);
    await holder.close();
    const retry = startChild('open', keystore, PASSPHRASE);
    expect(await retry.next()).toMatchObject({ ok: true });
    await retry.exited;
  });

  it("this process gets LOCKED while a child holds it; a killed holder's stale lock is taken over", async () => {
    const keystore = freshPath();
    const child = startChild('hold', keystore, PASSPHRASE);
    const ready = await child.next();
    expect(ready).toMatchObject({ ok: true });
    const error = await expectCode(SoftHsm.open({ keystore, passphrase: PASSPHRASE }), 'LOCKED');
    expect(error.message).toContain(`process ${ready.pid}`);
    expect(error.message).toContain(keystore);
    const reader = await SoftHsm.open({ keystore, passphrase: PASSPHRASE, readOnly: true });
    await reader.close();
    child.process.kill('SIGKILL');
    await child.exited;
    expect(readFileSync(`${keystore}.lock`, 'utf8').trim()).toBe(`${ready.pid} ${hostname()}`); // stale, left behind
    const taker = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    expect(readFileSync(`${keystore}.lock`, 'utf8').trim()).toBe(`${process.pid} ${hostname()}`);
    await taker.close();
  });

  it('the lock is released when the process exits without closing', async () => {
    const keystore = freshPath();
    const child = startChild('exit-without-close', keystore, PASSPHRASE);
    expect(await child.next()).toMatchObject({ ok: true });
    await child.exited;
    expect(existsSync(`${keystore}.lock`)).toBe(false);
  });

  it('stale locks: a lock holding our own pid from a previous life, an old empty lock; a fresh empty lock is respected', async () => {
    const keystore = freshPath();
    await (await SoftHsm.open({ keystore, passphrase: PASSPHRASE })).close();
    writeFileSync(`${keystore}.lock`, `${process.pid}\n`);
    await (await SoftHsm.open({ keystore, passphrase: PASSPHRASE })).close();
    writeFileSync(`${keystore}.lock`, '');
    await expectCode(SoftHsm.open({ keystore, passphrase: PASSPHRASE }), 'LOCKED');
    utimesSync(`${keystore}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await (await SoftHsm.open({ keystore, passphrase: PASSPHRASE })).close();
  });
});

describe('crash safety', () => {
  it('a writer killed mid-write loses no key whose create had resolved', async () => {
    const keystore = freshPath();
    const child = startChild('create-loop', keystore, PASSPHRASE, {
      KEYSWITCH_SOFTHSM_TEST_PAUSE_BEFORE_RENAME_MS: '400',
    });
    await child.next((line) => line.created === 'crash-2');
    // The child is now writing crash-3: wait for its temporary file, then kill it before the rename.
    const directory = join(keystore, '..');
    const tempFiles = () => readdirSync(directory).filter((name) => name.endsWith('.tmp'));
    const deadline = Date.now() + 5_000;
    while (tempFiles().length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(tempFiles()).toHaveLength(1);
    child.process.kill('SIGKILL');
    await child.exited;
    const resolved = child.lines.filter((line) => line.created).map((line) => line.created as string);
    expect(resolved).toEqual(['crash-0', 'crash-1', 'crash-2']);
    expect(existsSync(`${keystore}.lock`)).toBe(true);

    const hsm = await SoftHsm.open({ keystore, passphrase: PASSPHRASE });
    const refs = (await hsm.listKeys()).keys.map((key) => key.ref);
    for (const name of resolved) expect(refs).toContain(name);
    expect(refs).not.toContain('crash-3'); // killed before its rename: never committed, never reported
    for (const name of resolved) await hsm.generateMac({ ref: name, algorithm: 'HMAC_SHA_256', message });
    expect(tempFiles()).toEqual([]);
    await hsm.close();
  });
});
