import { createPublicKey, verify } from 'node:crypto';
import type { KeyswitchError } from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../src/index.js';
import { installTestFaults } from '../src/lib/test-faults.js';
import { type P11KitServer, p11KitServer } from './support/p11-kit.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// A remote token: the SoftHSM2 test token served by `p11-kit server` over a Unix socket and reached
// through p11-kit-client.so, as a network HSM is reached through its client library. The server is
// killed, restarted and stopped under load; behaviour is asserted, never durations.
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch remote token');

/** Settles every promise, and says how each ended. */
async function outcomes(promises: Array<Promise<unknown>>): Promise<string[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((outcome) =>
    outcome.status === 'fulfilled' ? 'ok' : ((outcome.reason as KeyswitchError).code ?? 'error'),
  );
}

describe.skipIf(skip)('PKCS#11 remote token (SoftHSM2 over p11-kit server)', () => {
  const ready = tokens as TestTokens;
  const remote = skip ? undefined : target('softhsm2-p11kit', ready);
  let server: P11KitServer;
  let provider: Pkcs11Provider;
  let ref: string;

  beforeAll(async () => {
    server = p11KitServer(ready);
    await server.start();
    provider = await openTarget(remote!, { operationTimeoutMs: 1_000, sessions: 4, workerThreads: 2 });
    ref = (await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'remote-ec' })).ref;
  });

  afterAll(async () => {
    await provider?.close();
    await server?.close();
    ready.remove?.();
  });

  const sign = () => provider.sign({ ref, algorithm: 'ECDSA_SHA_256', message });

  it('signs through the remote token; node:crypto verifies', async () => {
    const signature = await sign();
    const { spki } = await provider.getPublicKey(ref);
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    expect(verify('sha256', message, key, signature)).toBe(true);
  });

  it("a device error makes keyswitch initialize the module again; a login the token kept is still known as keyswitch's", async () => {
    // The client answers CKR_DEVICE_ERROR to a signature and to C_GetTokenInfo once: keyswitch finalizes
    // and initializes the module again, while the server stays up.
    const faults = installTestFaults([
      { function: 'C_Sign', error: 'CKR_DEVICE_ERROR', times: 0 },
      { function: 'C_GetTokenInfo', error: 'CKR_DEVICE_ERROR', times: 0 },
    ]);
    const faulty = await openTarget(remote!, {
      operationTimeoutMs: 5_000,
      sessions: 2,
      workerThreads: 1,
    }).finally(() => faults.remove());
    try {
      const { spki } = await faulty.getPublicKey(ref);
      const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
      expect(
        verify('sha256', message, key, await faulty.sign({ ref, algorithm: 'ECDSA_SHA_256', message })),
      ).toBe(true);
      faults.arm(0, 1);
      faults.arm(1, 1);
      const first = await outcomes([faulty.sign({ ref, algorithm: 'ECDSA_SHA_256', message })]);
      expect(faults.hits(1)).toBe(1); // the token looked gone: the module was initialized again
      expect(['ok', 'UNAVAILABLE']).toContain(first[0]);
      // Every later call is served: no session is refused as "logged in by something else".
      for (let call = 0; call < 4; call += 1) {
        const signature = await faulty.sign({ ref, algorithm: 'ECDSA_SHA_256', message });
        expect(verify('sha256', message, key, signature)).toBe(true);
      }
    } finally {
      await faulty.close();
    }
  });

  it('server killed under load: calls in flight reject with UNAVAILABLE; after a restart the same provider serves again', async () => {
    // Settled at once: a call that fails while the server is being killed is observed, never unhandled.
    const inFlight = outcomes(Array.from({ length: 16 }, () => sign()));
    await server.kill();
    const during = [...(await inFlight), ...(await outcomes([sign(), sign()]))];
    for (const outcome of during) expect(['ok', 'UNAVAILABLE']).toContain(outcome);
    expect(during).toContain('UNAVAILABLE');
    await server.start();
    // Sessions reopened, login redone, the key looked up again: no new provider, no restart.
    await expect
      .poll(
        () =>
          sign().then(
            () => true,
            () => false,
          ),
        { timeout: 20_000, interval: 250 },
      )
      .toBe(true);
    expect(await outcomes(Array.from({ length: 8 }, () => sign()))).toEqual(Array(8).fill('ok'));
  });

  it('server stopped (SIGSTOP): every call times out with UNAVAILABLE, none hangs, timers keep firing', async () => {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 5);
    server.pause();
    try {
      const during = await outcomes([sign(), sign(), provider.describeKey(ref), provider.getPublicKey(ref)]);
      expect(during).toEqual(Array(4).fill('UNAVAILABLE'));
      expect(ticks).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
      server.resume();
    }
    await expect
      .poll(
        () =>
          sign().then(
            () => true,
            () => false,
          ),
        { timeout: 30_000, interval: 250 },
      )
      .toBe(true);
  });

  it('a creation cut off by the server going away is adopted or reported, never created twice', async () => {
    const creating = provider.createKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', label: 'remote-cut' }).then(
      (created) => ({ created, error: undefined }),
      (error: KeyswitchError) => ({ created: undefined, error }),
    );
    await server.kill();
    const { created, error } = await creating;
    await server.start();
    if (error !== undefined) {
      expect(error.code).toBe('UNAVAILABLE');
      // Not retryable unless it is known that nothing was created.
      if (!error.retryable) expect(error.message).toMatch(/CKA_ID [0-9a-f]{32}/);
    }
    await expect
      .poll(
        () =>
          sign().then(
            () => true,
            () => false,
          ),
        { timeout: 20_000, interval: 250 },
      )
      .toBe(true);
    // At most one key has the label, whatever happened.
    const labelled = (await provider.listKeys({ limit: 1000 })).keys.filter((key) =>
      key.aliases.includes('remote-cut'),
    );
    expect(labelled.length).toBeLessThanOrEqual(1);
    if (created !== undefined) expect(labelled).toHaveLength(1);
  });
});
