/**
 * One version of a logical key: a backend key, named either by provider and reference or by a logical
 * key of the keyswitch configuration.
 */
export interface KeyVersionConfig {
  /** Stored in every envelope and versioned token: 1 to 64 letters, digits and `._-`. Never reuse one. */
  readonly id: string;
  /** The provider's name in the keyswitch configuration (with `ref`). */
  readonly provider?: string;
  /** The provider-native key reference (with `provider`). */
  readonly ref?: string;
  /** Or: a key of the keyswitch configuration, whose provider and reference this version uses. */
  readonly key?: string;
  /** When the version came into use (ISO 8601): the start of its cryptoperiod. Default: the backend key's creation date. */
  readonly createdAt?: string;
  /** This version's cryptoperiod in days; overrides the logical key's. */
  readonly cryptoperiodDays?: number;
}

/** A logical key with versions. */
export interface VersionedKeyConfig {
  /** Every version that may still hold data, oldest first. */
  readonly versions: readonly KeyVersionConfig[];
  /** The version new data uses; default the last. The others only decrypt and verify (PCI DSS 3.7.5). */
  readonly active?: string;
  /** The cryptoperiod of each version in days (PCI DSS 3.6.4, 3.7.4); none by default. */
  readonly cryptoperiodDays?: number;
  /**
   * What happens when the active version's cryptoperiod has ended: `error` (default) refuses new data with
   * KEY_DISABLED; `warn` goes on and reports a `cryptoperiod-expired` event.
   */
  readonly cryptoperiodEnforcement?: 'error' | 'warn';
  /** How many days before the end a `cryptoperiod-ending` event is reported (default 30). */
  readonly warnBeforeDays?: number;
  /** Free text for the inventory. */
  readonly description?: string;
}

/** The key versions section: logical key name → versions. */
export type KeyVersionsConfig = Readonly<Record<string, VersionedKeyConfig>>;
