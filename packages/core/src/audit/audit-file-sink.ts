import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyswitchError } from '../errors.js';
import { fileSystemError } from '../lib/file-system-error.js';
import { acquireLockFile, type LockFile } from '../lib/lock-file.js';
import type { AuditListener } from './events.js';
import { type AuditRecord, formatRecordLine, recordHash } from './lib/audit-record.js';
import { readChainHead } from './lib/read-chain-head.js';
import { checkedSinkFile } from './lib/sink-file.js';

/** Options for {@link AuditFileSink.open}. */
export interface AuditFileSinkOptions {
  /**
   * When lines reach the disk: `always` (default) fdatasyncs after every write, batching events that
   * arrive meanwhile into the next write (group commit), so `flush()` means durable; `interval` syncs at
   * most every `fsyncIntervalMs`; `never` leaves it to the operating system (and `close()`).
   */
  readonly fsync?: 'always' | 'interval' | 'never';
  /** For `interval`: milliseconds between syncs (default 1000). */
  readonly fsyncIntervalMs?: number;
  /**
   * While writes fail, the least time between two attempts to write again (default 1000 ms). An
   * attempt is made when an event arrives (or {@link AuditFileSink.check} is called) and this much time
   * has passed since the last.
   */
  readonly retryIntervalMs?: number;
  /**
   * Told when a write fails (once per outage), when writing works again, and when an event cannot be
   * chained at all (nested too deep). Default: a process warning. Never given event content.
   */
  readonly onError?: (error: Error) => void;
}

/** The chain's end: the seq and hash of the last record. Keep a copy elsewhere to detect a cut-off tail. */
export interface AuditChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * The event a sink writes first when it can write again after a failure: how many events were lost,
 * from when to when, and why (PCI DSS 10.x: a gap in the trail is itself recorded).
 */
export interface AuditGapEvent {
  readonly type: 'audit-gap';
  /** When the gap was recorded (ISO 8601). */
  readonly time: string;
  /** Events that could not be written. */
  readonly lostEvents: number;
  /** The time of the first and the last lost event (their own `time`, or when they arrived). */
  readonly from: string;
  readonly to: string;
  /** The platform's code for the first failure (ENOSPC, EIO, …). */
  readonly errorCode: string;
}

interface QueuedLine {
  readonly text: string;
  readonly seq: number;
  readonly hash: string;
  /** The event's time, for the gap record should the line be lost. */
  readonly time: string;
  /**
   * For a gap record, the losses it records: never counted as a lost event itself, but should the record
   * be lost, its losses are counted again in the next gap.
   */
  readonly gap: Gap | undefined;
}

interface Gap {
  lost: number;
  from: string;
  to: string;
  readonly errorCode: string;
}

/** An operation waiting for its record to be written (`audit.failClosed`). */
interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (error: KeyswitchError) => void;
}

/**
 * A tamper-evident audit trail (PCI DSS 10.3.4): audit events as hash-chained JSON lines, one record per
 * line, each line the canonical JSON of `{event, hash, prev, seq}` (keys sorted), where `hash` is the
 * SHA-256 of the canonical JSON of `{event, prev, seq}` and `prev` is the previous line's hash. Appends
 * from one process (a lock file keeps out a second sink); reopening continues the chain. Events are
 * chained synchronously in the order they arrive and written in the background. Check a file with
 * {@link verifyAuditFile}.
 *
 * When a write fails (a full disk, an I/O error) the sink cuts the file back to its last whole record,
 * counts the events it cannot write, and, once a write succeeds again, records the gap as an
 * {@link AuditGapEvent} before anything else (and a second one for events lost while the first was
 * written). {@link AuditFileSink.available} says whether events are being recorded; the registry's
 * `audit.failClosed` refuses key operations with AUDIT_UNAVAILABLE while they are not, and makes each
 * operation await {@link AuditFileSink.recorded} before it returns its result.
 *
 * @example
 * ```ts
 * const sink = await AuditFileSink.open('audit/keyswitch.jsonl');
 * const stop = ks.onAudit(sink.listener);
 * // ...
 * stop();
 * await sink.close();
 * ```
 */
