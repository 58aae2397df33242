/**
 * aws-kms under kms-local's faults: throughput and worst latency while a share of requests is throttled
 * (the retry budget at work).
 */
import { log } from '../lib/suite.mjs';

const IN_FLIGHT = 64;

/**
 * Signs with `in flight` calls for `durationMs` while kms-local throttles `rate` of Sign requests.
 * @returns {Promise<{ throttleRate: number, inFlight: number, seconds: number, succeeded: number, opsPerSecond: number, worstMs: number, failures: Record<string, number> }>}
 */
async function throttledCell({ server, open, message, rate, durationMs }) {
  const provider = await open();
  const sign = () => provider.sign({ ref: 'alias/bench-ecdsa', algorithm: 'ECDSA_SHA_256', message });
  await sign();
  server.setFaults({ throttleRate: rate, seed: 11, operations: ['Sign'] });
  const failures = {};
  let succeeded = 0;
  let worstMs = 0;
  const started = performance.now();
  const ends = started + durationMs;
  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < ends) {
          const at = performance.now();
          try {
            await sign();
            succeeded += 1;
          } catch (error) {
            const code = error?.code ?? error?.name ?? 'Error';
            failures[code] = (failures[code] ?? 0) + 1;
          }
          worstMs = Math.max(worstMs, performance.now() - at);
        }
      }),
    );
  } finally {
    server.setFaults(undefined);
    await provider.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const cell = {
    throttleRate: rate,
    inFlight: IN_FLIGHT,
    seconds: Math.round(seconds * 100) / 100,
    succeeded,
    opsPerSecond: Math.round(succeeded / seconds),
    worstMs: Math.round(worstMs),
    failures,
  };
  log(
    `aws-kms throttled ${Math.round(rate * 100)}%: ${cell.opsPerSecond} ops/s, worst ${cell.worstMs} ms, failures ${JSON.stringify(failures)}`,
  );
  return cell;
}

/** The throttling cells: 30% and 100% of Sign requests throttled, the provider's default retry settings. */
export async function throttlingCells({ server, open, message, durationMs }) {
  const cells = [];
  for (const rate of [0.3, 1]) cells.push(await throttledCell({ server, open, message, rate, durationMs }));
  return cells;
}
