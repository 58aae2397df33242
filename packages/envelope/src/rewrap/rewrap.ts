import { createCipheriv, randomBytes } from 'node:crypto';
import { type EncryptionContext, KeyswitchError } from '@keyswitch/core';
import { openingKey } from '../envelope-cipher.js';
import { IV_BYTES, SALT_BYTES, TAG_BYTES, type WrappedDataKey } from '../format/envelope.js';
import {
  additionalData,
  envelopeFlags,
  serializeEnvelope,
  withWrappedKeys,
} from '../format/envelope-bytes.js';
import { encodeEnvelopeString } from '../format/envelope-string.js';
import { type ParsedEnvelope, parseEnvelope } from '../format/parse-envelope.js';
import type { Keyring } from '../keyring.js';
import { effectiveContext } from '../lib/effective-context.js';
import { invalidEnvelope } from '../lib/invalid-envelope.js';
import {
  commitmentMatches,
  commitmentOf,
  deriveKeyAndCommitment,
  encryptionKeyOf,
} from '../lib/key-commitment.js';
import type { KeyVersion } from '../lib/key-version.js';
import { internalsOf } from '../lib/keyring-internals.js';
import type { LogicalKey } from '../lib/logical-key.js';
import { openCommitted, openLegacy } from '../lib/open-bulk.js';
import { partitionKey } from '../lib/partition-key.js';
import { unwrapInOrder, withTimeout } from '../lib/unwrap-in-order.js';

/** Options for {@link rewrap}. */
export interface RewrapOptions {
  /** The record's encryption context; optional when the envelope stores it. */
  readonly context?: EncryptionContext;
  /**
   * Also decrypt the ciphertext (locally, from the cache when it can) to check it authenticates before
   * the new envelope is returned, so that a damaged record is reported rather than carried over. Default
   * false. A format 1 envelope is always decrypted: it is re-encrypted to format 2.
   */
  readonly verify?: boolean;
}

/** The outcome of re-wrapping one envelope. */
export interface RewrapResult<E extends Uint8Array | string = Uint8Array | string> {
  /** The envelope to store: in the form it was given; the same value when unchanged. */
  readonly envelope: E;
  /** Whether it changed (false when it was already format 2 under exactly the wrapping keys configured). */
  readonly changed: boolean;
  readonly keyName: string;
  /** The version (or first multi-keyring member) that wrapped the data key before. */
  readonly fromVersion: string;
  /** The version (or first multi-keyring member) that wraps it now. */
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

/** A memo of what one run already re-wrapped: wrapped data keys and salts by data key (never plaintext). */
export type RewrapMemo = Map<string, Promise<MemoEntry>>;

/** Wrapped copies of one data key made in a run, and the salt a format 1 migration chose for it. */
interface MemoEntry {
  readonly salt?: Uint8Array;
  readonly wrappedKeys: readonly WrappedDataKey[];
}

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
  const result = { keyName: key.name, fromVersion: parsed.keyVersion, toVersion: key.active.info.id };
  const { context, bytes } = effectiveContext(parsed, options.context, key.name);
  const targetIds = key.wrappers.map((wrapper) => wrapper.info.id);
  const current = parsed.wrappedKeys.map((entry) => entry.keyVersion);
  const upToDate =
    parsed.formatVersion === 2 &&
    current.length === targetIds.length &&
    current.every((id, index) => id === targetIds[index]);
  if (options.verify && parsed.formatVersion === 2) {
    const lease = await openingKey(keyring, key, parsed, context, bytes);
    try {
      openCommitted(parsed, lease.material, bytes).fill(0);
    } finally {
      lease.material.fill(0);
    }
  } else if (upToDate || key.unwrapCandidates(parsed.wrappedKeys).length === 0) {
    // Checks that some configured version can open it before anything else: INVALID_CIPHERTEXT if not.
    void versionOf(key, parsed);
  }
  if (upToDate) return { envelope, changed: false, ...result };

  const targets = await internals.wrappersForNewData(key, undefined);
  const rewrapped =
    parsed.formatVersion === 1
      ? await migrateLegacy(keyring, key, parsed, context, bytes, targets, memo)
      : await replaceWrappedKeys(key, parsed, context, bytes, targets, memo);
  const out = (typeof envelope === 'string' ? encodeEnvelopeString(rewrapped) : rewrapped) as E;
  return { envelope: out, changed: true, ...result };
}

/**
 * Format 2 to format 2: keeps the wrapped copies the configuration still wants, adds the missing ones
 * (the data key opened by the first configured version that answers, and checked against the
 * commitment before anything is wrapped), drops the rest. Salt, commitment and ciphertext are unchanged.
 */