export class AuditFileSink {
  readonly path: string;
  /** An audit listener to subscribe: `ks.onAudit(sink.listener)`. Never throws. */
  readonly listener: AuditListener;
  readonly #handle: FileHandle;
  readonly #lock: LockFile;
  readonly #fsync: 'always' | 'interval' | 'never';
  readonly #intervalMs: number;
  readonly #retryIntervalMs: number;
  readonly #onError: (error: Error) => void;
  /** The chain's end as written to the file, and the file's length up to it. */
  #written: AuditChainHead;
  #writtenBytes: number;
  /** The chain's end including queued lines. */
  #seq: number;
  #hash: string;
  #queue: QueuedLine[] = [];
  #writing: Promise<void> | undefined;
  #lastSync = 0;
  /** The current outage's first error, while writes fail. */
  #failure: Error | undefined;
  /** Events lost and not yet recorded as a gap. */
  #gap: Gap | undefined;
  /** Why the listener's last event was not chained, if it was not (read by {@link recorded}). */
  #refused: KeyswitchError | undefined;
  /** Operations waiting for their record, by seq (only under `audit.failClosed`). */
  #waiters: Waiter[] = [];
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #closing: Promise<void> | undefined;

  private constructor(
    path: string,
    handle: FileHandle,
    lock: LockFile,
    head: AuditChainHead,
    size: number,
    options: AuditFileSinkOptions,
  ) {
    this.path = path;
    this.#handle = handle;
    this.#lock = lock;
    this.#written = head;
    this.#writtenBytes = size;
    this.#seq = head.seq;
    this.#hash = head.hash;
    this.#fsync = options.fsync ?? 'always';
    this.#intervalMs = options.fsyncIntervalMs ?? 1000;
    this.#retryIntervalMs = options.retryIntervalMs ?? 1000;
    this.#onError =
      options.onError ??
      ((error) =>
        process.emitWarning(`[keyswitch] audit file ${path}: ${error.message}`, 'KeyswitchAuditWarning'));
    this.listener = (event) => {
      try {
        this.append(event);
        this.#refused = undefined;
      } catch (error) {
        // While writes fail, append counted the event as lost (recorded as a gap later); an event that
        // cannot be chained at all is reported. The operation itself is not disturbed here: under
        // `audit.failClosed` it learns of it from recorded().
        this.#refused =
          error instanceof KeyswitchError
            ? error
            : new KeyswitchError('INTERNAL', 'an audit event was not chained');
        if (this.#refused.code === 'INVALID_INPUT') {
          this.#report(new Error(`an audit event was not recorded: ${this.#refused.detail}`));
        }
      }
    };
  }

  /**
   * Opens (creating it and its directory if needed) an audit file for appending and reads the chain's
   * head from its last line.
   *
   * @throws LOCKED when another sink holds the file; CONFIG_INVALID when its last line is not a valid
   * record, or the path cannot be an audit file (a directory, ENOENT, ENOTDIR, EINVAL); ACCESS_DENIED
   * when the file system refuses (EACCES, EROFS); UNAVAILABLE on a full disk or an I/O error
   */
  static async open(path: string, options: AuditFileSinkOptions = {}): Promise<AuditFileSink> {
    const file = checkedSinkFile(path, options);
    await mkdir(dirname(file), { recursive: true }).catch((error: unknown) => {
      throw fileSystemError(error, { what: 'audit file', path: file, action: 'cannot be created' });
    });
    const lock = await acquireLockFile(file, { what: 'audit file', hint: 'one process, one sink per file' });
    let handle: FileHandle | undefined;
    try {
      handle = await open(file, 'a+', 0o600).catch((error: unknown) => {
        throw fileSystemError(error, { what: 'audit file', path: file });
      });
      // Only its reads and writes become file system errors: a line that does not parse is CONFIG_INVALID.
      const { seq, hash, size } = await readChainHead(handle, file);
      if (seq === 0) await syncDirectory(dirname(file));
      return new AuditFileSink(file, handle, lock, { seq, hash }, size, options);
    } catch (error) {
      await handle?.close();
      lock.release();
      throw error;
    }
  }

  /**
   * The seq and hash of the last record written to the file: always true to the file (a record still
   * queued, or lost to a failed write, is not counted). After `await flush()` it is the chain's end.
   */
  head(): AuditChainHead {
    return this.#written;
  }

  /** Whether events are being recorded: false from a failed write until the gap is recorded. */
  get available(): boolean {
    return this.#failure === undefined;
  }

