// Key commitment (format 2) against the two-key attack on format 1, read-only format 1 and its migration,
// and format 2 cross-checked with WebCrypto's HKDF and node:crypto's AES-GCM.
import { createCipheriv, createDecipheriv, createHash, randomBytes, webcrypto } from 'node:crypto';
import { encodeEncryptionContext, type Keyswitch } from '@keyswitch/core';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeEnvelope, serializeLegacyEnvelope } from '../src/format/envelope-bytes.js';
import { Keyring, parseEnvelope, rewrap } from '../src/index.js';
import { twoKeyCiphertext } from './support/gcm-two-keys.js';
import { encoder, provisioned, rejection } from './support/keyswitch.js';

const context = { table: 'cards' };
const contextBytes = Buffer.from(encodeEncryptionContext(context));
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(): Promise<{ ks: Keyswitch; keyring: Keyring }> {
  const { ks } = await provisioned();
  const keyring = Keyring.create(ks);
  cleanup.push(
    () => ks.close(),
    () => keyring.close(),
  );
  return { ks, keyring };
}

/** A data key from the backend, as anyone allowed to encrypt under pan-kek can get one. */
async function dataKey(ks: Keyswitch): Promise<{ plaintext: Buffer; wrapped: Uint8Array }> {
  const key = await (await ks.provider('kms')).generateDataKey({
    ref: 'pan-kek',
    dataKeySpec: 'AES_256',
    context,
  });
  return { plaintext: Buffer.from(key.plaintext!), wrapped: key.ciphertextBlob };
}

/** Format 1's GCM additional data, as the README specified it. */
const legacyAad = (name: string) =>
  Buffer.concat([Buffer.from('KSEN'), Buffer.from([1, 0, name.length]), Buffer.from(name), contextBytes]);

/** Format 2's key schedule, from the README, on WebCrypto's HKDF (an implementation independent of node's). */
async function specifiedSchedule(key: Uint8Array, salt: Uint8Array, name: string): Promise<Buffer> {
  const bound = createHash('sha512')
    .update(Buffer.from([name.length]))
    .update(name)
    .update(contextBytes)
    .digest();
  const info = Buffer.concat([
    Buffer.from('keyswitch envelope v2: AES-256-GCM key and key commitment\0'),
    bound,
  ]);
  const base = await webcrypto.subtle.importKey('raw', key, 'HKDF', false, ['deriveBits']);
  return Buffer.from(
    await webcrypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-512', salt, info }, base, 512),
  );
}

const v2Aad = (name: string, salt: Uint8Array, commitment: Uint8Array) =>
  Buffer.concat([
    Buffer.from('KSEN'),
    Buffer.from([2, 0, name.length]),
    Buffer.from(name),
    contextBytes,
    salt,
    commitment,
  ]);