async function replaceWrappedKeys(
  key: LogicalKey,
  parsed: ParsedEnvelope,
  context: EncryptionContext | undefined,
  bytes: Uint8Array,
  targets: readonly KeyVersion[],
  memo: RewrapMemo | undefined,
): Promise<Uint8Array> {
  const kept = new Map(parsed.wrappedKeys.map((entry) => [entry.keyVersion, entry.wrappedDataKey]));
  const missing = targets.filter((target) => !kept.has(target.info.id));
  const added = new Map<string, Uint8Array>();
  if (missing.length > 0) {
    const memoKey = partitionKey(
      'add',
      bytes,
      parsed.salt!,
      parsed.commitment!,
      ...missing.map((target) => target.info.id),
    );
    const { wrappedKeys: entries } = await memoised(memo, memoKey, async () => {
      const candidates = key.unwrapCandidates(parsed.wrappedKeys);
      const { version, dataKey } = await unwrapInOrder(key.name, candidates, context, key.timeoutMs);
      try {
        const derived = deriveKeyAndCommitment(dataKey, parsed.salt!, key.name, bytes);
        const matches = commitmentMatches(derived, parsed.commitment!);
        derived.fill(0);
        if (!matches) {
          throw invalidEnvelope(
            `the data key version "${version.info.id}" opened does not match the envelope's key commitment: it is not re-wrapped`,
            key.name,
          );
        }
        return { wrappedKeys: await wrapUnder(missing, dataKey, context, key.timeoutMs) };
      } finally {
        dataKey.fill(0);
      }
    });
    for (const entry of entries) added.set(entry.keyVersion, entry.wrappedDataKey);
  }
  const wrappedKeys = targets.map((target) => ({
    keyVersion: target.info.id,
    wrappedDataKey: kept.get(target.info.id) ?? added.get(target.info.id)!,
  }));
  return withWrappedKeys(parsed, parsed.storedContextBytes, wrappedKeys);
}

/**
 * Format 1 to format 2: the record is decrypted with its data key (from the cache when it can) and
 * encrypted again under that data key's format 2 key schedule, with a salt and wrapped copies shared by
 * every record of the run that shares the data key. A format 1 copy under a version that still wraps is
 * kept; the other wrapping keys wrap the data key anew.
 */
async function migrateLegacy(
  keyring: Keyring,
  key: LogicalKey,
  parsed: ParsedEnvelope,
  context: EncryptionContext | undefined,
  bytes: Uint8Array,
  targets: readonly KeyVersion[],
  memo: RewrapMemo | undefined,
): Promise<Uint8Array> {
  const lease = await openingKey(keyring, key, parsed, context, bytes);
  let plaintext: Uint8Array | undefined;
  let derived: Buffer | undefined;
  try {
    plaintext = openLegacy(parsed, lease.material, bytes);
    const memoKey = partitionKey('migrate', bytes, parsed.keyVersion, parsed.wrappedDataKey);
    const dataKey = lease.material;
    const header = await memoised(memo, memoKey, async () => {
      const reuse = targets.filter((target) => target.info.id === parsed.keyVersion);
      const wrapped = await wrapUnder(
        targets.filter((target) => target.info.id !== parsed.keyVersion),
        dataKey,
        context,
        key.timeoutMs,
      );
      const byId = new Map(wrapped.map((entry) => [entry.keyVersion, entry.wrappedDataKey]));
      for (const target of reuse) byId.set(target.info.id, parsed.wrappedDataKey);
      return {
        salt: randomBytes(SALT_BYTES),
        wrappedKeys: targets.map((target) => ({
          keyVersion: target.info.id,
          wrappedDataKey: byId.get(target.info.id)!,
        })),
      };
    });
    const { wrappedKeys } = header;
    const salt = header.salt!;
    derived = deriveKeyAndCommitment(dataKey, salt, key.name, bytes);
    const commitment = commitmentOf(derived);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', encryptionKeyOf(derived), iv, { authTagLength: TAG_BYTES });
    const stored = parsed.storedContextBytes !== undefined;
    cipher.setAAD(additionalData(key.name, envelopeFlags(stored), bytes, salt, commitment));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return serializeEnvelope({
      keyName: key.name,
      storedContext: parsed.storedContextBytes,
      salt,
      commitment: Buffer.from(commitment),
      wrappedKeys,
      iv,
      ciphertext,
      tag: cipher.getAuthTag(),
    });
  } finally {
    plaintext?.fill(0);
    derived?.fill(0);
    lease.material.fill(0);
  }
}

async function wrapUnder(
  targets: readonly KeyVersion[],
  dataKey: Uint8Array,
  context: EncryptionContext | undefined,
  timeoutMs: number | undefined,
): Promise<WrappedDataKey[]> {
  const copies = await Promise.all(
    targets.map((target) => withTimeout(target.wrap(dataKey, context), timeoutMs, target)),
  );
  return targets.map((target, index) => ({ keyVersion: target.info.id, wrappedDataKey: copies[index]! }));
}

/** Runs `work` once per memo key in a run (its result holds wrapped keys and salts, never a data key). */
function memoised(
  memo: RewrapMemo | undefined,
  memoKey: string,
  work: () => Promise<MemoEntry>,
): Promise<MemoEntry> {
  let pending = memo?.get(memoKey);
  if (pending) return pending;
  pending = work();
  if (memo) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(memoKey, pending);
    const added = pending;
    pending.catch(() => {
      if (memo.get(memoKey) === added) memo.delete(memoKey);
    });
  }
  return pending;
}

/** Most memo entries kept in one run (each is a few wrapped data keys, a few hundred bytes). */
const MEMO_LIMIT = 100_000;

function versionOf(key: LogicalKey, parsed: ParsedEnvelope): KeyVersion {
  const candidate = key.unwrapCandidates(parsed.wrappedKeys)[0];
  if (!candidate) {
    throw invalidEnvelope(
      `the envelope names version "${parsed.keyVersion}", which is not configured (configured: ${key.versionIds().join(', ')})`,
      key.name,
    );
  }
  return candidate.version;
}
