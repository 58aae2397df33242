import { KeyswitchError, type Secret } from '@keyswitch/core';
import { CKF, CKU_USER } from './ck.js';
import { ckrName, pkcs11Error } from './ckr.js';
import type { Handle, SharedModule } from './shared-module.js';

/** A session lent out by the pool. Use it for one operation at a time, then give it back. */
export interface PooledSession {
  /** The PKCS#11 session handle (valid while the session is lent out). */
  readonly handle: Handle;
}

interface Slot extends PooledSession {
  handle: Handle;
  /** Whether the handle must be replaced before use (the session was lost or its state is unknown). */
  broken: boolean;
  open: boolean;
  /** A native call that outlived its timeout: the session stays out of the pool until it settles. */
  stuck: Promise<unknown> | undefined;
  lent: boolean;
  /** Buffers a running native call reads or writes. */
  pinned: readonly Buffer[] | undefined;
}

interface Waiter {
  resolve(slot: Slot): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

/** Session states (CKS_*) that mean the normal user is logged in. */
const USER_STATES = new Set([1, 3]);
const NO_HANDLE = Buffer.alloc(0);

/**
 * A fixed-size pool of read-write sessions on one token, logged in as the normal user. A session runs one
 * operation at a time; callers beyond the pool size wait in order, up to the operation timeout, then get
 * UNAVAILABLE. Sessions are opened on first need and rebuilt (with a new login) when the token says they
 * are gone.
 */
export class SessionPool {
  readonly #module: SharedModule;
  readonly #slotId: Handle;
  readonly #pin: Secret;
  readonly #size: number;
  readonly #timeoutMs: number;
  readonly #slots: Slot[] = [];
  readonly #idle: Slot[] = [];
  readonly #waiters: Waiter[] = [];
  #lent = 0;
  #closed = false;
  #generation = 0;
  #drained: (() => void) | undefined;

  constructor(options: { module: SharedModule; slot: Handle; pin: Secret; size: number; timeoutMs: number }) {
    this.#module = options.module;
    this.#slotId = options.slot;
    this.#pin = options.pin;
    this.#size = options.size;
    this.#timeoutMs = options.timeoutMs;
  }

  /** The pool size. */
  get size(): number {
    return this.#size;
  }

  /** Sessions open now. */
  get openSessions(): number {
    return this.#slots.filter((slot) => slot.open).length;
  }

  /**
   * Bumped whenever a session is found lost: object handles looked up before may be stale, so caches of
   * them compare generations.
   */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Lends a session, opening (and logging in) a new one when the pool is not full, else waiting for one.
   *
   * @throws UNAVAILABLE when none frees up within the operation timeout, or the token cannot be reached;
   * ACCESS_DENIED when the PIN is refused; CLOSED after {@link SessionPool.close}
   */
  async acquire(): Promise<PooledSession> {
    const slot = await this.#take();
    try {
      this.#ensureOpen(slot);
    } catch (error) {
      this.release(slot);
      throw error;
    }
    return slot;
  }

  /** Gives a session back. */
  release(session: PooledSession): void {
    const slot = session as Slot;
    if (!slot.lent) return;
    if (slot.stuck) {
      // Its native call is still running: only give it back once that returns, and rebuild it then.
      const stuck = slot.stuck;
      slot.stuck = undefined;
      void stuck.then(
        () => this.#giveBack(slot),
        () => this.#giveBack(slot),
      );
      return;
    }
    this.#giveBack(slot);
  }

