import { KeyswitchError } from '@keyswitch/core';
import type { Pkcs11Profile } from '../profiles.js';
import { callName, ckrName, isSessionLost, isStaleHandle, pkcs11Error } from './ckr.js';
import { KeyReferences } from './key-references.js';
import type { ResolvedKey } from './resolved-key.js';
import type { PooledSession, SessionPool } from './session-pool.js';
import type { SharedModule } from './shared-module.js';
import type { FoundToken, TokenSelector } from './token.js';
import type { WorkerPool } from './worker-pool.js';
import type { OnToken, Task, TaskResults } from './worker-protocol.js';

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
  readonly workers: WorkerPool;
  /** The token found by `selector` (found again after a recovery). */
  token: FoundToken;
  readonly selector: TokenSelector;
  readonly profile: Pkcs11Profile;
}

/**
 * Return values after which the module itself may have lost the token (a network HSM's client whose
 * server went away answers CKR_DEVICE_ERROR to every call until it is initialized again).
 */
const MODULE_LOST: ReadonlySet<string> = new Set([
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  // p11-kit's client initialized while its server was away has no slots until initialized again.
  'CKR_SLOT_ID_INVALID',
]);

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
  /** Resolved keys by reference, per handle scope (see {@link SessionPool.handleScope}). */
  readonly #scopes = new Map<object | undefined, Map<string, ResolvedKey>>();
  readonly #references = new KeyReferences();

  constructor(parts: ProviderParts) {
    this.#parts = parts;
  }

  /** Caches what a reference resolved to on a session (a key just created there). */
  remember(session: PooledSession, ref: string, key: ResolvedKey): void {
    this.#keys(session).set(ref, key);
  }

  /** Drops a cached key (its attributes changed). */
  forget(ref: string): void {
    for (const keys of this.#scopes.values()) keys.delete(ref);
  }

  /** Drops every cached key. */
  forgetAll(): void {
    this.#scopes.clear();
  }

  #keys(session: PooledSession): Map<string, ResolvedKey> {
    const scope = this.#parts.pool.handleScope(session);
    let keys = this.#scopes.get(scope);
    if (keys === undefined) {
      keys = new Map();
      this.#scopes.set(scope, keys);
    }
    return keys;
  }

  /**
   * Runs `body` on a pooled session. A session the token lost is rebuilt and, when `retry` (the operation
   * is idempotent), the body runs once more; a stale object handle is looked up again and retried once.
   */
  async withSession<T>(
    what: string,
    body: (session: PooledSession) => Promise<T>,
    options: { retry?: (error: unknown) => boolean; ref?: string } = {},
  ): Promise<T> {
    const { pool, module } = this.#parts;
    for (let attempt = 0; ; attempt += 1) {
      const epoch = module.epoch;
      let session: PooledSession;
      try {
        session = await pool.acquire();
      } catch (error) {
        // Nothing ran yet: after a recovery of the module, the work may always run.
        if (attempt === 0 && (await this.#recovered(error, epoch))) continue;
        throw error;
      }
      try {
        return await body(session);
      } catch (error) {
        if (attempt === 0 && (await this.#recovered(error, epoch))) {
          this.forgetAll();
          if (options.retry?.(error) ?? true) continue;
          throw pkcs11Error(error, callName(error) ?? what);
        }
        // A session that lost its login shows it in odd ways (stale private handles on SoftHSM2,
        // CKR_HOST_MEMORY on NSS): ask the session before deciding what the error means.
        if (
          attempt === 0 &&
          (sessionNeedsRebuild(error) || (ckrName(error) !== undefined && !(await pool.isLoggedIn(session))))
        ) {
          pool.invalidate(session);
          this.forgetAll();
          if (options.retry?.(error) ?? true) continue;
        } else if (attempt === 0 && options.ref !== undefined && isStaleHandle(error)) {
          this.forget(options.ref);
          continue;
        }
        // A token out of reach (a network HSM's server away, even after a recovery attempt): UNAVAILABLE.
        const lost = MODULE_LOST.has(ckrName(error) ?? '');
        const mapped = pkcs11Error(error, callName(error) ?? what, lost ? 'UNAVAILABLE' : undefined);
        if (mapped.code === 'INTERNAL' || mapped.code === 'KEY_NOT_FOUND') {
          await this.#assertTokenPresent(session, mapped);
        }
        throw mapped;
      } finally {
        pool.release(session);
      }
    }
  }

  /**
   * Runs `body` on a pooled session with the key `ref` names (looked up fresh when `fresh`, or when
   * `lacks` says the cached key lacks what this operation needs: a public half another process may
   * have written since the key was looked up).
   */
  withKey<T>(
    ref: string,
    what: string,
    body: (session: PooledSession, key: ResolvedKey) => Promise<T>,
    options: { fresh?: boolean; lacks?: (key: ResolvedKey) => boolean } = {},
  ): Promise<T> {
    const uri = this.#references.parse(ref);
    let fresh = options.fresh === true;
    const { pool, token, profile } = this.#parts;
    return this.withSession(
      what,
      async (session) => {
        const keys = this.#keys(session);
        let key = keys.get(ref);
        if (
          fresh ||
          key === undefined ||
          key.generation !== pool.generation ||
          options.lacks?.(key) === true
        ) {
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
          if (keys.size >= MAX_CACHED_KEYS) keys.clear();
          keys.set(ref, key);
        }
        return body(session, key);
      },
      { ref },
    );
  }

  /**
   * Runs a task about the token's keys on a lent session (on a worker thread), with what every such task
   * carries: the session, the token, the profile and the pool's generation.
   */
  onToken<K extends TokenTaskKind>(
    session: PooledSession,
    what: string,
    task: TokenTaskBody<K>,
  ): Promise<TaskResults[K]> {
    const { pool, token, profile } = this.#parts;
    const full = {
      ...task,
      session: session.handle,
      token,
      profile: profile.name,
      generation: pool.generation,
    } as unknown as Task;
    return pool.run(session, what, full) as Promise<TaskResults[K]>;
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
   * After a device error: when the token cannot be reached any more (C_GetTokenInfo fails too), the
   * module is initialized again (once for every provider sharing it) and the token found again; the
   * session pool then reopens its sessions and logs in again, and keys are looked up again.
   */
  async #recovered(error: unknown, epoch: number): Promise<boolean> {
    const name = ckrName(error);
    if (name === undefined || !MODULE_LOST.has(name)) return false;
    const { module, workers, selector } = this.#parts;
    if (module.epoch === epoch) {
      const present = await workers
        .run({ kind: 'tokenPresent', slot: this.#parts.token.slot }, 'C_GetTokenInfo')
        .catch(() => false);
      if (present) return false;
    }
    try {
      if (!(await module.recover(workers, epoch))) return false;
      const token = await workers.run({ kind: 'findToken', selector }, 'C_GetSlotList');
      module.moveLogin(this.#parts.token.slot, token.slot);
      this.#parts.token = token;
      this.#parts.pool.moveTo(token.slot);
      return true;
    } catch {
      return false; // still out of reach: the caller reports the original failure
    }
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

/** The kinds of task about the token's keys (they carry the session, token, profile and generation). */
type TokenTaskKind = Extract<Task, OnToken>['kind'];

/** A task about the token's keys without what the runner adds (session, token, profile, generation). */
type TokenTaskBody<K extends TokenTaskKind> = Omit<Extract<Task, { kind: K }>, keyof OnToken> & { kind: K };

/** Errors after which the session is rebuilt: it is gone, logged out, or left with an operation active. */
function sessionNeedsRebuild(error: unknown): boolean {
  return isSessionLost(error) || ckrName(error) === 'CKR_OPERATION_ACTIVE';
}
