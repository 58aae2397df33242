import { createPublicKey, verify } from 'node:crypto';
import { isKeyswitchError } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKmsProvider, type AwsKmsProviderOptions } from '../src/index.js';

let server: KmsLocalServer;
/** The operator: another process that moves aliases and disables keys. */
let operator: AwsKmsProvider;
const opened: AwsKmsProvider[] = [];

async function open(options: AwsKmsProviderOptions = {}): Promise<AwsKmsProvider> {
  const provider = await AwsKmsProvider.open({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    ...options,
  });
  opened.push(provider);
  return provider;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return isKeyswitchError(error) ? error.code : `not a KeyswitchError: ${String(error)}`;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  server = await startKmsLocal();
  operator = await open();
});

afterAll(async () => {
  await Promise.all(opened.map((provider) => provider.close()));
  await server.close();
});

describe('an alias moved under a running application', () => {
  it('signatures verify locally at once, and the new key signs', async () => {
    const [first, second] = await Promise.all([
      operator.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'moving-signer' }),
      operator.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' }),
    ]);
    const app = await open({ localVerify: true, keyStateTtlMs: 60_000 });
    const ref = 'alias/moving-signer';
    const message = Buffer.from('CReq 3DS');
    const before = await app.sign({ ref, algorithm: 'ECDSA_SHA_256', message });
    expect(await app.verify({ ref, algorithm: 'ECDSA_SHA_256', message, signature: before })).toBe(true);

    await operator.updateAlias(ref, second.ref);
    // KMS signs with the new key; its answer names it, so local verification follows at once.
    const after = await app.sign({ ref, algorithm: 'ECDSA_SHA_256', message });
    const secondKey = createPublicKey({
      key: Buffer.from((await operator.getPublicKey(second.ref)).spki),
      format: 'der',
      type: 'spki',
    });
    expect(verify('sha256', message, { key: secondKey, dsaEncoding: 'der' }, after)).toBe(true);
    expect(await app.verify({ ref, algorithm: 'ECDSA_SHA_256', message, signature: after })).toBe(true);
    expect(first.ref).not.toBe(second.ref);
  });

  it('a signature by the new key from elsewhere verifies locally after one re-resolution', async () => {
    const [, second] = await Promise.all([
      operator.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'moving-verifier' }),
      operator.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' }),
    ]);
    // Forced re-resolutions come at most once per tenth of the TTL: 1 s here, and the TTL itself is not reached.
    const app = await open({ localVerify: true, keyStateTtlMs: 10_000 });
    const ref = 'alias/moving-verifier';
    const message = Buffer.from('ARes');
    const old = await operator.sign({ ref, algorithm: 'ECDSA_SHA_256', message });
    expect(await app.verify({ ref, algorithm: 'ECDSA_SHA_256', message, signature: old })).toBe(true);
    await operator.updateAlias(ref, second.ref);
    const fresh = await operator.sign({ ref: second.ref, algorithm: 'ECDSA_SHA_256', message });
    await pause(1_100);
    server.resetRequestCounts();
    expect(await app.verify({ ref, algorithm: 'ECDSA_SHA_256', message, signature: fresh })).toBe(true);
    expect(server.requests().byOperation).toEqual({ DescribeKey: 1, GetPublicKey: 1 });
    // A flood of bad signatures right after does not become a flood of requests.
    server.resetRequestCounts();
    for (let index = 0; index < 20; index += 1) {
      expect(
        await app.verify({ ref, algorithm: 'ECDSA_SHA_256', message: Buffer.from('x'), signature: fresh }),
      ).toBe(false);
    }
    expect(server.requests().total).toBe(0);
  });

  it('ciphertexts use the new key within the TTL, and what was encrypted before still decrypts', async () => {
    const [first, second] = await Promise.all([
      operator.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', label: 'moving-kek' }),
      operator.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT' }),
    ]);
    const app = await open({ localEncrypt: true, keyStateTtlMs: 200 });
    const ref = 'alias/moving-kek';
    const algorithm = 'RSAES_OAEP_SHA_256';
    const early = await app.encrypt({ ref, algorithm, plaintext: Buffer.from('pan 1') });
    await operator.updateAlias(ref, second.ref);
    await pause(250);
    const late = await app.encrypt({ ref, algorithm, plaintext: Buffer.from('pan 2') });
    // Which key each ciphertext is for, checked against the keys by their ARNs.
    expect(Buffer.from(await operator.decrypt({ ref: first.ref, algorithm, ciphertext: early }))).toEqual(
      Buffer.from('pan 1'),
    );
    expect(Buffer.from(await operator.decrypt({ ref: second.ref, algorithm, ciphertext: late }))).toEqual(
      Buffer.from('pan 2'),
    );
    // The application decrypts both through the alias.
    expect(Buffer.from(await app.decrypt({ ref, algorithm, ciphertext: early }))).toEqual(
      Buffer.from('pan 1'),
    );
    expect(Buffer.from(await app.decrypt({ ref, algorithm, ciphertext: late }))).toEqual(
      Buffer.from('pan 2'),
    );
  });

  it('a symmetric ciphertext made before the alias moved decrypts through the alias', async () => {
    const [, second] = await Promise.all([
      operator.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label: 'moving-symmetric' }),
      operator.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT' }),
    ]);
    const app = await open();
    const ref = 'alias/moving-symmetric';
    const early = await app.encrypt({
      ref,
      algorithm: 'SYMMETRIC_DEFAULT',
      plaintext: Buffer.from('track 2'),
    });
    await operator.updateAlias(ref, second.ref);
    const late = await app.encrypt({
      ref,
      algorithm: 'SYMMETRIC_DEFAULT',
      plaintext: Buffer.from('track 3'),
    });
    expect(
      Buffer.from(await app.decrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext: early })),
    ).toEqual(Buffer.from('track 2'));
    expect(Buffer.from(await app.decrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext: late }))).toEqual(
      Buffer.from('track 3'),
    );
  });
});

