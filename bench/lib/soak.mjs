/**
 * A soak: many operations at 64 in flight, RSS and heap sampled 20 times along the way (after a forced GC
 * when node runs with --expose-gc). Failures are counted by code and the soak goes on (a loaded machine
 * may time a call out); they are reported with the samples.
 */
import { log } from './suite.mjs';

const IN_FLIGHT = 64;

/**
 * Runs `operations` calls of `sign`, 64 in flight.
 * @param {{ name: string, sign: () => Promise<unknown>, operations: number }} options
 * @returns {Promise<{ operations: number, inFlight: number, seconds: number, samples: Array<{ operations: number, rssMB: number, heapMB: number }>, failures: Record<string, number> }>}
 */
export async function soak({ name, sign, operations }) {
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
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < operations) {
        next += 1;
        try {
          await sign();
        } catch (error) {
          const code = error?.code ?? error?.name ?? 'Error';
          failures[code] = (failures[code] ?? 0) + 1;
        }
        done += 1;
        if (done % every === 0) sample(done);
      }
    }),
  );
  const seconds = Math.round((performance.now() - started) / 10) / 100;
  const failed = Object.entries(failures)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  log(
    `${name} soak: ${operations} signs in ${seconds} s; RSS ${samples[0].rssMB} → ${samples.at(-1).rssMB} MB, ` +
      `heap ${samples[0].heapMB} → ${samples.at(-1).heapMB} MB; failures: ${failed || 'none'}`,
  );
  return { operations, inFlight: IN_FLIGHT, seconds, samples, failures };
}
