/**
 * The measurement loop every benchmark cell uses: N workers keep N operations in flight for a timed
 * window; each completed operation's latency goes into an HDR histogram; the event loop's delay is
 * sampled during the window.
 *
 * Event-loop delay: `monitorEventLoopDelay` fires a timer every `resolution` ms and records the interval
 * it actually saw, so every sample includes the resolution itself and a stall is under-reported by at most
 * one resolution. At the default 10 ms a 25 ms stall can read as 15 ms, which would hide a breach of a
 * 20 ms budget; at 1 ms the error is at most 1 ms and the timer costs ~1,000 wake-ups a second (well under
 * 1% of a core, the same for keyswitch and the raw baseline). We report `sample - resolution`.
 *
 * Giving the loop its turns: a closed loop of operations that complete without I/O (an HMAC in the
 * software HSM, an envelope with a cached data key) chains microtasks forever and never lets a timer run,
 * so its "event-loop delay" would be the whole window: an artefact of the driver, not of the library. A
 * server starts each request from an I/O callback, a macrotask of its own. The driver does the same in
 * effect: at least every {@link YIELD_EVERY_MS} it lets every worker reach a `setImmediate` before going
 * on, for keyswitch and the raw baseline alike (at most 2,000 such turns a second, well under 1% of the
 * time). A single call that blocks the thread for 5 ms still shows as a 5 ms delay.
 *
 * A control: an idle worker thread samples its own event loop the same way during every window. Nothing
 * runs on it, so its delay is what the operating system's scheduler alone did to this process's threads
 * (other processes on a shared machine, more busy threads than cores). A main-thread stall the control
 * saw too is the machine's, not the library's.
 *
 * CPU: the cores this process used during the window (all its threads: the libuv pool doing a token's or
 * node:crypto's work included), and the cores the whole machine was busy (/proc/stat, Linux), so that a
 * window on a machine shared with other work says so: "others" is the difference.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

/** The event-loop monitor's resolution, in milliseconds. */
export const EVENT_LOOP_RESOLUTION_MS = 1;
/** The length of one timed segment of {@link compare}, in milliseconds. */
export const SEGMENT_MS = 250;
/** How often, at least, the driver gives the event loop a turn. */
export const YIELD_EVERY_MS = 0.5;

const NS_PER_MS = 1e6;

const CONTROL_THREAD = `
const { parentPort } = require('node:worker_threads');
const { monitorEventLoopDelay } = require('node:perf_hooks');
let histogram;
parentPort.on('message', (message) => {
  if (message === 'start') {
    histogram = monitorEventLoopDelay({ resolution: ${EVENT_LOOP_RESOLUTION_MS} });
    histogram.enable();
    parentPort.postMessage('started');
  } else if (message === 'stop') {
    histogram.disable();
    parentPort.postMessage(histogram.count > 0 ? { max: histogram.max, p99: histogram.percentile(99) } : { max: 0, p99: 0 });
  }
});`;

/** @type {Worker | undefined} */
let control;

/** Sends the control thread a message and waits for its answer. */
function askControl(message) {
  if (!control) {
    control = new Worker(CONTROL_THREAD, { eval: true });
    control.unref();
    control.on('error', (error) => {
      throw error;
    });
  }
  const thread = control;
  return new Promise((resolve) => {
    thread.once('message', resolve);
    thread.postMessage(message);
  });
}

/** Stops the control thread (the process exits without it too: it is unref'd). */
export async function stopControl() {
  await control?.terminate();
  control = undefined;
}

/**
 * Runs `operation` with `concurrency` calls in flight for `durationMs`, after `warmupMs` of the same.
 *
 * @param {() => unknown} operation a call to measure; may return a promise or a value
 * @param {{ concurrency: number, durationMs: number, warmupMs?: number, maxOperations?: number }} options
 * @returns {Promise<Segment>}
 */
export async function measure(operation, options) {
  const { concurrency, durationMs, warmupMs = 0, maxOperations = Number.POSITIVE_INFINITY } = options;
  if (warmupMs > 0) await drive(operation, concurrency, warmupMs, Number.POSITIVE_INFINITY, undefined);
  const latency = createHistogram();
  const loop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  await askControl('start');
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  loop.enable();
  const started = performance.now();
  const counts = await drive(operation, concurrency, durationMs, maxOperations, latency);
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineTicks();
  const idle = /** @type {{ max: number, p99: number }} */ (await askControl('stop'));
  return {
    operations: counts.completed,
    errors: counts.errors,
    firstError: counts.firstError,
    seconds,
    latency,
    cpu: {
      processSeconds: (cpu.user + cpu.system) / 1e6,
      machineSeconds:
        machineBefore && machineAfter
          ? ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total || 1)) *
            cpus().length *
            seconds
          : undefined,
    },
    loop: {
      // Samples include the resolution itself; a window too short for one sample reads as 0.
      maxMs: loop.count > 0 ? Math.max(0, loop.max / NS_PER_MS - EVENT_LOOP_RESOLUTION_MS) : 0,
      p99Ms: loop.count > 0 ? Math.max(0, loop.percentile(99) / NS_PER_MS - EVENT_LOOP_RESOLUTION_MS) : 0,
      controlMaxMs: Math.max(0, idle.max / NS_PER_MS - EVENT_LOOP_RESOLUTION_MS),
    },
  };
}

/**
 * Keeps `concurrency` calls in flight until the deadline (or `maxOperations` have been started).
 *
 * @param {() => unknown} operation
 * @param {number} concurrency
 * @param {number} durationMs
 * @param {number} maxOperations
 * @param {import('node:perf_hooks').RecordableHistogram | undefined} latency
 */
