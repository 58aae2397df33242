import { type KeyProviderOptions, parseWithSchema, type Secret } from '@keyswitch/core';
import { type Pkcs11CheckedOptions, pkcs11OptionsSchema } from './config.js';
import type { TokenSelector } from './lib/token.js';
import type { Pkcs11ProfileName } from './profiles.js';

/**
 * How to open a {@link Pkcs11Provider}.
 *
 * @example
 * ```ts
 * const options: Pkcs11ProviderOptions = {
 *   module: '/usr/lib/softhsm/libsofthsm2.so', profile: 'softhsm', token: { label: 'keyswitch' }, pin,
 * };
 * ```
 */
export interface Pkcs11ProviderOptions extends KeyProviderOptions {
  /** Path of the PKCS#11 module (absolute, or relative to `baseDir`). */
  readonly module: string;
  /** The token family whose quirks apply (default `generic`). */
  readonly profile?: Pkcs11ProfileName;
  /** Which token: by label, serial number or slot id. */
  readonly token: TokenSelector;
  /** The normal user's PIN (AWS CloudHSM: `crypto-user:password`). */
  readonly pin: string | Secret;
  /** Sessions in the pool: the most operations in flight at once (default 8). */
  readonly sessions?: number;
  /** C_Initialize library parameters, as the module should read them (NSS: `configdir='sql:DIR' …`). */
  readonly libraryParameters?: string;
  /**
   * How long an operation may wait for a session or for the token, in ms (default 30000); a key
   * generation is given four times as long.
   */
  readonly operationTimeoutMs?: number;
  /** The directory a relative module path is resolved against (default the working directory). */
  readonly baseDir?: string;
  /**
   * Accepted and ignored: every PKCS#11 call runs on worker threads, whatever this says.
   *
   * @deprecated no PKCS#11 function runs on the main thread any more, so there is nothing to choose
   */
  readonly execution?: 'async' | 'worker';
  /** Worker threads that run the PKCS#11 calls (default 2 to 4, by CPU count). */
  readonly workerThreads?: number;
}

/**
 * The token a provider is bound to.
 *
 * @example
 * ```ts
 * const { label, serial } = provider.token;
 * ```
 */
export interface Pkcs11TokenInfo {
  readonly label: string;
  readonly serial: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly slotId: number;
  /** The slot handle, as pkcs11js represents it. */
  readonly slot: Buffer;
}

/**
 * Checks a provider's options with the schema configuration sections use, and applies the defaults.
 *
 * @throws CONFIG_INVALID naming the option
 * @example
 * ```ts
 * const checked = checkOptions(options);
 * const profile = pkcs11Profile(checked.profile);
 * ```
 */
export function checkOptions(options: Pkcs11ProviderOptions): Pkcs11CheckedOptions {
  return parseWithSchema(pkcs11OptionsSchema, options, '');
}
