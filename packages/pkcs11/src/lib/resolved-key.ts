import { type KeySpec, KeyswitchError, type KeyUsage } from '@keyswitch/core';
import { stateAttributes } from './key-attributes.js';
import type { Handle } from './shared-module.js';
import type { StateCheck } from './worker-protocol.js';

/** What a key reference resolved to: a key pair, a public key alone, or a secret key. */
export type KeyKind = 'pair' | 'public' | 'secret';

/**
 * A key's objects on the token and what their attributes say, cached per reference.
 *
 * @example
 * ```ts
 * const handle = key.kind === 'pair' ? key.privateKey : key.primary;
 * ```
 */
export interface ResolvedKey {
  readonly kind: KeyKind;
  /** The private key of a pair, the public key alone, or the secret key. */
  readonly primary: Handle;
  readonly privateKey: Handle | undefined;
  readonly publicKey: Handle | undefined;
  readonly id: Buffer;
  readonly label: string | undefined;
  readonly spec: KeySpec;
  /** The first of `usages`: what the key is reported as. */
  readonly usage: KeyUsage;
  /** Every usage the key's attributes allow (keys made by other tools often allow several). */
  readonly usages: readonly KeyUsage[];
  readonly enabled: boolean;
  readonly publicFlags: ReadonlyMap<number, boolean> | undefined;
  /** For a public key alone: its private half, when the token holds it (it carries the key's state). */
  readonly stateKey: Handle | undefined;
  readonly generation: number;
}

/**
 * What decides whether a key is enabled; a public key alone: its private half's, if the token holds it.
 *
 * @example
 * ```ts
 * const check = stateCheck(key); // undefined: nothing to check
 * ```
 */
export function stateCheck(key: ResolvedKey): StateCheck | undefined {
  const handle = key.kind === 'public' ? key.stateKey : key.primary;
  return handle === undefined ? undefined : { handle, attributes: stateAttributes(key.spec) };
}

/**
 * The private key of a pair.
 *
 * @throws USAGE_MISMATCH when the reference names a public key alone
 * @example
 * ```ts
 * const privateKey = requirePrivate(key, 'signing');
 * ```
 */
export function requirePrivate(key: ResolvedKey, what: string): Handle {
  if (key.privateKey === undefined) {
    throw new KeyswitchError(
      'USAGE_MISMATCH',
      `the reference names a public key alone; ${what} needs the private key (type=private)`,
    );
  }
  return key.privateKey;
}

/**
 * The object a public-key operation uses: the public key of a pair or alone, or the secret key.
 *
 * @throws KEY_NOT_FOUND when the token holds no public-key object for a pair
 * @example
 * ```ts
 * const publicKey = requirePublic(key);
 * ```
 */
export function requirePublic(key: ResolvedKey): Handle {
  if (key.kind === 'secret') return key.primary;
  if (key.publicKey === undefined) throw noPublicObject();
  return key.publicKey;
}

/**
 * The error for a key pair whose public half the token does not hold: KEY_NOT_FOUND, since the object the
 * operation needs is missing (the private half alone still signs and decrypts). Once the public half is
 * written the same call succeeds: the key is looked up again when its cached entry lacks that half.
 *
 * @example
 * ```ts
 * if (key.publicKey === undefined) throw noPublicObject();
 * ```
 */
export function noPublicObject(): KeyswitchError {
  return new KeyswitchError(
    'KEY_NOT_FOUND',
    'the token holds no public-key object for this key (same CKA_ID or label), so its public key cannot be used',
  );
}
