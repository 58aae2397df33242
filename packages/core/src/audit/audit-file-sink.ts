import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KeyswitchError } from '../errors.js';
import { fileSystemError } from '../lib/file-system-error.js';
import { acquireLockFile, type LockFile } from '../lib/lock-file.js';
import type { AuditListener } from './events.js';
import { type AuditRecord, formatRecordLine, recordHash } from './lib/audit-record.js';
import { readChainHead } from './lib/read-chain-head.js';

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
  /** Told when a write fails; the sink then refuses further events. Default: a process warning. */
  readonly onError?: (error: Error) => void;
}

/** The chain's end: the seq and hash of the last record. Keep a copy elsewhere to detect a cut-off tail. */
export interface AuditChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * A tamper-evident audit trail (PCI DSS 10.3.4): audit events as hash-chained JSON lines, one record per
 * line, `{"seq":n,"prev":"…","event":{…},"hash":"…"}`, where `hash` is the SHA-256 of the canonical JSON of
 * `{event, prev, seq}` and `prev` is the previous line's hash. Appends from one process (a lock file keeps
 * out a second sink); reopening continues the chain. Events are chained synchronously in the order they
 * arrive and written in the background. Check a file with {@link verifyAuditFile}.
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
  /** An audit listener to subscribe: `ks.onAudit(sink.listener)`. */
  readonly listener: AuditListener;
  readonly #handle: FileHandle;
  readonly #lock: LockFile;
  readonly #fsync: 'always' | 'interval' | 'never';
  readonly #intervalMs: number;
  readonly #onError: (error: Error) => void;
  #seq: number;
  #hash: string;
  #queue: string[] = [];
  #writing: Promise<void> | undefined;
  #lastSync = 0;
  #failure: Error | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    path: string,
    handle: FileHandle,
    lock: LockFile,
    head: AuditChainHead,
    options: AuditFileSinkOptions,
  ) {
    this.path = path;
    this.#handle = handle;
    this.#lock = lock;
    this.#seq = head.seq;
    this.#hash = head.hash;
    this.#fsync = options.fsync ?? 'always';
    this.#intervalMs = options.fsyncIntervalMs ?? 1000;
    this.#onError =
      options.onError ??
      ((error) =>
        process.emitWarning(`[keyswitch] audit file ${path}: ${error.message}`, 'KeyswitchAuditWarning'));
    this.listener = (event) => this.append(event);
  }

  /**
   * Opens (creating it and its directory if needed) an audit file for appending and reads the chain's
   * head from its last line.
   *
   * @throws LOCKED when another sink holds the file; CONFIG_INVALID when its last line is not a valid record
   */
  static async open(path: string, options: AuditFileSinkOptions = {}): Promise<AuditFileSink> {
    const file = resolve(path);
    if (!['always', 'interval', 'never', undefined].includes(options.fsync)) {
      throw new KeyswitchError('INVALID_INPUT', 'fsync must be "always", "interval" or "never"');
    }
    await mkdir(dirname(file), { recursive: true }).catch((error: unknown) => {
      throw fileSystemError(error, { what: 'audit file', path: file, action: 'cannot be created' });
    });
    const lock = await acquireLockFile(file, { what: 'audit file', hint: 'one process, one sink per file' });
    let handle: FileHandle | undefined;
    try {
      handle = await open(file, 'a+', 0o600).catch((error: unknown) => {
        throw fileSystemError(error, { what: 'audit file', path: file });
      });
      const head = await readChainHead(handle, file).catch((error: unknown) => {
        throw fileSystemError(error, { what: 'audit file', path: file, action: 'cannot be read' });
      });
      if (head.seq === 0) await syncDirectory(dirname(file));
      return new AuditFileSink(file, handle, lock, head, options);
    } catch (error) {
      await handle?.close();
      lock.release();
      throw error;
    }
  }

  /** The seq and hash of the last record appended (written or still queued). */
  head(): AuditChainHead {
    return { seq: this.#seq, hash: this.#hash };
  }

  /**
   * Chains an event (any JSON object: a core audit event, a keyring event) and queues its line.
   *
   * @throws CLOSED after close; INTERNAL after a failed write; INVALID_INPUT for a value that is not a
   * JSON object
   */
  append(event: object): AuditRecord {
    if (this.#closing) throw new KeyswitchError('CLOSED', `audit file ${this.path} is closed`);
    if (this.#failure) {
      throw new KeyswitchError('INTERNAL', `audit file ${this.path} failed to write`, {
        cause: this.#failure,
      });
    }
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
    const seq = this.#seq + 1;
    const record: AuditRecord = {
      seq,
      prev: this.#hash,
      event: plain as Record<string, unknown>,
      hash: recordHash(seq, this.#hash, plain),
    };
    this.#seq = seq;
    this.#hash = record.hash;
    this.#queue.push(`${formatRecordLine(record)}\n`);
    this.#writing ??= this.#drain();
    return record;
  }

  /**
   * Resolves when every event appended so far is written (and, under `fsync: 'always'`, on disk).
   *
   * @throws INTERNAL when a write failed
   */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#failure) {
      throw new KeyswitchError('INTERNAL', `audit file ${this.path} failed to write`, {
        cause: this.#failure,
      });
    }
  }

  /** Writes what is queued, syncs, closes the file and releases the lock. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        while (this.#writing) await this.#writing;
        if (!this.#failure) await this.#handle.datasync();
      } finally {
        await this.#handle.close();
        this.#lock.release();
      }
      if (this.#failure) {
        throw new KeyswitchError('INTERNAL', `audit file ${this.path} failed to write`, {
          cause: this.#failure,
        });
      }
    })();
    return this.#closing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#failure) {
        const batch = Buffer.from(this.#queue.join(''), 'utf8');
        this.#queue = [];
        let written = 0;
        while (written < batch.length) {
          const { bytesWritten } = await this.#handle.write(batch, written, batch.length - written);
          written += bytesWritten;
        }
        if (
          this.#fsync === 'always' ||
          (this.#fsync === 'interval' && Date.now() - this.#lastSync >= this.#intervalMs)
        ) {
          await this.#handle.datasync();
          this.#lastSync = Date.now();
        }
      }
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      this.#queue = [];
      try {
        this.#onError(this.#failure);
      } catch {
        // The error is kept and reported by flush() and close().
      }
    } finally {
      this.#writing = undefined;
    }
  }
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
