/**
 * A key lifecycle event from the keyring: audit-style (who and what, never data), so it can go to the same
 * sink as the core's audit events.
 */
export interface KeyringEvent {
  /** `cryptoperiod-ending`: the active version's cryptoperiod ends within `warnBeforeDays`;
   * `cryptoperiod-expired`: it has ended (new data is refused under `error`, allowed under `warn`). */
  readonly type: 'cryptoperiod-ending' | 'cryptoperiod-expired';
  /** ISO 8601 time of the event. */
  readonly time: string;
  readonly keyName: string;
  readonly keyVersion: string;
  readonly provider: string;
  readonly keyRef: string;
  /** ISO 8601 end of the cryptoperiod. */
  readonly expiresAt: string;
  readonly enforcement: 'error' | 'warn';
}

/** Receives keyring events. It must not throw. */
export type KeyringEventListener = (event: KeyringEvent) => void;
