import { ckrName, isSessionLost, isStaleHandle, pkcs11Error } from './ckr.js';
import { assertTokenPresent, lookupKey } from './key-lookup.js';
import { KeyReferences } from './key-references.js';
import type { ResolvedKey } from './resolved-key.js';
import type { PooledSession } from './session-pool.js';
import type { TokenContext } from './token-context.js';

const MAX_CACHED_KEYS = 10_000;

/**
 * Runs a provider's work on pooled sessions: rebuilds a session the token lost and retries idempotent
 * work once, looks keys up (caching what a reference resolved to) and maps PKCS#11 errors.
 *
 * @example
 * ```ts
 * const runner = new SessionRunner(context);
 * const signature = await runner.withKey(ref, 'sign', (session, key) => crypto.call(session, key, key.primary, call));
 * ```
 */
export class SessionRunner {
  readonly #context: TokenContext;
  readonly #keys = new Map<string, ResolvedKey>();
  readonly #references = new KeyReferences();

  constructor(context: TokenContext) {
    this.#context = context;
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
    const pool = this.#context.pool;
    for (let attempt = 0; ; attempt += 1) {
      const session = await pool.acquire();
      try {
        return await body(session);
      } catch (error) {
        // A session that lost its login shows it in odd ways (stale private handles on SoftHSM2,
        // CKR_HOST_MEMORY on NSS): ask the session before deciding what the error means.
        if (
          attempt === 0 &&
          (sessionNeedsRebuild(error) || (ckrName(error) !== undefined && !pool.isLoggedIn(session)))
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
          assertTokenPresent(this.#context, mapped);
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
    return this.withSession(
      what,
      async (session) => {
        let key = this.#keys.get(ref);
        if (fresh || key === undefined || key.generation !== this.#context.pool.generation) {
          await this.searchable();
          key = lookupKey(this.#context, session, uri, ref);
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
   * Waits, where the profile says searching races key generation (SoftHSM2), until no key is being
   * generated; the caller then searches synchronously, so no generation can start in between.
   */
  async searchable(): Promise<void> {
    if (!this.#context.profile.searchRacesCreation) return;
    const module = this.#context.module;
    while (module.generating) await module.noCreations();
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
