import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { counted, type EncryptionContext, type Keyswitch } from '@keyswitch/core';
import { Keyring, parseEnvelope, type RewrapRecord, rewrapRecords } from '@keyswitch/envelope';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { CliError, EXIT, errorText, usageError } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { listenForInterruption } from '../lib/interruption.js';
import { type OutputStream, writeLine } from '../lib/io.js';
import { errorJson, JSON_OPTION, writeJson } from '../lib/output.js';

interface RewrapOptions {
  readonly in: string;
  readonly out: string;
  readonly key?: string;
  readonly contextField: string;
  readonly json?: boolean;
}

/** One input line, carried through `rewrapRecords` as the record's id. */
interface InputLine {
  readonly line: number;
  readonly record: Record<string, unknown>;
}

interface Totals {
  processed: number;
  rewrapped: number;
  unchanged: number;
  skipped: number;
  failed: number;
}

/**
 * `keyswitch rewrap --in FILE --out FILE`: re-wraps the data keys of stored envelopes (JSON lines
 * `{id, envelope, context?}`) under each logical key's active version, without re-encrypting the data.
 */
export function registerRewrap(program: Command, context: CommandContext): void {
  program
    .command('rewrap')
    .description(
      're-wrap stored envelopes (JSON lines {id, envelope, context?}) to the active key version, without re-encrypting the data',
    )
    .requiredOption(
      '--in <file>',
      'JSON lines, one record a line: {"id": …, "envelope": "<envelope string>", "context"?: {…}}',
    )
    .requiredOption(
      '--out <file>',
      'where to write the records, envelopes re-wrapped (written whole at the end)',
    )
    .option('--key <name>', 'only re-wrap envelopes of this logical key; other records are copied unchanged')
    .option(
      '--context-field <field>',
      "the record field holding the envelope's encryption context",
      'context',
    )
    .option(...JSON_OPTION)
    .action(async (options: RewrapOptions) => {
      context.exitCode = await withKeyswitch(context, (keyswitch) => runRewrap(keyswitch, context, options));
    });
}