describe('disabled means disabled for local operations', () => {
  it('a disable in this process stops local verify and encrypt at once', async () => {
    const [signer, kek] = await Promise.all([
      operator.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'disabled-here-signer' }),
      operator.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', label: 'disabled-here-kek' }),
    ]);
    const app = await open({ localVerify: true, localEncrypt: true, keyStateTtlMs: 60_000 });
    const message = Buffer.from('m');
    const signature = await app.sign({
      ref: 'alias/disabled-here-signer',
      algorithm: 'ECDSA_SHA_256',
      message,
    });
    const verifyRequest = {
      ref: 'alias/disabled-here-signer',
      algorithm: 'ECDSA_SHA_256' as const,
      message,
      signature,
    };
    const encryptRequest = {
      ref: 'alias/disabled-here-kek',
      algorithm: 'RSAES_OAEP_SHA_256' as const,
      plaintext: Buffer.from('p'),
    };
    expect(await app.verify(verifyRequest)).toBe(true);
    await app.encrypt(encryptRequest);
    await app.disableKey(signer.ref);
    await app.disableKey('alias/disabled-here-kek');
    expect(await codeOf(app.verify(verifyRequest))).toBe('KEY_DISABLED');
    expect(await codeOf(app.encrypt(encryptRequest))).toBe('KEY_DISABLED');
    await app.enableKey(signer.ref);
    expect(await app.verify(verifyRequest)).toBe(true);
    expect(kek.ref).toContain(':key/');
  });

  it('a disable elsewhere takes effect within the key-state TTL', async () => {
    const signer = await operator.createKey({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      label: 'disabled-there',
    });
    const app = await open({ localVerify: true, keyStateTtlMs: 200 });
    const message = Buffer.from('m');
    const signature = await operator.sign({ ref: signer.ref, algorithm: 'ECDSA_SHA_256', message });
    const request = { ref: 'alias/disabled-there', algorithm: 'ECDSA_SHA_256' as const, message, signature };
    expect(await app.verify(request)).toBe(true);
    await operator.disableKey(signer.ref);
    await pause(250);
    expect(await codeOf(app.verify(request))).toBe('KEY_DISABLED');
  });
});