  /** Marks a session lost, and every idle one with it (a token that lost one usually lost them all). */
  invalidate(session: PooledSession): void {
    (session as Slot).broken = true;
    for (const slot of this.#idle) slot.broken = true;
    this.#generation += 1;
  }

  /** Whether a lent session is still logged in as the normal user (false when the token says it is gone). */
  isLoggedIn(session: PooledSession): boolean {
    try {
      return USER_STATES.has(this.#module.library.C_GetSessionInfo(session.handle).state);
    } catch {
      return false;
    }
  }

  /**
   * Runs an asynchronous native call on a lent session, with the operation timeout. A call that times out
   * keeps running on the libuv pool: its session is kept out of the pool until it returns.
   *
   * @throws UNAVAILABLE (retryable) on timeout
   */
  run<T>(session: PooledSession, what: string, call: Promise<T>, keep?: readonly Buffer[]): Promise<T> {
    const tracked = this.#module.track(call);
    const slot = session as Slot;
    // pkcs11js hands the native call raw pointers into the buffers without holding them: keep them
    // reachable from the session until the call settles.
    slot.pinned = keep;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.broken = true;
        slot.stuck = tracked;
        reject(new KeyswitchError('UNAVAILABLE', `${what} did not complete within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      tracked.then(
        (value) => {
          clearTimeout(timer);
          if (slot.pinned === keep) slot.pinned = undefined;
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (slot.pinned === keep) slot.pinned = undefined;
          if (error instanceof Error && !(error as { method?: string }).method) {
            (error as { method?: string }).method = what;
          }
          reject(error);
        },
      );
    });
  }

  /**
   * Waits until no session is lent out (up to `timeoutMs`), then closes every session. Waiters get CLOSED.
   * Returns whether everything drained.
   */
  async close(timeoutMs = this.#timeoutMs): Promise<boolean> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new KeyswitchError('CLOSED', 'the provider is closed'));
    }
    let drained = true;
    if (this.#lent > 0) {
      drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        this.#drained = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.#drained = undefined;
    }
    for (const slot of this.#slots) {
      if (slot.lent || !slot.open) continue;
      this.#closeSession(slot);
    }
    return drained;
  }

  async #take(): Promise<Slot> {
    if (this.#closed) throw new KeyswitchError('CLOSED', 'the provider is closed');
    let slot = this.#idle.pop();
    if (!slot && this.#slots.length < this.#size) {
      slot = {
        handle: NO_HANDLE,
        broken: false,
        open: false,
        stuck: undefined,
        lent: false,
        pinned: undefined,
      };
      this.#slots.push(slot);
    }
    if (!slot) {
      // #giveBack hands a session straight to the first waiter, still counted as lent.
      return new Promise<Slot>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          reject,
          timer: setTimeout(() => {
            const index = this.#waiters.indexOf(waiter);
            if (index !== -1) this.#waiters.splice(index, 1);
            reject(
              new KeyswitchError(
                'UNAVAILABLE',
                `all ${this.#size} PKCS#11 sessions stayed busy for ${this.#timeoutMs} ms; raise "sessions" or retry`,
              ),
            );
          }, this.#timeoutMs),
        };
        this.#waiters.push(waiter);
      });
    }
    slot.lent = true;
    this.#lent += 1;
    return slot;
  }

  #giveBack(slot: Slot): void {
    const waiter = this.#closed ? undefined : this.#waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(slot); // stays lent: handed straight over
      return;
    }
    slot.lent = false;
    this.#lent -= 1;
    if (this.#closed) {
      if (slot.open) this.#closeSession(slot);
    } else {
      this.#idle.push(slot);
    }
    if (this.#lent === 0) this.#drained?.();
  }

  #ensureOpen(slot: Slot): void {
    if (slot.open && !slot.broken) return;
    if (slot.open) this.#closeSession(slot);
    const library = this.#module.library;
    let handle: Handle;
    try {
      handle = library.C_OpenSession(this.#slotId, CKF.SERIAL_SESSION | CKF.RW_SESSION);
    } catch (error) {
      const name = ckrName(error);
      throw pkcs11Error(
        error,
        'C_OpenSession',
        name === 'CKR_SESSION_COUNT'
          ? 'THROTTLED'
          : name === 'CKR_TOKEN_WRITE_PROTECTED'
            ? 'ACCESS_DENIED'
            : 'UNAVAILABLE',
      );
    }
    const fail = (error: KeyswitchError): never => {
      try {
        library.C_CloseSession(handle);
      } catch {
        // the session is unusable either way
      }
      throw error;
    };
    let loggedIn: boolean;
    try {
      loggedIn = USER_STATES.has(library.C_GetSessionInfo(handle).state);
      if (!loggedIn) {
        library.C_Login(handle, CKU_USER, this.#pin.reveal());
        this.#module.recordLogin(this.#slotId, this.#pin.reveal());
      }
    } catch (error) {
      if (ckrName(error) !== 'CKR_USER_ALREADY_LOGGED_IN') fail(pkcs11Error(error, 'C_Login'));
      loggedIn = true;
    }
    if (loggedIn) {
      // A login belongs to the process and token: the token would let any PIN through now, so compare
      // with (a salted hash of) the PIN keyswitch logged in with.
      const matches = this.#module.loginMatches(this.#slotId, this.#pin.reveal());
      if (matches !== true) {
        fail(
          new KeyswitchError(
            'ACCESS_DENIED',
            matches === false
              ? 'a different PIN is already logged in to this token in this process; the configured PIN cannot be checked against the token, so it is refused'
              : 'this token is already logged in in this process by something other than keyswitch; the configured PIN cannot be checked, so it is refused',
          ),
        );
      }
    }
    slot.handle = handle;
    slot.open = true;
    slot.broken = false;
  }

  #closeSession(slot: Slot): void {
    slot.open = false;
    try {
      this.#module.library.C_CloseSession(slot.handle);
    } catch {
      // already gone (closed under us, token removed): nothing to release
    }
  }
}
