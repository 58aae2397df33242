import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isKeyswitchError } from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../src/index.js';
import { importKey } from './support/import-key.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// A key whose public half another process writes after keyswitch first looked the key up (a tool that
// writes a pair's objects one by one, or a remote token served by several processes): the operations
// that need the public half find it once it is there, rather than keep the first, half-found answer.
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch late public half');

describe.skipIf(skip)('a key pair whose public half is written after the first lookup (SoftHSM2)', () => {
  const ready = tokens as TestTokens;
  const softhsm = skip ? undefined : target('softhsm2', ready);
  let provider: Pkcs11Provider;

  beforeAll(async () => {
    // One session: every call shares that session's cache of looked-up keys.
    provider = await openTarget(softhsm!, { sessions: 1 });
  });

  afterAll(async () => {
    await provider?.close();
    ready.remove?.();
  });

  it('verify and the public key work once the public half is there', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = randomBytes(16);
    const request = {
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      key: privateKey,
      label: 'late-ec',
      id,
    } as const;
    const ref = importKey(provider, softhsm!.module, { ...request, halves: 'private' });
    const signature = sign('sha256', message, privateKey);
    // The private half signs; what needs the public half is KEY_NOT_FOUND while that half is missing.
    expect(await provider.sign({ ref, algorithm: 'ECDSA_SHA_256', message })).toBeInstanceOf(Uint8Array);
    const refused = await provider.verify({ ref, algorithm: 'ECDSA_SHA_256', message, signature }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isKeyswitchError(refused, 'KEY_NOT_FOUND')).toBe(true);
    expect((refused as Error).message).toMatch(/no public-key object/);
    // The public half arrives (same CKA_ID and label).
    importKey(provider, softhsm!.module, { ...request, halves: 'public' });
    expect(await provider.verify({ ref, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(true);
    expect(Buffer.from((await provider.getPublicKey(ref)).spki)).toEqual(
      publicKey.export({ format: 'der', type: 'spki' }),
    );
  });
});
