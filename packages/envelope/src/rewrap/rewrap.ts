import { type EncryptionContext, KeyswitchError } from '@keyswitch/core';
import { withWrappedKey } from '../format/envelope-bytes.js';
import { encodeEnvelopeString } from '../format/envelope-string.js';
import { type ParsedEnvelope, parseEnvelope } from '../format/parse-envelope.js';
import type { Keyring } from '../keyring.js';
import { owned } from '../lib/data-key-cache.js';
import { effectiveContext } from '../lib/effective-context.js';
import { invalidEnvelope } from '../lib/invalid-envelope.js';
import type { KeyVersion } from '../lib/key-version.js';
import { internalsOf } from '../lib/keyring-internals.js';
import type { LogicalKey } from '../lib/logical-key.js';
import { openBulk } from '../lib/open-bulk.js';
import { partitionKey } from '../lib/partition-key.js';

/** Options for {@link rewrap}. */
export interface RewrapOptions {
  /** The record's encryption context; optional when the envelope stores it. */
  readonly context?: EncryptionContext;
  /**
   * Also decrypt the bulk ciphertext (locally, no backend call) to check it authenticates before the new
   * envelope is returned, so that a damaged record is reported rather than carried over. Default false.
   */
  readonly verify?: boolean;
}

/** The outcome of re-wrapping one envelope. */
export interface RewrapResult<E extends Uint8Array | string = Uint8Array | string> {
  /** The envelope to store: in the form it was given; the same value when unchanged. */
  readonly envelope: E;
  /** Whether it changed (false when it was already under the active version). */
  readonly changed: boolean;
  readonly keyName: string;
  readonly fromVersion: string;
  readonly toVersion: string;
}

/**
 * Re-wraps an envelope's data key under its logical key's active version — from an older version, or
 * from a version on another backend (KMS ↔ CloudHSM) — without touching the bulk ciphertext: the old
 * version unwraps the data key, the active version wraps it again, and only the header is rewritten.
 * Idempotent: an envelope already under the active version comes back unchanged, with no backend call.
 *
 * @throws INVALID_CIPHERTEXT (malformed or altered envelope, a version not configured, a different
 * context), CONFIG_INVALID (the envelope's key is not configured), KEY_DISABLED (the old version's key
 * is disabled; an enforced cryptoperiod of the active version has ended), UNAVAILABLE, CLOSED
 *
 * @example
 * ```ts
 * const { envelope, changed } = await rewrap(keyring, row.pan_envelope, { context: { table: 'cards' } });
 * if (changed) db.run('UPDATE cards SET pan_envelope = ? WHERE id = ?', envelope, row.id);
 * ```
 */
export async function rewrap<E extends Uint8Array | string>(
  keyring: Keyring,
  envelope: E,
  options: RewrapOptions = {},
): Promise<RewrapResult<E>> {
  return rewrapWith(keyring, envelope, options, undefined);
}

/** A memo of wrapped data keys already re-wrapped in one run: old wrapped bytes → new (never plaintext). */
export type RewrapMemo = Map<string, Promise<Uint8Array>>;

/** @internal {@link rewrap} with a per-run memo, so records sharing a data key cost one unwrap and wrap. */
export async function rewrapWith<E extends Uint8Array | string>(
  keyring: Keyring,
  envelope: E,
  options: RewrapOptions,
  memo: RewrapMemo | undefined,
): Promise<RewrapResult<E>> {
  const internals = internalsOf(keyring);
  internals.assertOpen();
  const parsed = parseEnvelope(envelope);
  const key = internals.findKey(parsed.keyName);
  if (!key) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      'the envelope names this key, which is not in the key versions or the keyswitch configuration',
      { keyName: parsed.keyName, path: `versions.${parsed.keyName}` },
    );
  }
  const from = versionOf(key, parsed);
  const result = { keyName: key.name, fromVersion: from.info.id, toVersion: key.active.info.id };
  const { context, bytes } = effectiveContext(parsed, options.context, key.name);
  const unwrap = async (): Promise<Buffer> => {
    const load = async () => ({ material: await from.unwrap(parsed.wrappedDataKey, context) });
    const partition = partitionKey('decrypt', key.name, from.info.id, bytes, parsed.wrappedDataKey);
    return internals.cache
      ? (await internals.cache.acquire(partition, parsed.ciphertext.length, load)).material
      : owned((await load()).material);
  };
  if (options.verify) {
    const dataKey = await unwrap();
    try {
      openBulk(parsed, dataKey, bytes).fill(0);
    } finally {
      dataKey.fill(0);
    }
  }
  if (from === key.active) return { envelope, changed: false, ...result };

  const target = await internals.forNewData(key, undefined, 'data-keys');
  const memoKey = partitionKey(from.info.id, target.info.id, bytes, parsed.wrappedDataKey);
  let work = memo?.get(memoKey);
  if (!work) {
    work = (async () => {
      const dataKey = await unwrap();
      try {
        return await target.wrap(dataKey, context);
      } finally {
        dataKey.fill(0);
      }
    })();
    if (memo) {
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(memoKey, work);
      const added = work;
      work.catch(() => {
        if (memo.get(memoKey) === added) memo.delete(memoKey);
      });
    }
  }
  const wrapped = await work;
  const rewrapped = withWrappedKey(parsed, parsed.storedContextBytes, target.info.id, wrapped);
  const out = (typeof envelope === 'string' ? encodeEnvelopeString(rewrapped) : rewrapped) as E;
  return { envelope: out, changed: true, ...result, toVersion: target.info.id };
}

/** Most memo entries kept in one run (each is a wrapped data key, a few hundred bytes). */
const MEMO_LIMIT = 100_000;

function versionOf(key: LogicalKey, parsed: ParsedEnvelope): KeyVersion {
  const version = key.version(parsed.keyVersion);
  if (!version) {
    throw invalidEnvelope(
      `the envelope names version "${parsed.keyVersion}", which is not configured (configured: ${key.versionIds().join(', ')})`,
      key.name,
    );
  }
  return version;
}
