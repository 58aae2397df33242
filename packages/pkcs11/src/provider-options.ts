import { type KeyProviderOptions, KeyswitchError, Secret } from '@keyswitch/core';
import type { TokenSelector } from './lib/token.js';
import { PKCS11_PROFILES, type Pkcs11ProfileName } from './profiles.js';

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
  /** How long an operation may wait for a session or for the token, in ms (default 30000). */
  readonly operationTimeoutMs?: number;
  /** The directory a relative module path is resolved against (default the working directory). */
  readonly baseDir?: string;
  /**
   * Where cryptographic calls run: `async` (*Init on the main thread, the call on the libuv pool through
   * pkcs11js's asynchronous functions; best when *Init is cheap, as on SoftHSM2) or `worker` (*Init and the
   * call together on worker threads; for tokens whose *Init is slow, as NSS softokn's with RSA keys).
   * Default: the profile's.
   */
  readonly execution?: 'async' | 'worker';
  /** Worker threads for `execution: 'worker'` (default 2 to 4, by CPU count). */
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
 * Checks a provider's options and returns the profile name they select.
 *
 * @throws CONFIG_INVALID naming the option
 * @example
 * ```ts
 * const profile = pkcs11Profile(checkOptions(options));
 * ```
 */
export function checkOptions(options: Pkcs11ProviderOptions): Pkcs11ProfileName {
  const problem = (path: string, detail: string) => new KeyswitchError('CONFIG_INVALID', detail, { path });
  if (typeof options?.module !== 'string' || options.module === '')
    throw problem('module', 'expected the path of the PKCS#11 module');
  const profile = options.profile ?? 'generic';
  if (!PKCS11_PROFILES.includes(profile))
    throw problem('profile', `expected one of ${PKCS11_PROFILES.join(', ')}`);
  const token = options.token as Record<string, unknown> | undefined;
  const validToken =
    typeof token === 'object' &&
    token !== null &&
    Object.keys(token).length === 1 &&
    ((typeof token.label === 'string' && token.label !== '') ||
      (typeof token.serial === 'string' && token.serial !== '') ||
      (typeof token.slot === 'number' && Number.isInteger(token.slot) && token.slot >= 0));
  if (!validToken) throw problem('token', 'expected { label }, { serial } or { slot }');
  if (!(options.pin instanceof Secret) && (typeof options.pin !== 'string' || options.pin === '')) {
    throw problem('pin', 'expected the PIN (a string or a Secret)');
  }
  const sessions = options.sessions ?? 8;
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 1024)
    throw problem('sessions', 'expected 1 to 1024 sessions');
  const timeout = options.operationTimeoutMs ?? 30_000;
  if (!Number.isInteger(timeout) || timeout < 100)
    throw problem('operationTimeoutMs', 'expected at least 100 ms');
  if (options.execution !== undefined && options.execution !== 'async' && options.execution !== 'worker') {
    throw problem('execution', 'expected "async" or "worker"');
  }
  const threads = options.workerThreads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64)) {
    throw problem('workerThreads', 'expected 1 to 64 worker threads');
  }
  return profile;
}
