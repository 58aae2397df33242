/**
 * aws-kms under kms-local's faults: throughput and worst latency while a share of requests is throttled
 * (the retry budget at work), and a soak (many operations, RSS and heap sampled as it goes).
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

/**
 * `operations` signs, 64 in flight, sampling RSS and heap 20 times along the way (after a forced GC when
 * node runs with --expose-gc).
 */
export async function soak({ open, message, operations }) {
  const provider = await open();
  const samples = [];
  const sample = (done) => {
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    samples.push({
      operations: done,
      rssMB: Math.round(rss / 1048576),
      heapMB: Math.round(heapUsed / 1048576),
    });
  };
  const every = Math.max(1, Math.floor(operations / 20));
  let next = 0;
  let done = 0;
  const failures = {};
  const started = performance.now();
  sample(0);
  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < operations) {
          next += 1;
          try {
            await provider.sign({ ref: 'alias/bench-ecdsa', algorithm: 'ECDSA_SHA_256', message });
          } catch (error) {
            // A loaded machine may time a call out: counted, and the soak goes on.
            const code = error?.code ?? error?.name ?? 'Error';
            failures[code] = (failures[code] ?? 0) + 1;
          }
          done += 1;
          if (done % every === 0) sample(done);
        }
      }),
    );
  } finally {
    await provider.close();
  }
  const seconds = Math.round((performance.now() - started) / 10) / 100;
  log(
    `aws-kms soak: ${operations} signs in ${seconds} s; RSS ${samples[0].rssMB} → ${samples.at(-1).rssMB} MB`,
  );
  return { operations, seconds, samples };
}
