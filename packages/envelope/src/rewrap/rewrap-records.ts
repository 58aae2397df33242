import { type EncryptionContext, isKeyswitchError, KeyswitchError } from '@keyswitch/core';
import type { Keyring } from '../keyring.js';
import { type RewrapMemo, type RewrapOptions, rewrapWith } from './rewrap.js';

/** One stored record to re-wrap. */
export interface RewrapRecord<Id = unknown> {
  /** Your record's identifier, passed through to the result. */
  readonly id?: Id;
  readonly envelope: Uint8Array | string;
  /** The record's encryption context; optional when its envelope stores it. */
  readonly context?: EncryptionContext;
}

/** What happened to one record. */
export interface RewrapRecordResult<Id = unknown> {
  readonly id: Id | undefined;
  /** `rewrapped`: store `envelope`; `unchanged`: already current; `failed`: see `error` (only with `continueOnError`). */
  readonly status: 'rewrapped' | 'unchanged' | 'failed';
  /** The envelope to store, in the form it was given (the input itself unless rewrapped). */
  readonly envelope: Uint8Array | string;
  readonly keyName?: string;
  readonly fromVersion?: string;
  readonly toVersion?: string;
  readonly error?: KeyswitchError;
}

/** Running totals, passed to `onProgress`. */
export interface RewrapProgress {
  readonly processed: number;
  readonly rewrapped: number;
  readonly unchanged: number;
  readonly failed: number;
}

/** Options for {@link rewrapRecords}. */
export interface RewrapRecordsOptions extends Pick<RewrapOptions, 'verify'> {
  /** Called after each record with the totals so far. */
  readonly onProgress?: (progress: RewrapProgress) => void;
  /** Records in flight at once (default 4); results still come in input order. */
  readonly concurrency?: number;
  /** Report a failing record as `failed` and go on (default false: the first failure is thrown). */
  readonly continueOnError?: boolean;
}

/**
 * Re-wraps a stream of stored records (see {@link rewrap}), yielding one result per record in input order,
 * for the caller to write back. Records that share a data key (the cache makes many do) cost one unwrap and
 * one wrap between them. Idempotent: run it again and every record comes back `unchanged`.
 *
 * @throws the first record's error, unless `continueOnError`
 *
 * @example
 * ```ts
 * const rows = db.iterate('SELECT id, pan_envelope AS envelope FROM cards');
 * for await (const result of rewrapRecords(keyring, rows, { onProgress: (p) => log(p) })) {
 *   if (result.status === 'rewrapped') update.run(result.envelope, result.id);
 * }
 * ```
 */
export async function* rewrapRecords<Id>(
  keyring: Keyring,
  records: AsyncIterable<RewrapRecord<Id>> | Iterable<RewrapRecord<Id>>,
  options: RewrapRecordsOptions = {},
): AsyncGenerator<RewrapRecordResult<Id>, RewrapProgress, undefined> {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    throw new KeyswitchError('INVALID_INPUT', 'concurrency must be a whole number from 1 to 256');
  }
  const memo: RewrapMemo = new Map();
  const totals = { processed: 0, rewrapped: 0, unchanged: 0, failed: 0 };
  const window: Promise<RewrapRecordResult<Id>>[] = [];

  const start = (record: RewrapRecord<Id>): Promise<RewrapRecordResult<Id>> => {
    const run = async (): Promise<RewrapRecordResult<Id>> => {
      if (typeof record !== 'object' || record === null) {
        throw new KeyswitchError('INVALID_INPUT', 'each record must be an object with an envelope');
      }
      const result = await rewrapWith(
        keyring,
        record.envelope,
        {
          ...(record.context === undefined ? {} : { context: record.context }),
          ...(options.verify === undefined ? {} : { verify: options.verify }),
        },
        memo,
      );
      return {
        id: record.id,
        status: result.changed ? 'rewrapped' : 'unchanged',
        envelope: result.envelope,
        keyName: result.keyName,
        fromVersion: result.fromVersion,
        toVersion: result.toVersion,
      };
    };
    return run().catch((error: unknown) => {
      if (!options.continueOnError || !isKeyswitchError(error)) throw error;
      return { id: record?.id, status: 'failed', envelope: record?.envelope, error };
    });
  };

  const settle = (result: RewrapRecordResult<Id>): RewrapRecordResult<Id> => {
    totals.processed += 1;
    if (result.status === 'rewrapped') totals.rewrapped += 1;
    else if (result.status === 'unchanged') totals.unchanged += 1;
    else totals.failed += 1;
    options.onProgress?.({ ...totals });
    return result;
  };

  try {
    for await (const record of records) {
      const started = start(record);
      started.catch(() => undefined); // observed when its turn comes
      window.push(started);
      if (window.length >= concurrency) yield settle(await window.shift()!);
    }
    while (window.length > 0) yield settle(await window.shift()!);
  } finally {
    // On an early exit, let work in flight finish so that no backend call outlives the generator.
    await Promise.allSettled(window);
  }
  return { ...totals };
}
