import type { Pkcs11Profile } from '../profiles.js';
import type { Pkcs11Library } from './shared-module.js';
import type { FoundToken } from './token.js';

/**
 * What the code that calls PKCS#11 (on a worker thread) knows about the token it works on: the library,
 * the token, the profile whose quirks apply, and the session pool's generation (recorded in the keys it
 * resolves, so that the provider can tell stale object handles).
 *
 * @example
 * ```ts
 * const context: TokenContext = { library, token, profile: pkcs11Profile('softhsm'), generation: 0 };
 * ```
 */
export interface TokenContext {
  readonly library: Pkcs11Library;
  readonly token: FoundToken;
  readonly profile: Pkcs11Profile;
  readonly generation: number;
}
