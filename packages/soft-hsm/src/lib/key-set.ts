import { KeyswitchError, withArticle } from '@keyswitch/core';
import type { AsymmetricMaterial, SecretMaterial } from './key-material.js';
import type { KeyRecord } from './key-record.js';

/**
 * The KEY_NOT_FOUND error for a reference no key in the software HSM has.
 *
 * @example
 * ```ts
 * if (lookUp(keys, labels, ref) === undefined) throw notFound();
 * ```
 */
export function notFound(): KeyswitchError {
  return new KeyswitchError('KEY_NOT_FOUND', 'no such key in the software HSM');
}

/**
 * The KEY_DISABLED error for a key that is disabled or pending deletion, saying which.
 *
 * @example
 * ```ts
 * if (record.state !== 'ENABLED') throw notUsable(record);
 * ```
 */
export function notUsable(record: KeyRecord): KeyswitchError {
  return record.state === 'DISABLED'
    ? new KeyswitchError('KEY_DISABLED', 'the key is disabled')
    : new KeyswitchError(
        'KEY_DISABLED',
        `the key is pending deletion (to be destroyed ${record.deletionDate?.toISOString()}); cancel the deletion to use it`,
      );
}

/**
 * The record `ref` names (its label or its id) in a key set.
 *
 * @example
 * ```ts
 * const record = lookUp(keys, labelIndex(keys), 'acs-signing');
 * ```
 */
export function lookUp(
  keys: ReadonlyMap<string, KeyRecord>,
  labels: ReadonlyMap<string, string>,
  ref: string,
) {
  return keys.get(labels.get(ref) ?? ref);
}

/**
 * The ids of a key set's records by label.
 *
 * @example
 * ```ts
 * const labels = labelIndex(keys); // Map { 'acs-signing' => '6f1c…' }
 * ```
 */
export function labelIndex(keys: ReadonlyMap<string, KeyRecord>): Map<string, string> {
  const labels = new Map<string, string>();
  for (const record of keys.values()) if (record.label !== undefined) labels.set(record.label, record.id);
  return labels;
}

/**
 * A copy of `record` in `state`, without any deletion date.
 *
 * @example
 * ```ts
 * keys.set(record.id, withState(record, 'DISABLED'));
 * ```
 */
export function withState(record: KeyRecord, state: 'ENABLED' | 'DISABLED'): KeyRecord {
  const { deletionDate, ...rest } = record;
  void deletionDate;
  return { ...rest, state };
}

/**
 * A record's key pair.
 *
 * @throws USAGE_MISMATCH for a secret key
 *
 * @example
 * ```ts
 * const { privateKey } = asymmetric(record);
 * ```
 */
export function asymmetric(record: KeyRecord): AsymmetricMaterial {
  if (record.material.kind !== 'asymmetric') {
    throw new KeyswitchError('USAGE_MISMATCH', `${withArticle(record.spec)} key has no key pair`);
  }
  return record.material;
}

/**
 * A record's secret key.
 *
 * @throws USAGE_MISMATCH for a key pair
 *
 * @example
 * ```ts
 * const material = secret(record);
 * ```
 */
export function secret(record: KeyRecord): SecretMaterial {
  if (record.material.kind !== 'secret') {
    throw new KeyswitchError('USAGE_MISMATCH', `${withArticle(record.spec)} key is not a secret key`);
  }
  return record.material;
}
