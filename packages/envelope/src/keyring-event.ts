import type { CryptoperiodEvent } from '@keyswitch/core';

/**
 * A key lifecycle event from the keyring: audit-style (who and what, never data), so it can go to the same
 * sink as the core's audit events. The same event core's signers and decrypters with versions report.
 */
export type KeyringEvent = CryptoperiodEvent;

/** Receives keyring events. It must not throw. */
export type KeyringEventListener = (event: KeyringEvent) => void;
