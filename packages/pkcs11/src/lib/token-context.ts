import type { Pkcs11Profile } from '../profiles.js';
import type { SessionPool } from './session-pool.js';
import type { Pkcs11Library, SharedModule } from './shared-module.js';
import type { FoundToken } from './token.js';

/**
 * What the provider's parts share about the token they work on: the module, its library, the token, the
 * session pool and the profile whose quirks apply.
 *
 * @example
 * ```ts
 * const context: TokenContext = { module, library: module.library, token, pool, profile };
 * ```
 */
export interface TokenContext {
  readonly module: SharedModule;
  readonly library: Pkcs11Library;
  readonly token: FoundToken;
  readonly pool: SessionPool;
  readonly profile: Pkcs11Profile;
}
