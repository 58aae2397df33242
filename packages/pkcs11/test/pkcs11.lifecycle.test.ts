import { createPublicKey, verify } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../src/index.js';
import { installTestFaults } from '../src/lib/test-faults.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';
import { until } from './support/until.js';

// One module, many providers in one process: C_Initialize and C_Finalize run under a process-wide lock,
// and a provider closing never finalizes the module under one that is opening. SoftHSM2 crashes the
// process when two threads run C_Initialize at once, so a regression here ends this file's process.
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch lifecycle');

describe.skipIf(skip)('PKCS#11 module lifecycle across providers', () => {
  const ready = tokens as TestTokens;
  afterAll(() => ready.remove?.());

  for (const name of ['softhsm2', 'nss'] as const) {
    it(`${name}: providers opened and closed at once, round after round, all sign correctly`, async () => {
      const which = target(name, ready);
      const owner = await openTarget(which);
      const key = await owner.createKey({
        spec: 'ECC_NIST_P256',
        usage: 'SIGN_VERIFY',
        label: `life-${name}`,
      });
      const spki = createPublicKey({
        key: Buffer.from((await owner.getPublicKey(key.ref)).spki),
        format: 'der',
        type: 'spki',
      });
      await owner.close(); // the last provider: the module is finalized, and initialized again below
      for (let round = 0; round < 3; round += 1) {
        // 4 providers × 4 threads: 16 threads start and initialize the module at the same moment. Each
        // provider logs in: the first login is recorded before another provider's session can find the
        // token logged in (else that one would refuse the login as someone else's).
        const providers = await Promise.all(
          Array.from({ length: 4 }, () => openTarget(which, { workerThreads: 4 })),
        );
        try {
          const signatures = await Promise.all(
            providers.flatMap((provider) =>
              Array.from({ length: 4 }, () =>
                provider.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message }),
              ),
            ),
          );
          for (const signature of signatures) {
            expect(verify('sha256', message, spki, Buffer.from(signature))).toBe(true);
          }
        } finally {
          await Promise.all(providers.map((provider) => provider.close()));
        }
      }
    });

    it(`${name}: a provider opening while the last one finalizes the module waits, then works`, async () => {
      const which = target(name, ready);
      for (let round = 0; round < 2; round += 1) {
        // The closing provider's C_Finalize is held for a second once it has begun.
        const faults = installTestFaults([{ function: 'C_Finalize', delayMs: 1_000 }]);
        const closing = await openTarget(which).finally(() => faults.remove());
        const key = await closing.createKey({
          spec: 'ECC_NIST_P256',
          usage: 'SIGN_VERIFY',
          label: `handover-${name}-${round}`,
        });
        const closed = closing.close();
        await until(() => faults.hits(0) === 1, 'the closing provider began C_Finalize');
        // Its threads start while C_Finalize runs: they must not find the module initialized and then
        // lose it, but wait and initialize it again.
        const opening = openTarget(which);
        await closed;
        let next: Pkcs11Provider | undefined;
        try {
          next = await opening;
          const signature = await next.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message });
          expect(await next.verify({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(
            true,
          );
        } finally {
          await next?.close();
        }
      }
    });

    it(`${name}: a thread ended inside C_Finalize does not keep the module's lock`, async () => {
      const which = target(name, ready);
      // C_Finalize outlives its deadline: close() then ends the thread inside it, holding the lock.
      const faults = installTestFaults([{ function: 'C_Finalize', delayMs: 30_000 }]);
      const closing = await openTarget(which, { operationTimeoutMs: 1_000 }).finally(() => faults.remove());
      await closing.close();
      expect(faults.hits(0)).toBe(1);
      // A new provider's threads need the lock to initialize the module: they get it, and it works.
      const next = await openTarget(which);
      try {
        expect(await next.generateRandom(8)).toHaveLength(8);
      } finally {
        await next.close();
      }
    });

    it.runIf(name === 'softhsm2')(
      `${name}: a C_Initialize that does not return fails the opening with UNAVAILABLE, then the next one works`,
      async () => {
        const which = target(name, ready);
        // Every thread's C_Initialize blocks (a network HSM's client that cannot reach its server).
        const faults = installTestFaults([{ function: 'C_Initialize', delayMs: 60_000 }]);
        const stalled = openTarget(which, { operationTimeoutMs: 500 }).finally(() => faults.remove());
        const error = await stalled.then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
        expect(String((error as Error).message)).toContain('C_Initialize');
        const next = await openTarget(which);
        try {
          expect(await next.generateRandom(8)).toHaveLength(8);
        } finally {
          await next.close();
        }
      },
    );
  }
});
