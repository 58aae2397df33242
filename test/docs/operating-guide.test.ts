// docs/operating.md runs as written: each TypeScript block it marks `runs-as` this file is here, word for
// word (test/docs/snippets.test.ts checks that), and runs on a software HSM with the guide's key names.
// node:crypto and the `jose` package make the SDK's JWE and check the signature.
import { createPublicKey, verify } from 'node:crypto';
import { Keyswitch } from '@keyswitch/core';
import { decryptJwe } from '@keyswitch/jose';
import { CompactEncrypt, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const GUIDE = 'docs/operating.md';

let ks: Keyswitch;
const payload = new TextEncoder().encode('{"messageType":"ARes"}');

beforeAll(async () => {
  const key = (ref: string) =>
    ({ provider: 'dev', ref, spec: 'RSA_2048', algorithm: 'RSAES_OAEP_SHA_256' }) as const;
  ks = await Keyswitch.fromConfig({
    environment: 'test',
    providers: { dev: { type: 'soft-hsm' } },
    keys: {
      'ds-decrypt-2025': key('ds-decrypt-2025'),
      'ds-decrypt-2026': key('ds-decrypt-2026'),
      'acs-signing': {
        provider: 'dev',
        ref: 'acs-signing',
        spec: 'ECC_NIST_P256',
        algorithm: 'ECDSA_SHA_256',
      },
    },
    versions: {
      'ds-decrypt': {
        versions: [
          { id: '2025', key: 'ds-decrypt-2025' },
          { id: '2026', key: 'ds-decrypt-2026' },
        ],
      },
    },
  });
  const dev = await ks.provider('dev');
  for (const label of ['ds-decrypt-2025', 'ds-decrypt-2026'])
    await dev.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', label });
  await dev.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'acs-signing' });
});

afterAll(async () => {
  await ks?.close();
});

describe(`${GUIDE} runs as written`, () => {
  it('rotation: the JWKS carries both versions, and an SDK still on the old key is decrypted', async () => {
    const decrypter = ks.decrypter('ds-decrypt');
    const jwks = {
      keys: (await decrypter.publicKeys()).map(({ publicKey }) => ({
        ...publicKey.jwk(),
        kid: publicKey.kid,
        use: 'enc',
        alg: 'RSA-OAEP-256',
      })),
    };
    expect(jwks.keys).toHaveLength(2);
    // The SDK encrypts to the key it has: the old one, named by its kid.
    const old = jwks.keys[1]!;
    const sdkEncData = await new CompactEncrypt(new TextEncoder().encode('{"DV":"1.0"}'))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256', kid: old.kid })
      .encrypt(await importJWK(old, 'RSA-OAEP-256'));

    const { plaintext } = await decryptJwe(sdkEncData, ks.decrypter('ds-decrypt'));
    expect(new TextDecoder().decode(plaintext)).toBe('{"DV":"1.0"}');
  });

  it('deadlines: a signature under a time limit and a signal', async () => {
    const controller = new AbortController(); // aborted when the 3DS Server's request is abandoned
    const signature = await ks
      .signer('acs-signing')
      .sign(payload, { timeoutMs: 2_000, signal: controller.signal });
    const publicKey = createPublicKey({
      key: Buffer.from((await ks.signer('acs-signing').publicKey()).spki),
      format: 'der',
      type: 'spki',
    });
    expect(verify('sha256', payload, publicKey, signature)).toBe(true);
  });
});