describe('format 2: key commitment', () => {
  it('is what the README specifies: WebCrypto HKDF and node:crypto AES-GCM open it', async () => {
    const { ks, keyring } = await setup();
    const sealed = await keyring
      .envelopes('pan-kek')
      .encrypt(encoder.encode('4111111111111111'), { context });
    const envelope = parseEnvelope(sealed);
    expect(envelope).toMatchObject({ formatVersion: 2, keyName: 'pan-kek', keyVersion: '1' });
    expect(Buffer.from(sealed).subarray(0, 6)).toEqual(Buffer.from([0x4b, 0x53, 0x45, 0x4e, 2, 0]));
    expect(envelope.wrappedKeys).toHaveLength(1);
    const key = await (await ks.provider('kms')).decrypt({
      ref: 'pan-kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      ciphertext: envelope.wrappedDataKey,
      context,
    });
    const schedule = await specifiedSchedule(key, envelope.salt!, 'pan-kek');
    expect(schedule.subarray(32)).toEqual(Buffer.from(envelope.commitment!));
    const decipher = createDecipheriv('aes-256-gcm', schedule.subarray(0, 32), envelope.iv);
    decipher.setAAD(v2Aad('pan-kek', envelope.salt!, envelope.commitment!));
    decipher.setAuthTag(envelope.tag);
    expect(Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]).toString()).toBe(
      '4111111111111111',
    );
  });

  it('builds the two-key attack: format 1 opens one body to two plaintexts; format 2 refuses it', async () => {
    const { ks, keyring } = await setup();
    const cards = keyring.envelopes('pan-kek');
    const [first, second] = [await dataKey(ks), await dataKey(ks)];
    const iv = randomBytes(12);

    // Format 1: one IV, ciphertext and tag; two envelopes differing only in the wrapped data key.
    const body = twoKeyCiphertext(first.plaintext, second.plaintext, iv, legacyAad('pan-kek'));
    const legacy = (wrapped: Uint8Array) =>
      serializeLegacyEnvelope({
        keyName: 'pan-kek',
        keyVersion: '1',
        storedContext: undefined,
        wrappedDataKey: wrapped,
        iv,
        ...body,
      });
    const opened1 = Buffer.from(await cards.decrypt(legacy(first.wrapped), { context }));
    const opened2 = Buffer.from(await cards.decrypt(legacy(second.wrapped), { context }));
    expect(opened1).toHaveLength(64);
    expect(opened1.equals(opened2)).toBe(false); // one body, two plaintexts: the attack works on format 1
    // A keyring whose commitment policy requires format 2 refuses both copies, and rewrap will not read them.
    const strict = Keyring.create(ks, { commitmentPolicy: 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT' });
    cleanup.push(() => strict.close());
    for (const wrapped of [first.wrapped, second.wrapped]) {
      const error = await rejection(strict.envelopes('pan-kek').decrypt(legacy(wrapped), { context }));
      expect(error).toMatchObject({ code: 'INVALID_CIPHERTEXT', keyName: 'pan-kek' });
      expect(error.message).toMatch(/format 1, which does not commit to its data key/);
    }
    expect((await rejection(rewrap(strict, legacy(first.wrapped), { context }))).code).toBe(
      'INVALID_CIPHERTEXT',
    );
    // Format 2 opens under it, and an unknown policy is a configuration error naming the option.
    const fresh = await cards.encrypt(encoder.encode('4111111111111111'), { context });
    expect(Buffer.from(await strict.envelopes('pan-kek').decrypt(fresh, { context })).toString()).toBe(
      '4111111111111111',
    );
    expect(() => Keyring.create(ks, { commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' as never })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', path: 'commitmentPolicy' }),
    );

    // Format 2: the attacker does the same over the derived keys, and must pick one commitment.
    const salt = randomBytes(32);
    const schedule1 = await specifiedSchedule(first.plaintext, salt, 'pan-kek');
    const schedule2 = await specifiedSchedule(second.plaintext, salt, 'pan-kek');
    const commitment = schedule1.subarray(32);
    const body2 = twoKeyCiphertext(
      schedule1.subarray(0, 32),
      schedule2.subarray(0, 32),
      iv,
      v2Aad('pan-kek', salt, commitment),
    );
    // GCM alone would still accept it under the second derived key...
    const gcm = createDecipheriv('aes-256-gcm', schedule2.subarray(0, 32), iv);
    gcm.setAAD(v2Aad('pan-kek', salt, commitment));
    gcm.setAuthTag(body2.tag);
    expect(() => Buffer.concat([gcm.update(body2.ciphertext), gcm.final()])).not.toThrow();
    const committed = (wrapped: Uint8Array) =>
      serializeEnvelope({
        keyName: 'pan-kek',
        storedContext: undefined,
        salt,
        commitment,
        wrappedKeys: [{ keyVersion: '1', wrappedDataKey: wrapped }],
        iv,
        ...body2,
      });
    // ...but the second data key does not match the commitment: refused before anything is decrypted.
    const refused = await rejection(cards.decrypt(committed(second.wrapped), { context }));
    expect(refused).toMatchObject({ code: 'INVALID_CIPHERTEXT', keyName: 'pan-kek' });
    expect(refused.message).toMatch(/does not match the envelope's key commitment/);
    const honest = Buffer.from(await cards.decrypt(committed(first.wrapped), { context }));
    expect(honest).toHaveLength(64);
    // Once the committed key is cached (by salt and commitment), the forged copy is never opened: the
    // envelope gives the one committed plaintext or nothing, whichever wrapped copy it carries.
    const again = await cards.decrypt(committed(second.wrapped), { context });
    expect(Buffer.from(again).equals(honest)).toBe(true);
    // Nor can one envelope carry both copies: whichever is tried, only the committed key opens it.
    const both = serializeEnvelope({
      keyName: 'pan-kek',
      storedContext: undefined,
      salt,
      commitment: schedule2.subarray(32),
      wrappedKeys: [{ keyVersion: '1', wrappedDataKey: first.wrapped }],
      iv,
      ...body2,
    });
    expect((await rejection(cards.decrypt(both, { context }))).code).toBe('INVALID_CIPHERTEXT');
  });
});

describe('format 1: read only, migrated by rewrap', () => {
  it('decrypts format 1 and rewrap re-encrypts it to format 2, shared data keys costing one unwrap', async () => {
    const { ks, keyring } = await setup();
    const key = await dataKey(ks);
    const records = ['4111111111111111', '5500005555555559', '340000000000009'];
    const legacy = records.map((record) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key.plaintext, iv);
      cipher.setAAD(legacyAad('pan-kek'));
      const ciphertext = Buffer.concat([cipher.update(record), cipher.final()]);
      return serializeLegacyEnvelope({
        keyName: 'pan-kek',
        keyVersion: '1',
        storedContext: undefined,
        wrappedDataKey: key.wrapped,
        iv,
        ciphertext,
        tag: cipher.getAuthTag(),
      });
    });
    const cards = keyring.envelopes('pan-kek');
    for (const [index, envelope] of legacy.entries()) {
      expect(parseEnvelope(envelope).formatVersion).toBe(1);
      expect(Buffer.from(await cards.decrypt(envelope, { context })).toString()).toBe(records[index]);
    }
    const migrated = [];
    for (const envelope of legacy) {
      const result = await rewrap(keyring, envelope, { context });
      expect(result).toMatchObject({ changed: true, fromVersion: '1', toVersion: '1' });
      migrated.push(result.envelope);
    }
    const fresh = Keyring.create(ks); // no cached keys: each record opens through the backend
    cleanup.push(() => fresh.close());
    for (const [index, envelope] of migrated.entries()) {
      const parsed = parseEnvelope(envelope);
      expect(parsed.formatVersion).toBe(2);
      expect(Buffer.from(parsed.wrappedDataKey)).toEqual(Buffer.from(key.wrapped)); // same version: copy kept
      expect(Buffer.from(await fresh.envelopes('pan-kek').decrypt(envelope, { context })).toString()).toBe(
        records[index],
      );
      expect((await rewrap(fresh, envelope, { context })).changed).toBe(false);
    }
    // A format 1 envelope that does not authenticate is reported, not migrated.
    const damaged = Buffer.from(legacy[0]!);
    damaged[damaged.length - 1]! ^= 1;
    expect((await rejection(rewrap(keyring, damaged, { context }))).code).toBe('INVALID_CIPHERTEXT');
  });
});