async function drive(operation, concurrency, durationMs, maxOperations, latency) {
  const deadline = performance.now() + durationMs;
  let started = 0;
  let completed = 0;
  let errors = 0;
  let firstError;
  let lastTurn = performance.now();
  /** @type {Promise<void> | undefined} */
  let turn;
  const giveTurn = () => {
    turn ??= new Promise((resolve) => setImmediate(resolve)).then(() => {
      turn = undefined;
      lastTurn = performance.now();
    });
    return turn;
  };
  const worker = async () => {
    while (started < maxOperations && performance.now() < deadline) {
      started += 1;
      const begin = performance.now();
      try {
        await operation();
        completed += 1;
        latency?.record(Math.max(1, Math.round((performance.now() - begin) * NS_PER_MS)));
      } catch (error) {
        errors += 1;
        firstError ??= describeError(error);
        // A failing backend must not spin: give the loop a turn before the next attempt.
        await giveTurn();
      }
      if (turn !== undefined || performance.now() - lastTurn >= YIELD_EVERY_MS) await giveTurn();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { completed, errors, firstError };
}

/**
 * Combines timed segments of one implementation (interleaved with the other's) into one result.
 *
 * @param {Segment[]} segments
 * @returns {Result}
 */
export function combine(segments) {
  const latency = createHistogram();
  for (const segment of segments) latency.add(segment.latency);
  const operations = segments.reduce((sum, segment) => sum + segment.operations, 0);
  const seconds = segments.reduce((sum, segment) => sum + segment.seconds, 0);
  const errors = segments.reduce((sum, segment) => sum + segment.errors, 0);
  const firstError = segments.find((segment) => segment.firstError !== undefined)?.firstError;
  const processCores = segments.reduce((sum, segment) => sum + segment.cpu.processSeconds, 0) / seconds;
  const machine = segments.every((segment) => segment.cpu.machineSeconds !== undefined)
    ? segments.reduce((sum, segment) => sum + segment.cpu.machineSeconds, 0) / seconds
    : undefined;
  return {
    operations,
    seconds: round(seconds, 3),
    opsPerSecond: round(operations / seconds, 1),
    p50Ms: latency.count > 0 ? round(latency.percentile(50) / NS_PER_MS, 3) : null,
    p99Ms: latency.count > 0 ? round(latency.percentile(99) / NS_PER_MS, 3) : null,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    // Cores used by this process, and by everything else on the machine, during the timed segments.
    cpu: {
      processCores: round(processCores, 2),
      ...(machine === undefined ? {} : { otherCores: round(Math.max(0, machine - processCores), 2) }),
    },
    // The worst segment: the p99 of a combined window is not recoverable from interval histograms.
    eventLoop: {
      maxMs: round(Math.max(...segments.map((segment) => segment.loop.maxMs)), 2),
      p99Ms: round(Math.max(...segments.map((segment) => segment.loop.p99Ms)), 2),
      controlMaxMs: round(Math.max(...segments.map((segment) => segment.loop.controlMaxMs)), 2),
    },
  };
}

/**
 * Measures keyswitch against its raw baseline at one concurrency in alternating segments: rounds of raw,
 * keyswitch, keyswitch, raw, each segment about a quarter of a second. A machine whose speed changes
 * during the cell (other processes, CPU frequency) then biases neither side, and a burst of contention
 * lands on both in turn. Each side's result is the total of its segments.
 *
 * @param {{ keyswitch: () => unknown, raw: () => unknown }} operations
 * @param {{ concurrency: number, durationMs: number, warmupMs: number }} options
 */
export async function compare(operations, options) {
  const rounds = Math.max(1, Math.round(options.durationMs / (2 * SEGMENT_MS)));
  const segment = { concurrency: options.concurrency, durationMs: options.durationMs / (2 * rounds) };
  const warm = { ...segment, warmupMs: options.warmupMs };
  const raw = [await measure(operations.raw, warm)];
  const keyswitch = [await measure(operations.keyswitch, warm)];
  keyswitch.push(await measure(operations.keyswitch, segment));
  raw.push(await measure(operations.raw, segment));
  for (let index = 1; index < rounds; index += 1) {
    raw.push(await measure(operations.raw, segment));
    keyswitch.push(await measure(operations.keyswitch, segment));
    keyswitch.push(await measure(operations.keyswitch, segment));
    raw.push(await measure(operations.raw, segment));
  }
  const result = { keyswitch: combine(keyswitch), raw: combine(raw) };
  return { ...result, ratio: round(result.keyswitch.opsPerSecond / result.raw.opsPerSecond, 3) };
}

/** Busy and total jiffies of all CPUs, from /proc/stat; undefined where there is none. */
function machineTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** @param {number} value @param {number} digits */
export function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** @param {unknown} error */
function describeError(error) {
  if (error instanceof Error) {
    const code = /** @type {{ code?: unknown }} */ (error).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message.split('\n')[0]}`;
  }
  return String(error);
}

/**
 * @typedef {object} Segment
 * @property {number} operations
 * @property {number} errors
 * @property {string | undefined} firstError
 * @property {number} seconds
 * @property {import('node:perf_hooks').RecordableHistogram} latency
 * @property {{ processSeconds: number, machineSeconds: number | undefined }} cpu
 * @property {{ maxMs: number, p99Ms: number, controlMaxMs: number }} loop
 *
 * @typedef {object} Result
 * @property {number} operations
 * @property {number} seconds
 * @property {number} opsPerSecond
 * @property {number | null} p50Ms
 * @property {number | null} p99Ms
 * @property {number} errors
 * @property {string} [firstError]
 * @property {{ processCores: number, otherCores?: number }} cpu
 * @property {{ maxMs: number, p99Ms: number, controlMaxMs: number }} eventLoop
 */
