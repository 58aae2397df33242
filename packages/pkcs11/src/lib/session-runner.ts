import { KeyswitchError } from '@keyswitch/core';
import type { Pkcs11Profile } from '../profiles.js';
import { ckrName, isSessionLost, isStaleHandle, pkcs11Error } from './ckr.js';
import { KeyReferences } from './key-references.js';
import type { ResolvedKey } from './resolved-key.js';
import type { PooledSession, SessionPool } from './session-pool.js';
import type { SharedModule } from './shared-module.js';
import type { FoundToken } from './token.js';

const MAX_CACHED_KEYS = 10_000;

/**
 * The provider's side of the token: module, session pool, token and profile.
 *
 * @example
 * ```ts
 * const runner = new SessionRunner({ module, pool, token, profile });
 * ```
 */
export interface ProviderParts {
  readonly module: SharedModule;
  readonly pool: SessionPool;
  readonly token: FoundToken;
  readonly profile: Pkcs11Profile;
}

/**
 * Runs a provider's work on pooled sessions: rebuilds a session the token lost and retries idempotent
 * work once, looks keys up (caching what a reference resolved to) and maps PKCS#11 errors.
 *
 * @example
 * ```ts
 * const runner = new SessionRunner(parts);
 * const signature = await runner.withKey(ref, 'sign', (session, key) => crypto.call(session, key, key.primary, call));
 * ```
 */
export class SessionRunner {
  readonly #parts: ProviderParts;
  readonly #keys = new Map<string, ResolvedKey>();
  readonly #references = new KeyReferences();

  constructor(parts: ProviderParts) {
    this.#parts = parts;
  }

  /** Caches what a reference resolved to (a key just created). */
  remember(ref: string, key: ResolvedKey): void {
    this.#keys.set(ref, key);
  }

  /** Drops a cached key (its attributes changed). */
  forget(ref: string): void {
    this.#keys.delete(ref);
  }

  /** Drops every cached key. */
  forgetAll(): void {
    this.#keys.clear();
  }

  /**
   * Runs `body` on a pooled session. A session the token lost is rebuilt and, when `retry` (the operation
   * is idempotent), the body runs once more; a stale object handle is looked up again and retried once.
   */
  async withSession<T>(
    what: string,
    body: (session: PooledSession) => Promise<T>,
    options: { retry?: () => boolean; ref?: string } = {},
  ): Promise<T> {
    const pool = this.#parts.pool;
    for (let attempt = 0; ; attempt += 1) {
      const session = await pool.acquire();
      try {
        return await body(session);
      } catch (error) {
        // A session that lost its login shows it in odd ways (stale private handles on SoftHSM2,
        // CKR_HOST_MEMORY on NSS): ask the session before deciding what the error means.
        if (
          attempt === 0 &&
          (sessionNeedsRebuild(error) || (ckrName(error) !== undefined && !(await pool.isLoggedIn(session))))
        ) {
          pool.invalidate(session);
          this.#keys.clear();
          if (options.retry?.() ?? true) continue;
        } else if (attempt === 0 && options.ref !== undefined && isStaleHandle(error)) {
          this.#keys.delete(options.ref);
          continue;
        }
        const mapped = pkcs11Error(error, callName(error) ?? what);
        if (mapped.code === 'INTERNAL' || mapped.code === 'KEY_NOT_FOUND') {
          await this.#assertTokenPresent(session, mapped);
        }
        throw mapped;
      } finally {
        pool.release(session);
      }
    }
  }

  /** Runs `body` on a pooled session with the key `ref` names (looked up fresh when `fresh`). */
  withKey<T>(
    ref: string,
    what: string,
    body: (session: PooledSession, key: ResolvedKey) => Promise<T>,
    options: { fresh?: boolean } = {},
  ): Promise<T> {
    const uri = this.#references.parse(ref);
    let fresh = options.fresh === true;
    const { pool, token, profile } = this.#parts;
    return this.withSession(
      what,
      async (session) => {
        let key = this.#keys.get(ref);
        if (fresh || key === undefined || key.generation !== pool.generation) {
          const generation = pool.generation;
          key = await this.searching(() =>
            pool.run(session, 'C_FindObjects', {
              kind: 'lookup',
              session: session.handle,
              token,
              profile: profile.name,
              generation,
              uri,
              ref,
            }),
          );
          fresh = false;
          if (this.#keys.size >= MAX_CACHED_KEYS) this.#keys.clear();
          this.#keys.set(ref, key);
        }
        return body(session, key);
      },
      { ref },
    );
  }

  /**
   * Runs a search where the profile says searching races key generation (SoftHSM2) only while no key is
   * being generated in this process.
   */
  searching<T>(body: () => Promise<T>): Promise<T> {
    return this.#parts.profile.searchRacesCreation ? this.#parts.module.searching(body) : body();
  }

  /**
   * Runs a key generation alone where the profile says searching races it (until its native call
   * returns, even when its deadline passed first).
   */
  creating<T>(session: PooledSession, body: () => Promise<T>): Promise<T> {
    const { module, pool, profile } = this.#parts;
    return profile.searchRacesCreation ? module.creating(body, () => pool.stillRunning(session)) : body();
  }

  /**
   * Throws UNAVAILABLE when the token is gone (removed, or its store deleted): keys vanishing and odd
   * failures then mean "cannot reach the token", not "no such key".
   */
  async #assertTokenPresent(session: PooledSession, cause: unknown): Promise<void> {
    const { pool, token } = this.#parts;
    const present = await pool
      .run(session, 'C_GetTokenInfo', { kind: 'tokenPresent', slot: token.slot })
      .catch(() => false);
    if (!present) {
      throw new KeyswitchError('UNAVAILABLE', `token "${token.label}" is no longer present`, { cause });
    }
  }
}

/** Errors after which the session is rebuilt: it is gone, logged out, or left with an operation active. */
function sessionNeedsRebuild(error: unknown): boolean {
  return isSessionLost(error) || ckrName(error) === 'CKR_OPERATION_ACTIVE';
}

function callName(error: unknown): string | undefined {
  const method = (error as { method?: unknown } | undefined)?.method;
  return typeof method === 'string' && method !== '' ? method : undefined;
}