  /**
   * Throws AUDIT_UNAVAILABLE while events cannot be recorded (and tries to write again, at most every
   * `retryIntervalMs`): the check `audit.failClosed` makes before each key operation.
   *
   * @throws AUDIT_UNAVAILABLE naming the file, the platform code and the events lost so far
   * @example
   * ```ts
   * sink.check(); // before an operation that must not run unaudited
   * ```
   */
  check(): void {
    if (this.#failure === undefined) return;
    this.#attemptRecovery();
    throw this.#unavailable();
  }

  /**
   * Chains an event (any JSON object: a core audit event, a keyring event) and queues its line. While
   * writes fail the event is counted as lost (and recorded in the gap event once writing works again).
   *
   * @throws CLOSED after close; AUDIT_UNAVAILABLE while writes fail; INVALID_INPUT for a value that is
   * not a JSON object, or nests deeper than 63 levels (nothing is chained or counted then)
   */
  append(event: object): AuditRecord {
    if (this.#closing) throw new KeyswitchError('CLOSED', `audit file ${this.path} is closed`);
    let plain: unknown;
    try {
      plain = JSON.parse(JSON.stringify(event));
    } catch (error) {
      throw new KeyswitchError('INVALID_INPUT', 'an audit event must be serialisable as JSON', {
        cause: error,
      });
    }
    if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
      throw new KeyswitchError('INVALID_INPUT', 'an audit event must be a JSON object');
    }
    const time = eventTime(plain);
    if (this.#failure !== undefined) {
      this.#countLost(1, time, time);
      this.#attemptRecovery();
      throw this.#unavailable();
    }
    const record = this.#chain(plain as Record<string, unknown>, time);
    this.#writing ??= this.#drain();
    return record;
  }

  /**
   * Resolves when the listener's last event is written (under `fsync: 'always'`, on disk; otherwise
   * handed to the operating system), without waiting for events after it. Rejects with AUDIT_UNAVAILABLE
   * when that event was not, or will not be, recorded: writes were failing when it arrived, or the write
   * that held it failed. What `audit.failClosed` makes each key operation await, right after its event,
   * before it returns its result.
   *
   * @example
   * ```ts
   * sink.listener(event);
   * await sink.recorded(); // the event is in the file
   * ```
   */
  recorded(): Promise<void> {
    if (this.#refused !== undefined) return Promise.reject(this.#refused);
    if (this.#failure === undefined && this.#written.seq >= this.#seq) return Promise.resolve();
    const seq = this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiters.push({ seq, resolve, reject });
    });
  }

  /**
   * Resolves when every event appended so far is written (and, under `fsync: 'always'`, on disk).
   *
   * @throws AUDIT_UNAVAILABLE while writes fail
   */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#failure !== undefined) throw this.#unavailable();
  }

  /**
   * Writes what is queued (and a pending gap record, if the disk allows), syncs, closes the file and
   * releases the lock. Idempotent.
   *
   * @throws AUDIT_UNAVAILABLE when events were lost and the gap could not be recorded
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        while (this.#writing) await this.#writing;
        if (this.#failure !== undefined) {
          this.#lastAttempt = Number.NEGATIVE_INFINITY;
          this.#attemptRecovery();
          while (this.#writing) await this.#writing;
        }
        if (this.#failure === undefined) await this.#handle.datasync();
      } finally {
        await this.#handle.close();
        this.#lock.release();
      }
      if (this.#failure !== undefined) throw this.#unavailable();
    })();
    return this.#closing;
  }

  /** @throws INVALID_INPUT, before anything changes, when the event nests too deep to canonicalize */
  #chain(event: Record<string, unknown>, time: string, gap?: Gap): AuditRecord {
    const seq = this.#seq + 1;
    const record: AuditRecord = { seq, prev: this.#hash, event, hash: recordHash(seq, this.#hash, event) };
    this.#seq = seq;
    this.#hash = record.hash;
    this.#queue.push({ text: `${formatRecordLine(record)}\n`, seq, hash: record.hash, time, gap });
    return record;
  }

  #countLost(count: number, from: string, to: string, code = errorCode(this.#failure)): void {
    if (count === 0) return;
    if (this.#gap) {
      this.#gap.lost += count;
      if (from < this.#gap.from) this.#gap.from = from;
      if (to > this.#gap.to) this.#gap.to = to;
    } else {
      this.#gap = { lost: count, from, to, errorCode: code };
    }
  }

  /**
   * Takes the losses counted so far out of `#gap` and chains their gap record: losses from now on start
   * a new gap, so none is counted in a record already serialized.
   */
  #chainGap(): Gap | undefined {
    const gap = this.#gap;
    if (!gap) return undefined;
    this.#gap = undefined;
    const time = new Date().toISOString();
    const event: AuditGapEvent = {
      type: 'audit-gap',
      time,
      lostEvents: gap.lost,
      from: gap.from,
      to: gap.to,
      errorCode: gap.errorCode,
    };
    this.#chain({ ...event }, time, gap);
    return gap;
  }

