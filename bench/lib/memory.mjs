/**
 * Heap and RSS growth over many operations: warm up, force two garbage collections (the process must run
 * with --expose-gc), snapshot, run the operations, collect again, snapshot.
 */
import { measure, round } from './measure.mjs';

const MB = 1024 * 1024;

/**
 * @param {() => unknown} operation
 * @param {number} operations
 * @param {{ warmup?: number, concurrency?: number }} [options]
 */
export async function memoryGrowth(operation, operations, options = {}) {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('run with node --expose-gc to measure memory');
  const concurrency = options.concurrency ?? 8;
  const warmup = options.warmup ?? 10_000;
  if (warmup > 0)
    await measure(operation, { concurrency, durationMs: Number.POSITIVE_INFINITY, maxOperations: warmup });
  const collect = async () => {
    for (let i = 0; i < 3; i += 1) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage();
  };
  const before = await collect();
  const run = await measure(operation, {
    concurrency,
    durationMs: Number.POSITIVE_INFINITY,
    maxOperations: operations,
  });
  const after = await collect();
  return {
    operations: run.operations,
    errors: run.errors,
    seconds: round(run.seconds, 2),
    concurrency,
    heapBeforeMB: round(before.heapUsed / MB, 2),
    heapAfterMB: round(after.heapUsed / MB, 2),
    heapGrowthMB: round((after.heapUsed - before.heapUsed) / MB, 2),
    rssBeforeMB: round(before.rss / MB, 2),
    rssAfterMB: round(after.rss / MB, 2),
    rssGrowthMB: round((after.rss - before.rss) / MB, 2),
    externalGrowthMB: round((after.external - before.external) / MB, 2),
  };
}
