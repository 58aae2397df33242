import type { Keyswitch } from '@keyswitch/core';
import { invalidInput } from '@keyswitch/core';
import type { BackendCounter } from './backend-counter.js';
import type { DataKeyCache } from './data-key-cache.js';
import type { KeyPurpose, KeyVersion } from './key-version.js';
import type { LogicalKey } from './logical-key.js';

/** What the package's functions (rewrap, inventory, the handles) reach inside a keyring for. */
export interface KeyringInternals {
  readonly keyswitch: Keyswitch;
  readonly counter: BackendCounter;
  readonly cache: DataKeyCache | undefined;
  /** The logical key; CONFIG_INVALID when it is not configured. */
  key(name: string): LogicalKey;
  /** The logical key, or `undefined`. */
  findKey(name: string): LogicalKey | undefined;
  /** Every logical key: those with versions, then plain keys of the keyswitch configuration. */
  keys(): LogicalKey[];
  /**
   * The version new data goes under (the active one, or `requested` if it is the active one), after the
   * backend check for `purpose` and the cryptoperiod check.
   *
   * @throws USAGE_MISMATCH for a retired version, KEY_DISABLED past an enforced cryptoperiod
   */
  forNewData(key: LogicalKey, requested: string | undefined, purpose: KeyPurpose): Promise<KeyVersion>;
  /**
   * The versions a new data key is wrapped under (the active one; every member of a multi-keyring), after
   * the checks of {@link KeyringInternals.forNewData}.
   */
  wrappersForNewData(key: LogicalKey, requested: string | undefined): Promise<readonly KeyVersion[]>;
  /**
   * With a cache: KEY_DISABLED once one of `versions` is known disabled (its cached keys dropped).
   * `undefined` when every state is fresh and enabled (the common case: no promise, no backend call).
   */
  assertEnabled(versions: readonly KeyVersion[]): Promise<void> | undefined;
  /**
   * With a cache: whether the versions behind a cached key are still enabled (else their keys are
   * dropped); `true` at once when every state is fresh and enabled.
   */
  ownersEnabled(owners: readonly string[]): Promise<boolean> | true;
  now(): Date;
  /** Whether format 1 envelopes (not key-committing) open: the keyring's commitment policy. */
  readonly opensFormat1: boolean;
  assertOpen(): void;
}

const registry = new WeakMap<object, KeyringInternals>();

/** @internal Registers a keyring's internals. */
export function setInternals(keyring: object, value: KeyringInternals): void {
  registry.set(keyring, value);
}

/** @internal A keyring's internals; INVALID_INPUT for anything that is not a keyring (a caller's mistake). */
export function internalsOf(keyring: object): KeyringInternals {
  const found = typeof keyring === 'object' && keyring !== null ? registry.get(keyring) : undefined;
  if (!found) throw invalidInput(`expected a Keyring made by Keyring.create, got ${typeName(keyring)}`);
  return found;
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? 'an object that is not one' : `a ${typeof value}`;
}
