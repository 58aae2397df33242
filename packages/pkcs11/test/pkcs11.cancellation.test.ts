import { createPublicKey, verify } from 'node:crypto';
import { type AuditEvent, isKeyswitchError, Keyswitch } from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerFactory } from '../src/index.js';
import { installTestFaults } from '../src/lib/test-faults.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';
import { until } from './support/until.js';

// Per-call cancellation and time limits through the public API, on the real SoftHSM2 token. The fault
// layer holds C_Sign on its worker thread (as a slow HSM would), so the call is provably still running
// when the caller is answered; then the session it holds comes back to the pool. Behaviour is asserted,
// never durations.
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch cancellation');

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe.skipIf(skip)('cancelling a call, and a call with a time limit (SoftHSM2)', () => {
  const ready = tokens as TestTokens;
  const events: AuditEvent[] = [];
  // C_Sign held for 3 s each time it is armed (times: 0 — it waits to be armed).
  const faults = installTestFaults([{ function: 'C_Sign', delayMs: 3_000, times: 0 }]);
  let ks: Keyswitch;
  let publicKey: ReturnType<typeof createPublicKey>;

  beforeAll(async () => {
    ks = await Keyswitch.fromConfig(
      {
        environment: 'test',
        providers: {
          hsm: {
            type: 'pkcs11',
            profile: 'softhsm',
            module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
            token: { label: ready.env.KEYSWITCH_SOFTHSM2_TOKEN! },
            pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
            sessions: 1, // one session: a call still holding it shows
          },
        },
        keys: {
          'acs-signing': {
            provider: 'hsm',
            ref: 'pkcs11:object=cancel-ec;type=private',
            spec: 'ECC_NIST_P256',
            algorithm: 'ECDSA_SHA_256',
          },
        },
      },
      {
        env: { ...process.env, ...ready.env },
        providerFactories: { pkcs11: providerFactory },
        onAudit: (event) => events.push(event),
      },
    );
    const hsm = await ks.provider('hsm'); // its worker threads start with the fault layer
    faults.remove();
    await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'cancel-ec' });
    publicKey = createPublicKey({
      key: Buffer.from((await ks.signer('acs-signing').publicKey()).spki),
      format: 'der',
      type: 'spki',
    });
  });

  afterAll(async () => {
    await ks?.close();
    ready.remove?.();
  });

  it('an aborted call rejects with ABORTED while the token still works on it; its session then returns', async () => {
    const signer = ks.signer('acs-signing');
    const controller = new AbortController();
    faults.arm(0, 1);
    const signing = signer.sign(message, { signal: controller.signal });
    await until(() => faults.hits(0) === 1, 'C_Sign began');
    controller.abort(new Error('the 3DS message expired'));
    const error = await failure(signing);
    expect(isKeyswitchError(error, 'ABORTED')).toBe(true);
    expect(String((error as Error).message)).not.toContain('3DS message');
    // The held C_Sign still has the only session: a call with a time limit cannot get it in time.
    const waiting = await failure(signer.sign(message, { timeoutMs: 200 }));
    expect(waiting).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    // When it returns, its session goes back to the pool: the next call signs (node:crypto checks).
    const signature = await signer.sign(message);
    expect(verify('sha256', message, publicKey, signature)).toBe(true);
  });

  it('a call past its timeoutMs rejects with UNAVAILABLE naming the limit; the token finishes and serves on', async () => {
    const signer = ks.signer('acs-signing');
    faults.arm(0, 1);
    const error = await failure(signer.sign(message, { timeoutMs: 300 }));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(String((error as Error).message)).toContain('300 ms');
    expect(faults.hits(0)).toBe(2);
    expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
  });

  it('an already-aborted signal rejects before anything reaches the backend', async () => {
    const before = events.length;
    const error = await failure(ks.signer('acs-signing').sign(message, { signal: AbortSignal.abort() }));
    expect(isKeyswitchError(error, 'ABORTED')).toBe(true);
    expect(events.length).toBe(before);
  });

  it('a timeoutMs that is not a positive whole number is INVALID_INPUT', async () => {
    for (const timeoutMs of [0, -1, 1.5]) {
      expect(await failure(ks.signer('acs-signing').sign(message, { timeoutMs }))).toMatchObject({
        code: 'INVALID_INPUT',
      });
    }
  });
});
