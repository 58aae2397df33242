import { constants, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import {
  algorithmInfo,
  type CallContext,
  isKeyswitchError,
  type KeyProvider,
  type Keyswitch,
  keySpecInfo,
} from '@keyswitch/core';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import {
  BENCH_OPERATIONS,
  type BenchOperation,
  chooseOperation,
  parseConcurrency,
  parsePayload,
  parseSeconds,
} from '../lib/bench-options.js';
import { CliError, EXIT, errorText, usageError } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { listenForInterruption } from '../lib/interruption.js';
import { type OutputStream, writeLine } from '../lib/io.js';
import { errorJson, JSON_OPTION } from '../lib/output.js';
import { newRunId } from '../lib/run-id.js';
import { type RunKey, RunKeys } from '../lib/run-keys.js';
import { textTable } from '../lib/text-table.js';

/** The options of `keyswitch bench`. */
export interface BenchOptions {
  readonly key?: string;
  readonly operation?: string;
  readonly concurrency?: string;
  readonly duration?: string;
  readonly warmup?: string;
  readonly payload?: string;
  readonly createTemporaryKey?: boolean;
  readonly json?: boolean;
}

/** The event-loop monitor's resolution (ms): a stall is under-reported by at most this much. */
const LOOP_RESOLUTION_MS = 1;
/** How often, at least, the workers let the event loop run (ms), as a server's requests would. */
const TURN_EVERY_MS = 0.5;
const NS_PER_MS = 1e6;

/** One concurrency's measurement. */
export interface BenchResult {
  readonly operation: BenchOperation;
  readonly concurrency: number;
  readonly operations: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly eventLoopMaxMs: number;
  readonly eventLoopP99Ms: number;
}

/**
 * `keyswitch bench --key NAME`: throughput, latency and event-loop delay of one configured key's
 * operation at 1, 8 and 64 operations in flight, against the user's own backend. It uses the key the
 * configuration names and never creates or destroys keys, unless `--create-temporary-key` asks it to
 * create one like it (labelled with the run id), which it schedules for deletion at the end.
 */
export function registerBench(program: Command, context: CommandContext): void {
  program
    .command('bench')
    .description('measure a configured key: operations per second, latency and event-loop delay')
    .option('--key <name>', 'logical key name from the configuration')
    .option(
      '--operation <operation>',
      `what to measure: ${BENCH_OPERATIONS.join(', ')} (default: sign, decrypt for RSA keys, encrypt, mac or derive, by the key's usage)`,
    )
    .option('--concurrency <list>', 'operations in flight, comma-separated (default 1,8,64)')
    .option('--duration <seconds>', 'timed seconds at each concurrency (default 5)')
    .option('--warmup <seconds>', 'untimed seconds before each (default 0.5)')
    .option(
      '--payload <bytes>',
      'message, record or MAC input size in bytes (default: sign/verify 1024, mac 16, encrypt 512; RSA 32)',
    )
    .option(
      '--create-temporary-key',
      "create a key like NAME's (spec and usage) labelled keyswitch-bench-RUNID, measure it, then schedule its deletion",
    )
    .option(...JSON_OPTION)
    .action(async (options: BenchOptions) => {
      context.exitCode = await runBench(context, options);
    });
}

async function runBench(context: CommandContext, options: BenchOptions): Promise<number> {
  if (options.key === undefined)
    throw usageError('bench needs --key NAME (a logical key of the configuration)');
  const concurrencies = parseConcurrency(options.concurrency);
  const durationMs = parseSeconds(options.duration, '--duration', 5) * 1000;
  const warmupMs = parseSeconds(options.warmup, '--warmup', 0.5, 0) * 1000;
  const payload = parsePayload(options.payload);
  const { stdout, stderr } = context.io;
  return withKeyswitch(context, async (keyswitch) => {
    const config = keyswitch.keyConfig(options.key!);
    const operation = chooseOperation(options.operation, config.usage, config.spec);
    const provider = await keyswitch.provider(config.provider);
    const interruption = listenForInterruption(
      context.io,
      'keyswitch: interrupted; stopping the measurement, then cleaning up (Ctrl-C again to quit at once)',
    );
    const runKeys = new RunKeys();
    let target = { provider, ref: config.ref };
    let temporary: readonly RunKey[] = [];
    try {
      if (options.createTemporaryKey) {
        const runId = newRunId();
        const wrapped = runKeys.wrap(provider);
        const created = await wrapped.createKey(
          {
            spec: config.spec,
            usage: config.usage,
            label: `keyswitch-bench-${runId}`,
            description: `temporary key of keyswitch bench run ${runId}; scheduled for deletion when the run ends`,
          },
          { keyName: config.name },
        );
        writeLine(stderr, `created temporary ${created.spec} key ${created.ref} for this run`);
        target = { provider: wrapped, ref: created.ref };
      }
      const call: CallContext = { keyName: config.name };
      const run = await prepare(target.provider, target.ref, call, operation, config, payload);
      writeLine(
        stderr,
        `keyswitch bench: ${operation} with ${config.name} (${config.algorithm}, ${config.spec}) on provider ${config.provider} (${provider.type}), ${target.ref}: ` +
          `${concurrencies.join(', ')} in flight, ${durationMs / 1000} s each`,
      );
      const progress = new BenchProgress(stderr, concurrencies.length * durationMs);
      const results: BenchResult[] = [];
      try {
        for (const [index, concurrency] of concurrencies.entries()) {
          if (interruption.signal.aborted) break;
          const result = await measure(run, operation, {
            concurrency,
            durationMs,
            warmupMs,
            signal: interruption.signal,
            onTick: (elapsedMs, completed) =>
              progress.update(index * durationMs + elapsedMs, concurrency, (completed * 1000) / elapsedMs),
          });
          results.push(result);
          progress.done(result);
        }
      } finally {
        progress.stop();
      }
      const failed = results.find((result) => result.errors > 0);
      const failure = failed && {
        code: 'OPERATION_FAILED',
        message: `${results.reduce((sum, result) => sum + result.errors, 0)} operations failed; the first: ${failed.firstError}`,
      };
      if (options.json) {
        writeLine(
          stdout,
          JSON.stringify(
            {
              key: config.name,
              provider: config.provider,
              providerType: provider.type,
              ref: target.ref,
              algorithm: config.algorithm,
              spec: config.spec,
              operation,
              payloadBytes: run.payloadBytes,
              eventLoopResolutionMs: LOOP_RESOLUTION_MS,
              results,
              ...(failure ? errorJson(failure) : {}),
            },
            null,
            2,
          ),
        );
      } else {
        writeLine(stdout, formatResults(results));
      }
      if (interruption.signal.aborted) return EXIT.interrupted;
      if (failure) {
        if (!options.json) writeLine(stderr, `keyswitch: ${failure.code}: ${failure.message}`);
        return EXIT.failure;
      }
      return EXIT.ok;
    } finally {
      interruption.dispose();
      if (runKeys.keys.length > 0) {
        temporary = await runKeys.cleanUp(async () => provider);
        for (const key of temporary) {
          writeLine(
            stderr,
            key.action === 'left'
              ? `keyswitch: CLEANUP_FAILED: temporary key ${key.ref}: ${key.error}`
              : `temporary key ${key.ref}: ${key.action === 'scheduled-deletion' || key.action === 'already-scheduled' ? `scheduled for deletion${key.deletionDate ? ` on ${key.deletionDate}` : ''}` : key.action}`,
          );
        }
      }
    }
  });
}

/** What one run calls, prepared once: the inputs, and a check that the call works before it is timed. */
interface PreparedRun {
  readonly call: () => Promise<unknown>;
  readonly payloadBytes: number;
}

async function prepare(
  provider: KeyProvider,
  ref: string,
  call: CallContext,
  operation: BenchOperation,
  config: ReturnType<Keyswitch['keyConfig']>,
  payload: number | undefined,
): Promise<PreparedRun> {
  const info = algorithmInfo(config.algorithm);
  const family = keySpecInfo(config.spec).family;
  let run: PreparedRun;
  switch (operation) {
    case 'sign':
    case 'verify': {
      const message = randomBytes(payload ?? 1024);
      const request = { ref, algorithm: info.algorithm as never, message };
      if (operation === 'sign') {
        run = { call: () => provider.sign(request, call), payloadBytes: message.length };
      } else {
        const signature = await provider.sign(request, call);
        run = { call: () => provider.verify({ ...request, signature }, call), payloadBytes: message.length };
      }
      break;
    }
    case 'mac': {
      const message = randomBytes(payload ?? 16);
      const request = { ref, algorithm: info.algorithm as never, message };
      run = { call: () => provider.generateMac(request, call), payloadBytes: message.length };
      break;
    }
    case 'encrypt':
    case 'decrypt': {
      const rsa = family === 'RSA';
      const plaintext = randomBytes(payload ?? (rsa ? 32 : 512));
      const context = rsa ? undefined : { purpose: 'keyswitch-bench' };
      const base = { ref, algorithm: info.algorithm as never, ...(context ? { context } : {}) };
      if (operation === 'encrypt') {
        run = { call: () => provider.encrypt({ ...base, plaintext }, call), payloadBytes: plaintext.length };
      } else {
        // RSA: encrypt locally to the public key (as a sender would); symmetric: one backend encrypt.
        const ciphertext = rsa
          ? publicEncrypt(
              {
                key: createPublicKey((await provider.getPublicKey(ref, call)).pem()),
                padding: constants.RSA_PKCS1_OAEP_PADDING,
                oaepHash: info.hash!,
              },
              plaintext,
            )
          : await provider.encrypt({ ...base, plaintext }, call);
        run = { call: () => provider.decrypt({ ...base, ciphertext }, call), payloadBytes: plaintext.length };
      }
      break;
    }
    case 'data-key':
      run = { call: () => provider.generateDataKey({ ref }, call), payloadBytes: 32 };
      break;
    case 'derive': {
      const curve = keySpecInfo(config.spec).namedCurve!;
      const peer = generateKeyPairSync('ec', { namedCurve: curve });
      const publicKey = new Uint8Array(peer.publicKey.export({ format: 'der', type: 'spki' }));
      const request = { ref, algorithm: 'ECDH' as const, publicKey };
      run = { call: () => provider.deriveSharedSecret(request, call), payloadBytes: publicKey.length };
      break;
    }
  }
  try {
    await run.call();
  } catch (error) {
    if (isKeyswitchError(error, 'KEY_NOT_FOUND')) {
      throw new CliError(
        'KEY_NOT_FOUND',
        `${errorText(error)}; bench never creates keys: create it (keyswitch keys create ${config.name}) or pass --create-temporary-key`,
        EXIT.failure,
        { cause: error },
      );
    }
    throw error;
  }
  return run;
}

/**
 * Runs `concurrency` calls in flight for the duration (after a warm-up): each completed call's latency
 * in an HDR histogram, the event loop's delay sampled at 1 ms. The workers let the event loop run at least
 * every 0.5 ms, so calls that complete without I/O do not starve it (a server's requests arrive as I/O).
 */
async function measure(
  run: PreparedRun,
  operation: BenchOperation,
  options: {
    concurrency: number;
    durationMs: number;
    warmupMs: number;
    signal: AbortSignal;
    onTick: (elapsedMs: number, completed: number) => void;
  },
): Promise<BenchResult> {
  if (options.warmupMs > 0) await drive(run.call, options.concurrency, options.warmupMs, options.signal);
  const latency = createHistogram();
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const started = performance.now();
  const counts = await drive(
    run.call,
    options.concurrency,
    options.durationMs,
    options.signal,
    latency,
    (completed) => options.onTick(performance.now() - started, completed),
  );
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  const delay = (value: number) => round(Math.max(0, value / NS_PER_MS - LOOP_RESOLUTION_MS), 2);
  return {
    operation,
    concurrency: options.concurrency,
    operations: counts.completed,
    errors: counts.errors,
    ...(counts.firstError === undefined ? {} : { firstError: counts.firstError }),
    seconds: round(seconds, 3),
    opsPerSecond: round(counts.completed / seconds, 1),
    p50Ms: latency.count > 0 ? round(latency.percentile(50) / NS_PER_MS, 3) : null,
    p99Ms: latency.count > 0 ? round(latency.percentile(99) / NS_PER_MS, 3) : null,
    eventLoopMaxMs: loop.count > 0 ? delay(loop.max) : 0,
    eventLoopP99Ms: loop.count > 0 ? delay(loop.percentile(99)) : 0,
  };
}

async function drive(
  call: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
  signal: AbortSignal,
  latency?: ReturnType<typeof createHistogram>,
  onTick?: (completed: number) => void,
): Promise<{ completed: number; errors: number; firstError: string | undefined }> {
  const deadline = performance.now() + durationMs;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let lastTurn = performance.now();
  let turn: Promise<void> | undefined;
  const giveTurn = () => {
    turn ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      turn = undefined;
      lastTurn = performance.now();
    });
    return turn;
  };
  const ticker = onTick ? setInterval(() => onTick(completed), 100) : undefined;
  const worker = async () => {
    while (!signal.aborted && performance.now() < deadline) {
      const begin = performance.now();
      try {
        await call();
        completed += 1;
        latency?.record(Math.max(1, Math.round((performance.now() - begin) * NS_PER_MS)));
      } catch (error) {
        errors += 1;
        firstError ??= isKeyswitchError(error)
          ? `${error.code}: ${errorText(error)}`
          : error instanceof Error
            ? error.message
            : String(error);
        await giveTurn();
      }
      if (turn !== undefined || performance.now() - lastTurn >= TURN_EVERY_MS) await giveTurn();
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  return { completed, errors, firstError };
}

/** A live bar on a terminal; one line per concurrency otherwise. */
class BenchProgress {
  readonly #stream: OutputStream;
  readonly #bar: SingleBar | undefined;

  constructor(stream: OutputStream, totalMs: number) {
    this.#stream = stream;
    const terminal =
      stream.isTTY === true && typeof (stream as { cursorTo?: unknown }).cursorTo === 'function';
    this.#bar = terminal
      ? new SingleBar({
          stream: stream as NodeJS.WritableStream,
          format: ' {bar} {percentage}% | {concurrency} in flight | {rate} ops/s',
          hideCursor: true,
          clearOnComplete: true,
          barsize: 30,
        })
      : undefined;
    this.#bar?.start(Math.max(1, Math.round(totalMs)), 0, { concurrency: '-', rate: '-' });
  }

  /** `overallMs` into the whole run; `rate` the current concurrency's operations per second so far. */
  update(overallMs: number, concurrency: number, rate: number): void {
    this.#bar?.update(Math.round(overallMs), {
      concurrency,
      rate: Number.isFinite(rate) ? Math.round(rate).toLocaleString('en-US') : '-',
    });
  }

  done(result: BenchResult): void {
    if (this.#bar) return;
    writeLine(
      this.#stream,
      `${result.concurrency} in flight: ${Math.round(result.opsPerSecond).toLocaleString('en-US')} ops/s, p99 ${formatMs(result.p99Ms)} ms, event loop max ${result.eventLoopMaxMs} ms${result.errors ? `, ${result.errors} errors` : ''}`,
    );
  }

  stop(): void {
    this.#bar?.stop();
  }
}

/** The final table. */
export function formatResults(results: readonly BenchResult[]): string {
  return textTable(
    ['operation', 'in flight', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'errors', 'loop max ms', 'loop p99 ms'],
    results.map((result) => [
      result.operation,
      String(result.concurrency),
      result.operations.toLocaleString('en-US'),
      Math.round(result.opsPerSecond).toLocaleString('en-US'),
      formatMs(result.p50Ms),
      formatMs(result.p99Ms),
      String(result.errors),
      result.eventLoopMaxMs.toFixed(1),
      result.eventLoopP99Ms.toFixed(1),
    ]),
  );
}

function formatMs(value: number | null): string {
  if (value === null) return '-';
  return value < 1 ? value.toFixed(3) : value < 100 ? value.toFixed(2) : value.toFixed(0);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
