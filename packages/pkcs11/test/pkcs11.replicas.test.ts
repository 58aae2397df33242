import { createPublicKey, verify } from 'node:crypto';
import { isKeyswitchError, Keyswitch } from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerFactory } from '../src/index.js';
import { type P11KitServer, p11KitServer } from './support/p11-kit.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// A key with a replica on PKCS#11: the primary is the SoftHSM2 token reached over `p11-kit server` (a
// network HSM, as its client library sees it), the replica the same token loaded directly. The server is
// killed under load: every call completes on the replica or fails with a typed error, and node:crypto
// finds no wrong signature.
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch replica over p11-kit');

describe.skipIf(skip)('a PKCS#11 key with a replica, its remote token killed under load', () => {
  const ready = tokens as TestTokens;
  let server: P11KitServer;
  let ks: Keyswitch;
  let publicKey: ReturnType<typeof createPublicKey>;

  beforeAll(async () => {
    server = p11KitServer(ready);
    await server.start();
    const direct = await openTarget(target('softhsm2', ready));
    const key = await direct.createKey({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      label: 'replicated-ec',
    });
    publicKey = createPublicKey({
      key: Buffer.from((await direct.getPublicKey(key.ref)).spki),
      format: 'der',
      type: 'spki',
    });
    await direct.close();
    const softhsm = {
      type: 'pkcs11',
      profile: 'softhsm',
      token: { label: ready.env.KEYSWITCH_SOFTHSM2_TOKEN! },
      pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
      operationTimeoutMs: 2_000,
      sessions: 4,
    };
    ks = await Keyswitch.fromConfig(
      {
        environment: 'test',
        providers: {
          remote: { ...softhsm, module: { env: 'KEYSWITCH_P11KIT_CLIENT_MODULE' } },
          local: { ...softhsm, module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' } },
        },
        keys: {
          'acs-signing': {
            provider: 'remote',
            ref: 'pkcs11:object=replicated-ec;type=private',
            spec: 'ECC_NIST_P256',
            algorithm: 'ECDSA_SHA_256',
            replicas: [{ provider: 'local', ref: 'pkcs11:object=replicated-ec;type=private' }],
          },
        },
      },
      {
        env: { ...process.env, ...ready.env },
        providerFactories: { pkcs11: providerFactory },
        // The breaker stays open for the whole test, however slow the machine: the state read at the end is
        // the one the failures caused, not one the clock moved on.
        circuitBreaker: { coolDownMs: 600_000 },
      },
    );
  });

  afterAll(async () => {
    await ks?.close();
    await server?.close();
    ready.remove?.();
  });

  it('every call completes on the replica or fails typed; no signature is wrong', async () => {
    const signer = ks.signer('acs-signing');
    expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
    let wrong = 0;
    let signed = 0;
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let call = 0; call < 20; call += 1) {
          if (worker === 0 && call === 4) await server.kill(); // mid-run, calls in flight
          try {
            if (verify('sha256', message, publicKey, await signer.sign(message))) signed += 1;
            else wrong += 1;
          } catch (error) {
            failures.push(isKeyswitchError(error) ? error.code : String(error));
          }
        }
      }),
    );
    expect(wrong).toBe(0);
    // The local replica always answers: nothing fails.
    expect(failures).toEqual([]);
    expect(signed).toBe(160);
    expect(ks.breakerStates().remote).toBe('open');
  });
});
