/**
 * The PKCS#11 "slow token" cells: what a slow or stalled token does to the application, measured on the
 * real SoftHSM2 token with the package's test-only fault layer (KEYSWITCH_PKCS11_TEST_FAULTS), which
 * blocks a worker thread in a chosen PKCS#11 function as a slow HSM would.
 *
 * - slow *Init: C_SignInit takes 300 ms; 8 signatures in flight with describe, publicKey and list
 *   alongside. Reports the event loop's max delay (it should stay at the monitor's resolution: no
 *   PKCS#11 call runs on the main thread).
 * - stall: C_SignInit blocks for 3 s, past the 500 ms operationTimeoutMs. Reports how late after its
 *   limit each of 8 signatures rejected (the goal: within +100 ms), and the event loop's max delay.
 * - NSS softokn RSA signatures (its C_SignInit reads the key from its database): 48 RSA-2048 PSS
 *   signatures at once, the event loop's max delay (formerly a timed unit test).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { EVENT_LOOP_RESOLUTION_MS } from './measure.mjs';
import { log } from './suite.mjs';

const FAULTS = 'KEYSWITCH_PKCS11_TEST_FAULTS';
const message = Buffer.from('keyswitch slow token');

/** Runs `body` with the event loop's delay sampled; returns its result and the max delay in ms. */
async function withLoopMonitor(body) {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable();
  try {
    const result = await body();
    histogram.disable();
    const maxMs = histogram.count > 0 ? histogram.max / 1e6 - EVENT_LOOP_RESOLUTION_MS : 0;
    return { result, loopMaxMs: Math.max(0, Math.round(maxMs * 10) / 10) };
  } finally {
    histogram.disable();
  }
}

/** Opens a provider whose worker threads run with `faults`. */
async function openWithFaults(Pkcs11Provider, options, faults) {
  const previous = process.env[FAULTS];
  process.env[FAULTS] = JSON.stringify(faults);
  try {
    return await Pkcs11Provider.open(options);
  } finally {
    if (previous === undefined) delete process.env[FAULTS];
    else process.env[FAULTS] = previous;
  }
}

/**
 * @param {{ Pkcs11Provider: any, env: Record<string, string | undefined> }} context
 * @returns {Promise<Array<Record<string, unknown>>>}
 */
export async function slowTokenCells({ Pkcs11Provider, env }) {
  const softhsm = {
    module: env.KEYSWITCH_SOFTHSM2_MODULE,
    profile: 'softhsm',
    token: { label: env.KEYSWITCH_SOFTHSM2_TOKEN ?? 'keyswitch' },
    pin: env.KEYSWITCH_SOFTHSM2_PIN,
  };
  const cells = [];
  const owner = await Pkcs11Provider.open(softhsm);
  const key = await owner.createKey({
    spec: 'ECC_NIST_P256',
    usage: 'SIGN_VERIFY',
    label: 'bench-slow-token',
  });
  try {
    // ---- slow C_SignInit ------------------------------------------------------------------------------
    const slow = await openWithFaults(Pkcs11Provider, { ...softhsm, sessions: 8 }, [
      { function: 'C_SignInit', delayMs: 300 },
    ]);
    try {
      await slow.describeKey(key.ref);
      const started = performance.now();
      const { result, loopMaxMs } = await withLoopMonitor(() =>
        Promise.allSettled([
          ...Array.from({ length: 8 }, () =>
            slow.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message }),
          ),
          slow.describeKey(key.ref),
          slow.getPublicKey(key.ref),
          slow.listKeys(),
        ]),
      );
      const cell = {
        scenario: 'C_SignInit takes 300 ms: 8 signatures with describe, publicKey and list alongside',
        loopMaxMs,
        succeeded: result.filter((outcome) => outcome.status === 'fulfilled').length,
        of: result.length,
        elapsedMs: Math.round(performance.now() - started),
      };
      cells.push(cell);
      log(
        `pkcs11 slow token: ${cell.succeeded}/${cell.of} in ${cell.elapsedMs} ms, loop max ${loopMaxMs} ms`,
      );
    } finally {
      await slow.close();
    }

    // ---- stalled C_SignInit -----------------------------------------------------------------------------
    const timeoutMs = 500;
    const stalled = await openWithFaults(
      Pkcs11Provider,
      { ...softhsm, sessions: 8, operationTimeoutMs: timeoutMs },
      [{ function: 'C_SignInit', delayMs: 3_000, times: 8 }],
    );
    try {
      await stalled.describeKey(key.ref);
      const { result, loopMaxMs } = await withLoopMonitor(() =>
        Promise.all(
          Array.from({ length: 8 }, async () => {
            const started = performance.now();
            try {
              await stalled.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message });
              return { late: Number.NaN, code: 'none' };
            } catch (error) {
              return { late: performance.now() - started - timeoutMs, code: error?.code };
            }
          }),
        ),
      );
      const lates = result.map((outcome) => outcome.late);
      const cell = {
        scenario: `C_SignInit stalls 3 s, operationTimeoutMs ${timeoutMs}: 8 signatures`,
        loopMaxMs,
        rejectedUnavailable: result.filter((outcome) => outcome.code === 'UNAVAILABLE').length,
        of: result.length,
        timeoutLateMaxMs: Math.round(Math.max(...lates)),
        timeoutLateMinMs: Math.round(Math.min(...lates)),
      };
      cells.push(cell);
      log(
        `pkcs11 stalled token: ${cell.rejectedUnavailable}/${cell.of} UNAVAILABLE, ${cell.timeoutLateMinMs}..${cell.timeoutLateMaxMs} ms after the limit, loop max ${loopMaxMs} ms`,
      );
    } finally {
      await stalled.close();
    }
  } finally {
    await owner.close();
  }

  // ---- NSS softokn RSA signatures ----------------------------------------------------------------------
  if (env.KEYSWITCH_NSS_MODULE && env.KEYSWITCH_NSS_LIBRARY_PARAMETERS) {
    const nss = await Pkcs11Provider.open({
      module: env.KEYSWITCH_NSS_MODULE,
      profile: 'nss',
      token: { label: env.KEYSWITCH_NSS_TOKEN ?? 'NSS Certificate DB' },
      pin: env.KEYSWITCH_NSS_PIN,
      libraryParameters: env.KEYSWITCH_NSS_LIBRARY_PARAMETERS,
    });
    try {
      const rsa = await nss.createKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', label: 'bench-nss-rsa' });
      await nss.sign({ ref: rsa.ref, algorithm: 'RSASSA_PSS_SHA_256', message });
      const { loopMaxMs } = await withLoopMonitor(() =>
        Promise.all(
          Array.from({ length: 48 }, () =>
            nss.sign({ ref: rsa.ref, algorithm: 'RSASSA_PSS_SHA_256', message }),
          ),
        ),
      );
      cells.push({ scenario: 'NSS softokn: 48 RSA-2048 PSS signatures at once', loopMaxMs });
      log(`pkcs11 NSS 48 RSA-PSS signatures: loop max ${loopMaxMs} ms`);
    } finally {
      await nss.close();
    }
  }
  return cells;
}