async function runRewrap(
  keyswitch: Keyswitch,
  context: CommandContext,
  options: RewrapOptions,
): Promise<number> {
  const input = resolve(context.cwd, options.in);
  const output = resolve(context.cwd, options.out);
  if (input === output) throw usageError('--out must name another file than --in');
  const keyring = Keyring.create(keyswitch, {
    onEvent: (event) => {
      keyswitch.auditFile?.append(event);
      writeLine(
        context.io.stderr,
        `keyswitch: warning: key "${event.keyName}" version "${event.keyVersion}": cryptoperiod ${event.type === 'cryptoperiod-ending' ? 'ends' : 'ended'} ${event.expiresAt}`,
      );
    },
  });
  if (
    options.key !== undefined &&
    !keyring.keyNames().includes(options.key) &&
    !keyswitch.keyNames().includes(options.key)
  ) {
    throw usageError(`--key: no logical key "${options.key}"; configured: ${keyring.keyNames().join(', ')}`);
  }
  const total = await countRecords(input);
  const temporary = `${output}.${process.pid}.tmp`;
  let handle: FileHandle;
  try {
    handle = await open(temporary, 'w', 0o600);
  } catch (error) {
    throw new CliError(
      'INVALID_INPUT',
      `cannot write --out file ${options.out} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const interruption = listenForInterruption(
    context.io,
    'keyswitch: interrupted; stopping, nothing is written to --out',
  );
  const progress = new RewrapProgress(context.io.stderr, total);
  const totals: Totals = { processed: 0, rewrapped: 0, unchanged: 0, skipped: 0, failed: 0 };
  const moves = new Map<string, number>();
  const movesByName = new Map<
    string,
    { key: string | undefined; from: string | undefined; to: string | undefined }
  >();
  const failures: string[] = [];
  // Records another key owns are not given to rewrapRecords: they wait here, in order, for their turn.
  const pending: { line: number; text?: string }[] = [];
  let inFlight = 0;
  let buffered: string[] = [];
  const write = async (text: string) => {
    buffered.push(text);
    if (buffered.length >= 256) await flush();
  };
  const flush = async () => {
    if (buffered.length === 0) return;
    const chunk = `${buffered.join('\n')}\n`;
    buffered = [];
    await handle.write(chunk);
  };
  const emitSkippedBefore = async (line: number) => {
    while (pending.length > 0 && pending[0]!.line < line) {
      const skipped = pending.shift()!;
      if (skipped.text !== undefined) {
        await write(skipped.text);
        totals.skipped += 1;
        totals.processed += 1;
        progress.update(totals);
      }
    }
    if (pending[0]?.line === line) pending.shift();
  };

  async function* records(): AsyncGenerator<RewrapRecord<InputLine>> {
    for await (const { line, text } of readLines(input)) {
      if (interruption.signal.aborted) return;
      const record = parseRecord(text, line, options.contextField);
      if (options.key !== undefined && keyNameOf(record.envelope) !== options.key) {
        if (inFlight === 0 && pending.length === 0) {
          // Nothing before it is still being re-wrapped: copy it now rather than hold it in memory.
          await write(text);
          totals.skipped += 1;
          totals.processed += 1;
          progress.update(totals);
        } else pending.push({ line, text });
        continue;
      }
      pending.push({ line });
      inFlight += 1;
      const contextValue = record[options.contextField] as EncryptionContext | undefined;
      yield {
        id: { line, record },
        envelope: record.envelope as string,
        ...(contextValue === undefined ? {} : { context: contextValue }),
      };
    }
  }

  let completed = false;
  try {
    for await (const result of rewrapRecords(keyring, records(), { continueOnError: true })) {
      const { line, record } = result.id!;
      inFlight -= 1;
      await emitSkippedBefore(line);
      await write(JSON.stringify({ ...record, envelope: result.envelope }));
      totals.processed += 1;
      if (result.status === 'rewrapped') {
        totals.rewrapped += 1;
        const move = `${result.keyName}: ${result.fromVersion} → ${result.toVersion}`;
        moves.set(move, (moves.get(move) ?? 0) + 1);
        movesByName.set(move, { key: result.keyName, from: result.fromVersion, to: result.toVersion });
      } else if (result.status === 'unchanged') totals.unchanged += 1;
      else {
        totals.failed += 1;
        const id = typeof record.id === 'string' || typeof record.id === 'number' ? ` (id ${record.id})` : '';
        const failure = `line ${line}${id}: ${result.error?.code}: ${result.error ? errorText(result.error) : 'failed'}`;
        failures.push(failure);
        progress.failure(failure);
      }
      progress.update(totals);
      if (interruption.signal.aborted) break;
    }
    if (!interruption.signal.aborted) {
      await emitSkippedBefore(Number.POSITIVE_INFINITY);
      await flush();
      await handle.sync();
      completed = true;
    }
  } finally {
    interruption.dispose();
    progress.stop(failures);
    await handle.close();
    if (completed) await rename(temporary, output);
    else await rm(temporary, { force: true });
    await keyring.close();
  }
  if (interruption.signal.aborted) {
    const message = `stopped after ${totals.processed} of ${counted(total, 'record')}; ${options.out} not written`;
    if (options.json) writeJson(context.io.stdout, errorJson({ code: 'INTERRUPTED', message }));
    else writeLine(context.io.stderr, `keyswitch: INTERRUPTED: ${message}`);
    return EXIT.interrupted;
  }

  const { stdout, stderr } = context.io;
  const stats = keyring.stats();
  const failure =
    totals.failed > 0
      ? {
          code: 'REWRAP_FAILED',
          message: `${totals.failed} of ${counted(totals.processed, 'record')} could not be re-wrapped; ${totals.failed === 1 ? 'it is' : 'they are'} in ${options.out} unchanged`,
        }
      : undefined;
  if (options.json) {
    writeJson(stdout, {
      out: options.out,
      ...totals,
      moves: [...moves].map(([move, count]) => ({ ...movesByName.get(move), count })),
      failures,
      backendCalls: stats.backendCalls,
      backendCallsByOperation: stats.byOperation,
      ...(failure ? errorJson(failure) : {}),
    });
    return failure ? EXIT.failure : EXIT.ok;
  }
  writeLine(
    stdout,
    `rewrapped ${totals.rewrapped}, unchanged ${totals.unchanged}, ${options.key === undefined ? '' : `skipped (other keys) ${totals.skipped}, `}failed ${totals.failed} of ${counted(totals.processed, 'record')} → ${options.out}`,
  );
  for (const [move, count] of moves) writeLine(stdout, `  ${move}: ${count}`);
  const calls = Object.entries(stats.byOperation)
    .map(([operation, count]) => `${operation} ${count}`)
    .join(', ');
  writeLine(stdout, `backend calls: ${stats.backendCalls}${calls ? ` (${calls})` : ''}`);
  if (failure) {
    writeLine(stderr, `keyswitch: ${failure.code}: ${failure.message}`);
    return EXIT.failure;
  }
  return EXIT.ok;
}

/** The lines of a file with their 1-based numbers, blank lines left out. */
async function* readLines(file: string): AsyncGenerator<{ line: number; text: string }> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() !== '') yield { line, text };
    }
  } catch (error) {
    throw new CliError(
      'INVALID_INPUT',
      `cannot read --in file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  } finally {
    lines.close();
    stream.destroy();
  }
}

async function countRecords(file: string): Promise<number> {
  let count = 0;
  for await (const _ of readLines(file)) count += 1;
  return count;
}

function parseRecord(text: string, line: number, contextField: string): Record<string, unknown> {
  const bad = (what: string) => new CliError('INVALID_INPUT', `--in line ${line}: ${what}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('not JSON; expected one record a line: {"id": …, "envelope": "…", "context"?: {…}}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('expected a JSON object');
  const record = value as Record<string, unknown>;
  if (typeof record.envelope !== 'string' || record.envelope.length === 0) {
    throw bad('expected "envelope": the envelope in its string form');
  }
  const context = record[contextField];
  if (
    context !== undefined &&
    (typeof context !== 'object' ||
      context === null ||
      Array.isArray(context) ||
      Object.values(context).some((entry) => typeof entry !== 'string'))
  ) {
    throw bad(`expected "${contextField}" to be the encryption context: an object of strings`);
  }
  return record;
}

function keyNameOf(envelope: unknown): string | undefined {
  try {
    return parseEnvelope(envelope as string).keyName;
  } catch {
    return undefined; // rewrapRecords reports it as INVALID_CIPHERTEXT
  }
}

/** Progress on stderr: a live bar on a terminal, a plain line every tenth of the way otherwise. */
class RewrapProgress {
  readonly #stream: OutputStream;
  readonly #total: number;
  readonly #bar: SingleBar | undefined;
  readonly #step: number;
  #lastLine = 0;

  constructor(stream: OutputStream, total: number) {
    this.#stream = stream;
    this.#total = total;
    this.#step = Math.max(1, Math.ceil(total / 10));
    const terminal =
      stream.isTTY === true && typeof (stream as { cursorTo?: unknown }).cursorTo === 'function';
    this.#bar = terminal
      ? new SingleBar({
          stream: stream as NodeJS.WritableStream,
          format:
            ' rewrap {bar} {value}/{total} | rewrapped {rewrapped} | unchanged {unchanged} | failed {failed}',
          hideCursor: true,
          clearOnComplete: false,
          barsize: 30,
        })
      : undefined;
    if (this.#bar) this.#bar.start(total, 0, { rewrapped: 0, unchanged: 0, failed: 0 });
    else writeLine(stream, `rewrap: ${counted(total, 'record')}`);
  }

  update(totals: Totals): void {
    if (this.#bar) {
      this.#bar.update(totals.processed, { ...totals, unchanged: totals.unchanged + totals.skipped });
    } else if (totals.processed - this.#lastLine >= this.#step || totals.processed === this.#total) {
      this.#lastLine = totals.processed;
      writeLine(
        this.#stream,
        `rewrap: ${totals.processed}/${counted(this.#total, 'record')} (rewrapped ${totals.rewrapped}, unchanged ${totals.unchanged + totals.skipped}, failed ${totals.failed})`,
      );
    }
  }

  /** A failed record: printed at once on plain output, after the bar on a terminal. */
  failure(text: string): void {
    if (!this.#bar) writeLine(this.#stream, `rewrap: FAILED ${text}`);
  }

  stop(failures: readonly string[]): void {
    if (!this.#bar) return;
    this.#bar.stop();
    for (const failure of failures) writeLine(this.#stream, `rewrap: FAILED ${failure}`);
  }
}