  #unavailable(): KeyswitchError {
    return new KeyswitchError(
      'AUDIT_UNAVAILABLE',
      `audit file ${this.path} cannot be written (${errorCode(this.#failure)}); ${this.#gap?.lost ?? 0} event${this.#gap?.lost === 1 ? '' : 's'} not recorded so far`,
      { cause: this.#failure },
    );
  }

  /** After a failure: when due, cut the file back to its last whole record and write the gap record. */
  #attemptRecovery(): void {
    if (this.#writing || Date.now() - this.#lastAttempt < this.#retryIntervalMs) return;
    this.#lastAttempt = Date.now();
    this.#writing = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      if (this.#failure !== undefined) {
        // Recovering: the gap record goes first, alone; until it is written, nothing else is accepted.
        await this.#handle.truncate(this.#writtenBytes);
        const gap = this.#chainGap();
        await this.#writeQueued(true);
        // Events lost while that record was written get a gap record of their own, chained (in this
        // same synchronous step) before any event that arrives once writing is open again.
        const late = this.#chainGap();
        const recovered = this.#failure;
        this.#failure = undefined;
        const lost = (gap?.lost ?? 0) + (late?.lost ?? 0);
        this.#report(
          new Error(
            `writing again after ${errorCode(recovered)}; ${lost > 0 ? `${lost} lost event${lost === 1 ? '' : 's'} recorded as a gap` : 'no event was lost'}`,
          ),
        );
      }
      while (this.#queue.length > 0) await this.#writeQueued(false);
    } catch (error) {
      await this.#fail(error);
    } finally {
      this.#writing = undefined;
    }
  }

  /** Writes every queued line in one batch (group commit); on success the file's end moves to them. */
  async #writeQueued(forceSync: boolean): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    try {
      const bytes = Buffer.from(batch.map((line) => line.text).join(''), 'utf8');
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await this.#handle.write(bytes, written, bytes.length - written);
        written += bytesWritten;
      }
      if (
        forceSync ||
        this.#fsync === 'always' ||
        (this.#fsync === 'interval' && Date.now() - this.#lastSync >= this.#intervalMs)
      ) {
        await this.#handle.datasync();
        this.#lastSync = Date.now();
      }
      const last = batch.at(-1)!;
      this.#written = { seq: last.seq, hash: last.hash };
      this.#writtenBytes += bytes.length;
      if (this.#waiters.length > 0) this.#settleWritten(last.seq);
    } catch (error) {
      // Nothing of this batch counts as written: put it back so #fail counts it as lost.
      this.#queue = [...batch, ...this.#queue];
      throw error;
    }
  }

  /** A write failed: everything not written is lost; the chain goes back to the file's last record. */
  async #fail(error: unknown): Promise<void> {
    const first = this.#failure === undefined;
    this.#failure ??= error instanceof Error ? error : new Error(String(error));
    for (const line of this.#queue) {
      // A lost gap record's losses go back into the gap; they are recorded with the next one.
      if (line.gap) this.#countLost(line.gap.lost, line.gap.from, line.gap.to, line.gap.errorCode);
      else this.#countLost(1, line.time, line.time);
    }
    this.#queue = [];
    this.#seq = this.#written.seq;
    this.#hash = this.#written.hash;
    // Every operation still waiting had its record in the lost lines.
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#unavailable());
    if (first) this.#report(this.#failure);
    // A torn line is cut off now if the file system lets us, and again before the next attempt.
    await this.#handle.truncate(this.#writtenBytes).catch(() => undefined);
  }

  /** Resolves the operations whose records are now written (waiters are in seq order). */
  #settleWritten(seq: number): void {
    let done = 0;
    while (done < this.#waiters.length && this.#waiters[done]!.seq <= seq) done++;
    for (const waiter of this.#waiters.splice(0, done)) waiter.resolve();
  }

  #report(error: Error): void {
    try {
      this.#onError(error);
    } catch {
      // A throwing handler must not break the sink.
    }
  }
}

function eventTime(event: object): string {
  const time = (event as { time?: unknown }).time;
  return typeof time === 'string' && !Number.isNaN(Date.parse(time))
    ? new Date(time).toISOString()
    : new Date().toISOString();
}

function errorCode(error: Error | undefined): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'error';
}

async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Not every platform can sync a directory; the file itself is synced on write.
  } finally {
    await handle?.close();
  }
}
