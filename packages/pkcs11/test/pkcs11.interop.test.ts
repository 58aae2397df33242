import { execFileSync } from 'node:child_process';
import {
  constants,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  verify,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Algorithm, type KeySpec, Keyswitch } from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pkcs11Provider, providerFactory } from '../src/index.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// Interop with OpenSC's pkcs11-tool on SoftHSM2: keys it makes are usable by URI, and keys keyswitch
// makes are usable by it. pkcs11-tool runs as a separate process on the same token directory.
const tokens = createTestTokens();
const skip = 'skip' in tokens;

describe.skipIf(skip)('interop with pkcs11-tool (OpenSC) on SoftHSM2', () => {
  const ready = tokens as TestTokens;
  const softhsm = skip ? undefined : target('softhsm2', ready);
  let provider: Pkcs11Provider;
  const tool = (...args: string[]) =>
    execFileSync(
      'pkcs11-tool',
      [
        '--module',
        softhsm!.module,
        '--token-label',
        ready.env.KEYSWITCH_SOFTHSM2_TOKEN!,
        '--login',
        '--pin',
        ready.env.KEYSWITCH_SOFTHSM2_PIN!,
        ...args,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...ready.env } },
    );
  const file = (name: string) => join(ready.dir, name);

  beforeAll(async () => {
    provider = await openTarget(softhsm!);
  });

  afterAll(async () => {
    await provider?.close();
    ready.remove();
  });

  it('keys pkcs11-tool generates with a label are usable by pkcs11: URI', async () => {
    tool('--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'tool-ec', '--id', 'a1b2', '--usage-sign');
    tool('--keypairgen', '--key-type', 'rsa:2048', '--label', 'tool-rsa', '--id', 'c3d4', '--usage-sign');
    const ec = await provider.describeKey('pkcs11:object=tool-ec;type=private');
    expect(ec).toMatchObject({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      keyId: 'a1b2',
      state: 'ENABLED',
      aliases: ['tool-ec'],
    });
    const message = Buffer.from('made by pkcs11-tool, used by keyswitch');
    const signature = await provider.sign({ ref: ec.ref, algorithm: 'ECDSA_SHA_256', message });
    const { spki } = await provider.getPublicKey(ec.ref);
    expect(
      verify(
        'sha256',
        message,
        createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
        signature,
      ),
    ).toBe(true);
    // The SPKI keyswitch exports is the one pkcs11-tool reads.
    tool('--read-object', '--type', 'pubkey', '--label', 'tool-ec', '--output-file', file('tool-ec.der'));
    expect(readFileSync(file('tool-ec.der'))).toEqual(Buffer.from(spki));

    const rsaRef = 'pkcs11:object=tool-rsa';
    expect(await provider.describeKey(rsaRef)).toMatchObject({
      spec: 'RSA_2048',
      usage: 'SIGN_VERIFY',
      keyId: 'c3d4',
    });
    const pss = await provider.sign({ ref: rsaRef, algorithm: 'RSASSA_PSS_SHA_256', message });
    expect(
      await provider.verify({ ref: rsaRef, algorithm: 'RSASSA_PSS_SHA_256', message, signature: pss }),
    ).toBe(true);
  });

  it('a key pkcs11-tool made for several usages is accepted for each one it is configured for', async () => {
    tool(
      '--keypairgen',
      '--key-type',
      'rsa:2048',
      '--label',
      'tool-rsa-both',
      '--id',
      'e5f6',
      '--usage-sign',
      '--usage-decrypt',
    );
    tool(
      '--keypairgen',
      '--key-type',
      'EC:prime256v1',
      '--label',
      'tool-ec-both',
      '--id',
      'a7b8',
      '--usage-sign',
      '--usage-derive',
    );
    const rsaRef = 'pkcs11:object=tool-rsa-both;type=private';
    const ecRef = 'pkcs11:object=tool-ec-both;type=private';
    expect(await provider.describeKey(rsaRef)).toMatchObject({
      usage: 'SIGN_VERIFY',
      usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
    });
    expect(await provider.describeKey(ecRef)).toMatchObject({ usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'] });
    const key = (ref: string, spec: KeySpec, algorithm: Algorithm) => ({
      provider: 'hsm',
      ref,
      spec,
      algorithm,
    });
    const ks = await Keyswitch.fromConfig(
      {
        environment: 'test',
        providers: { hsm: { ...softhsm!.options, type: 'pkcs11', pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' } } },
        keys: {
          'ds-decrypt': key(rsaRef, 'RSA_2048', 'RSAES_OAEP_SHA_1'),
          'ds-signing': key(rsaRef, 'RSA_2048', 'RSASSA_PSS_SHA_256'),
          'acs-ecdh': key(ecRef, 'ECC_NIST_P256', 'ECDH'),
          'acs-signing': key(ecRef, 'ECC_NIST_P256', 'ECDSA_SHA_256'),
        },
      },
      { env: { ...process.env, ...ready.env }, providerFactories: { pkcs11: providerFactory } },
    );
    try {
      const spki = async (ref: string) =>
        createPublicKey({
          key: Buffer.from((await provider.getPublicKey(ref)).spki),
          format: 'der',
          type: 'spki',
        });
      const rsa = await spki(rsaRef);
      const sealed = publicEncrypt(
        { key: rsa, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
        Buffer.from('device data key'),
      );
      expect(Buffer.from(await ks.decrypter('ds-decrypt').decrypt(sealed)).toString()).toBe(
        'device data key',
      );
      const message = Buffer.from('one key, two configured purposes');
      const pss = await ks.signer('ds-signing').sign(message);
      expect(
        verify(
          'sha256',
          message,
          { key: rsa, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          pss,
        ),
      ).toBe(true);
      const ec = await spki(ecRef);
      expect(verify('sha256', message, ec, await ks.signer('acs-signing').sign(message))).toBe(true);
      // ECDH: the secret node:crypto computes on the peer's side.
      const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const secret = await ks
        .keyAgreement('acs-ecdh')
        .deriveSharedSecret(new Uint8Array(peer.publicKey.export({ format: 'der', type: 'spki' })));
      expect(Buffer.from(secret)).toEqual(diffieHellman({ privateKey: peer.privateKey, publicKey: ec }));
    } finally {
      await ks.close();
    }
  });

  it('keys keyswitch creates are listed, read and used by pkcs11-tool', async () => {
    const key = await provider.createKey({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      label: 'keyswitch-ec',
    });
    const listing = tool('--list-objects', '--type', 'privkey');
    expect(listing).toContain('keyswitch-ec');
    expect(listing).toContain(key.keyId);
    // pkcs11-tool signs a digest with the keyswitch key; node:crypto verifies with keyswitch's SPKI.
    const message = Buffer.from('made by keyswitch, used by pkcs11-tool');
    writeFileSync(file('digest.bin'), createHash('sha256').update(message).digest());
    tool(
      '--sign',
      '--mechanism',
      'ECDSA',
      '--id',
      key.keyId,
      '--input-file',
      file('digest.bin'),
      '--output-file',
      file('sig.der'),
      '--signature-format',
      'openssl',
    );
    const { spki } = await provider.getPublicKey(key.ref);
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    expect(verify('sha256', message, publicKey, readFileSync(file('sig.der')))).toBe(true);
    expect(
      await provider.verify({
        ref: key.ref,
        algorithm: 'ECDSA_SHA_256',
        message,
        signature: readFileSync(file('sig.der')),
      }),
    ).toBe(true);
    tool('--read-object', '--type', 'pubkey', '--id', key.keyId, '--output-file', file('keyswitch-ec.der'));
    expect(readFileSync(file('keyswitch-ec.der'))).toEqual(Buffer.from(spki));
    // pkcs11-tool sees what keyswitch asked for: sign only, sensitive, never extractable.
    const entry = listing.slice(listing.indexOf('keyswitch-ec'));
    expect(entry).toMatch(/Usage:\s+sign\n/);
    expect(entry).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
  });
});
