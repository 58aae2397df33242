import { type KeyProviderOptions, KeyswitchError, type Secret } from '@keyswitch/core';

/**
 * How to open a software HSM.
 *
 * @example
 * ```ts
 * const options: SoftHsmOptions = {
 *   name: 'dev',
 *   keystore: '.keyswitch/dev.keystore',
 *   passphrase: await resolveSecret({ env: 'KEYSTORE_PASSPHRASE' }, { path: 'providers.dev.passphrase' }),
 *   environment: 'development',
 * };
 * const hsm = await SoftHsm.open(options);
 * ```
 */
export interface SoftHsmOptions extends KeyProviderOptions {
  /**
   * The keystore file. Absent: keys live in memory and vanish on close. Present: keys are kept encrypted
   * in this file, which is created (with its directory) on the first open.
   */
  readonly keystore?: string;
  /** The keystore's passphrase (required with `keystore`). A {@link Secret} keeps it out of logs. */
  readonly passphrase?: Secret | string | undefined;
  /** The configuration's environment; `production` is refused. */
  readonly environment?: string;
  /**
   * Open the keystore without taking its lock, for reading and using keys only: creating, importing and
   * every lifecycle change fail with ACCESS_DENIED. The keystore must exist.
   */
  readonly readOnly?: boolean;
  /** The clock for creation and deletion dates (tests move it forward). Defaults to the system clock. */
  readonly clock?: () => Date;
}

/**
 * The passphrase as a string: a {@link Secret} revealed, a string as is.
 *
 * @throws CONFIG_INVALID for anything else
 *
 * @example
 * ```ts
 * const passphrase = revealPassphrase(options.passphrase);
 * ```
 */
export function revealPassphrase(passphrase: Secret | string | undefined): string | undefined {
  if (passphrase === undefined || typeof passphrase === 'string') return passphrase;
  // Duck-typed so that a Secret from another copy of @keyswitch/core (CJS next to ESM) works too.
  if (typeof (passphrase as { reveal?: unknown }).reveal === 'function') return passphrase.reveal();
  throw new KeyswitchError('CONFIG_INVALID', 'passphrase must be a string or a Secret');
}
