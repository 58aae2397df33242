// Versions for signing, decryption, MAC and key-agreement keys, on the three backends: the software HSM, AWS KMS (kms-local
// through the real AWS SDK over HTTP) and PKCS#11 (a SoftHSM2 token made by the project's script). A
// signer signs with the active version and verifies with every version in use; a decrypter decrypts
// what was encrypted to an older version (the 3DS case: a DS rotating the RSA key SDKs encrypt to); a
// key agreement agrees with the version an ECDH-ES JWE's kid names.
// node:crypto and the `jose` package check every signature and make every ciphertext.
import {
  constants,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  publicEncrypt,
  randomBytes,
  verify,
} from 'node:crypto';
import { providerFactory as awsKms } from '@keyswitch/aws-kms';
import {
  type AuditEvent,
  isKeyswitchError,
  Keyswitch,
  type KeyswitchConfigInput,
  type PublicJwk,
  type PublicKey,
} from '@keyswitch/core';
import { decryptJwe, signJws } from '@keyswitch/jose';
import { type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { providerFactory as pkcs11 } from '@keyswitch/pkcs11';
import { CompactEncrypt, compactVerify, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTokens, type TestTokens } from '../packages/pkcs11/test/support/tokens.js';
import { kmsLocalEnv, kmsLocalProvider } from './support/kms-local-provider.js';

const message = new TextEncoder().encode('ARes: signed by the ACS');

interface Backend {
  readonly name: string;
  readonly provider: () => { type: string } & Record<string, unknown>;
  /** The configured reference of a key created with `label` (`secret`: a secret key, not a key pair). */
  readonly ref: (label: string, secret: boolean) => string;
  readonly env?: () => NodeJS.ProcessEnv;
  /** SoftHSM2 does OAEP with SHA-1 only (its capability manifest says so): JWE `RSA-OAEP`. */
  readonly oaep: { algorithm: string; hash: string; jwe: string };
}

const OAEP_256 = { algorithm: 'RSAES_OAEP_SHA_256', hash: 'sha256', jwe: 'RSA-OAEP-256' };

let kmsLocal: KmsLocalServer | undefined;
let tokens: TestTokens | { skip: string } | undefined;

const backends: Backend[] = [
  { name: 'soft-hsm', provider: () => ({ type: 'soft-hsm' }), ref: (label) => label, oaep: OAEP_256 },
  {
    name: 'aws-kms (kms-local)',
    provider: () => kmsLocalProvider(kmsLocal!.endpoint),
    ref: (label) => `alias/${label}`,
    oaep: OAEP_256,
    env: kmsLocalEnv,
  },
  {
    name: 'pkcs11 (SoftHSM2)',
    provider: () => ({
      type: 'pkcs11',
      profile: 'softhsm',
      module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
      token: { label: (tokens as TestTokens).env.KEYSWITCH_SOFTHSM2_TOKEN! },
      pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
    }),
    ref: (label, secret) => `pkcs11:object=${label};type=${secret ? 'secret-key' : 'private'}`,
    oaep: { algorithm: 'RSAES_OAEP_SHA_1', hash: 'sha1', jwe: 'RSA-OAEP' },
  },
];

beforeAll(async () => {
  kmsLocal = await startKmsLocal();
  tokens = createTestTokens();
  if ('skip' in tokens) throw new Error(tokens.skip);
});

afterAll(async () => {
  await kmsLocal?.close();
  if (tokens && 'remove' in tokens) tokens.remove();
});

function config(
  backend: Backend,
  run: string,
  versions: KeyswitchConfigInput['versions'],
): KeyswitchConfigInput {
  const key = (label: string, spec: string, algorithm: string) => ({
    provider: 'hsm',
    ref: backend.ref(`${run}-${label}`, spec.startsWith('HMAC_')),
    spec,
    algorithm,
  });
  return {
    environment: 'test',
    providers: { hsm: backend.provider() },
    keys: {
      'acs-2025': key('acs-2025', 'ECC_NIST_P256', 'ECDSA_SHA_256'),
      'acs-2026': key('acs-2026', 'ECC_NIST_P256', 'ECDSA_SHA_256'),
      'ds-2025': key('ds-2025', 'RSA_2048', backend.oaep.algorithm),
      'ds-2026': key('ds-2026', 'RSA_2048', backend.oaep.algorithm),
      'dh-2025': key('dh-2025', 'ECC_NIST_P256', 'ECDH'),
      'dh-2026': key('dh-2026', 'ECC_NIST_P256', 'ECDH'),
      'mac-2025': key('mac-2025', 'HMAC_256', 'HMAC_SHA_256'),
      'mac-2026': key('mac-2026', 'HMAC_256', 'HMAC_SHA_256'),
    },
    versions,
  } as unknown as KeyswitchConfigInput;
}

const factories = { 'aws-kms': awsKms, pkcs11 };

describe.each(backends)('keys with versions on $name', (backend) => {
  const run = `kv${Date.now().toString(36)}`;
  const publicKeys = new Map<string, KeyObject>();
  const hmacKeys = new Map(['mac-2025', 'mac-2026'].map((label) => [label, randomBytes(32)]));
  let ks: Keyswitch;
  const audit: AuditEvent[] = [];

  function open(versions: KeyswitchConfigInput['versions']): Promise<Keyswitch> {
    return Keyswitch.fromConfig(config(backend, run, versions), {
      providerFactories: factories,
      ...(backend.env ? { env: backend.env() } : {}),
    });
  }

  beforeAll(async () => {
    ks = await open({
      'acs-signing': {
        versions: [
          { id: '2025', key: 'acs-2025' },
          { id: '2026', key: 'acs-2026' },
        ],
      },
      'ds-decrypt': {
        versions: [
          { id: '2025', key: 'ds-2025' },
          { id: '2026', key: 'ds-2026' },
        ],
      },
      'pan-mac': {
        versions: [
          { id: '2025', key: 'mac-2025' },
          { id: '2026', key: 'mac-2026' },
        ],
      },
      'ds-ecdh': {
        versions: [
          { id: '2025', key: 'dh-2025' },
          { id: '2026', key: 'dh-2026' },
        ],
      },
      // The same keys later in their life: the old version out of use, the active one past its cryptoperiod.
      'acs-rotated': {
        cryptoperiodDays: 30,
        versions: [
          { id: '2025', key: 'acs-2025', disabledFrom: '2026-01-01' },
          { id: '2026', key: 'acs-2026', createdAt: '2020-01-01' },
        ],
      },
      'acs-warn': {
        cryptoperiodDays: 30,
        cryptoperiodEnforcement: 'warn',
        versions: [{ id: '2026', key: 'acs-2026', createdAt: '2020-01-01' }],
      },
    });
    ks.onAudit((event) => audit.push(event));
    const hsm = await ks.provider('hsm');
    for (const [label, spec, usage] of [
      ['acs-2025', 'ECC_NIST_P256', 'SIGN_VERIFY'],
      ['acs-2026', 'ECC_NIST_P256', 'SIGN_VERIFY'],
      ['ds-2025', 'RSA_2048', 'ENCRYPT_DECRYPT'],
      ['ds-2026', 'RSA_2048', 'ENCRYPT_DECRYPT'],
      ['dh-2025', 'ECC_NIST_P256', 'KEY_AGREEMENT'],
      ['dh-2026', 'ECC_NIST_P256', 'KEY_AGREEMENT'],
    ] as const) {
      const created = await hsm.createKey({ spec, usage, label: `${run}-${label}` });
      const spki = (await hsm.getPublicKey(created.ref)).spki;
      publicKeys.set(label, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
    }
    // HMAC keys are imported where the backend imports keys, so that node:crypto computes the same MACs;
    // the PKCS#11 provider does not import (UNSUPPORTED_OPERATION), so there each version's own MAC is
    // the reference.
    const imports = (await hsm.capabilities()).operations.importKey === true;
    for (const label of ['mac-2025', 'mac-2026']) {
      const request = { label: `${run}-${label}`, usage: 'GENERATE_VERIFY_MAC', spec: 'HMAC_256' } as const;
      if (imports) await hsm.importKey({ ...request, raw: new Uint8Array(hmacKeys.get(label)!) });
      else {
        await hsm.createKey(request);
        hmacKeys.delete(label);
      }
    }
  });

  afterAll(async () => {
    await ks?.close();
  });

  it('signs with the active version; verifies signatures of every version in use', async () => {
    const signer = ks.signer('acs-signing');
    expect(signer.keyName).toBe('acs-signing');
    expect(signer.versions().map(({ id, status }) => [id, status])).toEqual([
      ['2025', 'retired'],
      ['2026', 'active'],
    ]);
    const signature = await signer.sign(message);
    expect(verify('sha256', message, publicKeys.get('acs-2026')!, signature)).toBe(true);
    expect(verify('sha256', message, publicKeys.get('acs-2025')!, signature)).toBe(false);

    // A signature of the old version (before the rotation) still verifies, with and without its kid.
    const old = await ks.signer('acs-2025').sign(message);
    expect(verify('sha256', message, publicKeys.get('acs-2025')!, old)).toBe(true);
    expect(await signer.verify(message, old)).toBe(true);
    const oldKid = (await ks.signer('acs-2025').publicKey()).kid;
    expect(await signer.verify(message, old, { kid: oldKid })).toBe(true);
    expect(await signer.verify(message, old, { kid: '2025' })).toBe(true);
    // A signature no version made does not verify.
    const tampered = Uint8Array.from(old);
    tampered[tampered.length - 1]! ^= 1;
    expect(await signer.verify(message, tampered)).toBe(false);
  });

  it('JWS: the active version signs and names itself in kid; the jose package verifies with the published keys', async () => {
    const signer = ks.signer('acs-signing');
    const jws = await signJws(message, signer, { kid: true });
    const published = await signer.publicKeys();
    expect(published.map(({ versionId, status }) => [versionId, status])).toEqual([
      ['2026', 'active'],
      ['2025', 'retired'],
    ]);
    const active = published[0]!.publicKey;
    expect(
      createPublicKey({ key: Buffer.from(active.spki), format: 'der', type: 'spki' }).equals(
        publicKeys.get('acs-2026')!,
      ),
    ).toBe(true);
    const { protectedHeader } = await compactVerify(jws, await importJWK({ ...active.jwk(), alg: 'ES256' }));
    expect(protectedHeader.kid).toBe(active.kid);
  });

  it('decrypts what was encrypted to either version (the kid, when given, is asked first)', async () => {
    const decrypter = ks.decrypter('ds-decrypt');
    const secret = new TextEncoder().encode('device data for the DS');
    for (const version of ['ds-2025', 'ds-2026']) {
      const ciphertext = publicEncrypt(
        {
          key: publicKeys.get(version)!,
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: backend.oaep.hash,
        },
        secret,
      );
      expect(Buffer.from(await decrypter.decrypt(ciphertext))).toEqual(Buffer.from(secret));
    }
    // A JWE from an SDK that still has the 2025 key: the kid routes it to that version alone.
    const oldKey = (await decrypter.publicKeys()).find(({ versionId }) => versionId === '2025')!.publicKey;
    const jwe = await new CompactEncrypt(secret)
      .setProtectedHeader({ alg: backend.oaep.jwe, enc: 'A128CBC-HS256', kid: oldKey.kid })
      .encrypt(publicKeys.get('ds-2025')!);
    const before = audit.filter((event) => event.operation === 'decrypt').length;
    const { plaintext } = await decryptJwe(jwe, decrypter);
    expect(Buffer.from(plaintext)).toEqual(Buffer.from(secret));
    const decrypts = audit.filter((event) => event.operation === 'decrypt').slice(before);
    expect(decrypts.map((event) => [event.keyName, event.outcome])).toEqual([['ds-2025', 'success']]);

    // Encryption goes to the active version: only its private key opens it.
    const sealed = await ks.encrypter('ds-decrypt').encrypt(secret);
    expect(Buffer.from(await ks.decrypter('ds-2026').decrypt(sealed))).toEqual(Buffer.from(secret));
    await expect(ks.decrypter('ds-2025').decrypt(sealed)).rejects.toMatchObject({
      code: 'INVALID_CIPHERTEXT',
    });
    // A ciphertext for neither version is INVALID_CIPHERTEXT.
    await expect(decrypter.decrypt(new Uint8Array(256).fill(7))).rejects.toMatchObject({
      code: 'INVALID_CIPHERTEXT',
    });
  });

  it('MAC: computes with the active version; verifies MACs of every version in use', async () => {
    const mac = ks.mac('pan-mac');
    const data = new TextEncoder().encode('4111111111111111');
    const reference = new Map<string, Buffer>();
    for (const label of ['mac-2025', 'mac-2026']) {
      const key = hmacKeys.get(label);
      reference.set(
        label,
        key === undefined
          ? Buffer.from(await ks.mac(label).generate(data))
          : createHmac('sha256', key).update(data).digest(),
      );
    }
    const expected = (label: string) => reference.get(label)!;
    expect(expected('mac-2025')).not.toEqual(expected('mac-2026'));
    expect(Buffer.from(await mac.generate(data))).toEqual(expected('mac-2026'));
    expect(await mac.verify(data, expected('mac-2025'))).toBe(true);
    expect(await mac.verify(data, expected('mac-2025'), { kid: '2025' })).toBe(true);
    expect(await mac.verify(data, expected('mac-2026'))).toBe(true);
    const forged = Buffer.from(expected('mac-2026'));
    forged[0]! ^= 1;
    expect(await mac.verify(data, forged)).toBe(false);
  });

  it('ECDH-ES: the JWE kid names the version that agrees; without a kid the active version does', async () => {
    const agreement = ks.keyAgreement('ds-ecdh');
    const [active, old] = (await agreement.publicKeys()).map(({ publicKey }) => publicKey) as [
      PublicKey,
      PublicKey,
    ];
    const secret = new TextEncoder().encode('device data for the DS');
    const jwe = (to: PublicKey, kid?: string) =>
      new CompactEncrypt(secret)
        .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A128GCM', ...(kid === undefined ? {} : { kid }) })
        .encrypt(createPublicKey({ key: Buffer.from(to.spki), format: 'der', type: 'spki' }));
    const opened = async (token: string) =>
      new TextDecoder().decode((await decryptJwe(token, agreement)).plaintext);
    expect(await opened(await jwe(old, old.kid))).toBe('device data for the DS');
    expect(await opened(await jwe(active))).toBe('device data for the DS');
    // To the old key without a kid: the active version agrees, and the JWE does not open.
    await expect(decryptJwe(await jwe(old), agreement)).rejects.toMatchObject({ code: 'INVALID_CIPHERTEXT' });
    // node:crypto agrees the same secret with the version a kid names.
    const ephemeral = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const expected = diffieHellman({
      privateKey: ephemeral.privateKey,
      publicKey: publicKeys.get('dh-2025')!,
    });
    const derived = await agreement.deriveSharedSecret(
      ephemeral.publicKey.export({ format: 'jwk' }) as PublicJwk,
      {
        kid: '2025',
      },
    );
    expect(Buffer.from(derived)).toEqual(expected);
  });

  it('a version past its disabledFrom neither verifies nor decrypts; one past its cryptoperiod no longer signs', async () => {
    const old = await ks.signer('acs-2025').sign(message);
    {
      const signer = ks.signer('acs-rotated');
      expect(signer.versions().map(({ id, status }) => [id, status])).toEqual([
        ['2025', 'disabled'],
        ['2026', 'active'],
      ]);
      expect(await signer.verify(message, old)).toBe(false);
      await expect(signer.verify(message, old, { kid: '2025' })).rejects.toMatchObject({
        code: 'KEY_DISABLED',
        keyName: 'acs-rotated',
      });
      const expired = await signer.sign(message).catch((error: unknown) => error);
      expect(isKeyswitchError(expired, 'KEY_DISABLED')).toBe(true);
      expect((expired as Error).message).toContain('30-day cryptoperiod');
      // Under "warn" it signs, and says so.
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      try {
        const signature = await ks.signer('acs-warn').sign(message);
        expect(verify('sha256', message, publicKeys.get('acs-2026')!, signature)).toBe(true);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings.map((warning) => warning.name)).toContain('KeyswitchCryptoperiodWarning');
    }
  });
});

describe('configuration of keys with versions', () => {
  const base: KeyswitchConfigInput = {
    environment: 'test',
    providers: { dev: { type: 'soft-hsm' } },
    keys: {
      sig: { provider: 'dev', ref: 'sig', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
      enc: { provider: 'dev', ref: 'enc', spec: 'RSA_2048', algorithm: 'RSAES_OAEP_SHA_256' },
      enc1: { provider: 'dev', ref: 'enc1', spec: 'RSA_2048', algorithm: 'RSAES_OAEP_SHA_1' },
    },
  };

  it('refuses a disabled active version, a handle of the wrong usage and mixed encryption algorithms, naming the path', async () => {
    await expect(
      Keyswitch.fromConfig({
        ...base,
        versions: { k: { versions: [{ id: '1', key: 'sig', disabledFrom: '2020-01-01' }] } },
      }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', path: 'versions.k.versions[0].disabledFrom' });
    const ks = await Keyswitch.fromConfig({
      ...base,
      versions: {
        mixed: {
          versions: [
            { id: '1', key: 'sig' },
            { id: '2', key: 'enc' },
          ],
        },
        oaep: {
          versions: [
            { id: '1', key: 'enc1' },
            { id: '2', key: 'enc' },
          ],
        },
      },
    });
    try {
      expect(() => ks.signer('mixed')).toThrow(
        expect.objectContaining({ code: 'USAGE_MISMATCH', path: 'versions.mixed.versions[1]' }),
      );
      expect(() => ks.decrypter('oaep')).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', path: 'versions.oaep.versions[0]' }),
      );
    } finally {
      await ks.close();
    }
  });

  it('a provider + ref version takes the spec and algorithm of the keys the other versions name', async () => {
    const ks = await Keyswitch.fromConfig({
      ...base,
      versions: {
        sig: {
          versions: [
            { id: 'a', provider: 'dev', ref: 'sig-a' },
            { id: 'b', key: 'sig' },
          ],
          active: 'a',
        },
      },
    });
    try {
      const hsm = await ks.provider('dev');
      const a = await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'sig-a' });
      await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'sig' });
      const signature = await ks.signer('sig').sign(message);
      const spki = (await hsm.getPublicKey(a.ref)).spki;
      expect(
        verify(
          'sha256',
          message,
          createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
          signature,
        ),
      ).toBe(true);
    } finally {
      await ks.close();
    }
  });
});
