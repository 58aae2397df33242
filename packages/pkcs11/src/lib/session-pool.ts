import { KeyswitchError, type Secret } from '@keyswitch/core';
import type { Handle, SharedModule } from './shared-module.js';
import type { WorkerPool, WorkerRef } from './worker-pool.js';
import type { Task, TaskResult } from './worker-protocol.js';

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
  /** The module's epoch when the session was opened: a recovery since closed it. */
  epoch: number;
  /** The worker thread the session belongs to: every call on it runs there. */
  worker: WorkerRef | undefined;
  /** A task that outlived its deadline: the session stays out of the pool until its thread is done with it. */
  stuck: Promise<unknown> | undefined;
  lent: boolean;
}

interface Waiter {
  resolve(slot: Slot): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

const NO_HANDLE = Buffer.alloc(0);
/** A key generation is given this many times the operation timeout. */
const KEY_GENERATION_FACTOR = 4;

/**
 * A fixed-size pool of read-write sessions on one token, logged in as the normal user. A session runs one
 * operation at a time; callers beyond the pool size wait in order, up to the operation timeout, then get
 * UNAVAILABLE. Sessions are opened on first need and rebuilt (with a new login) when the token says they
 * are gone. Every PKCS#11 call, opening and logging in included, runs on the worker threads.
 *
 * @example
 * ```ts
 * const pool = new SessionPool({ module, workers, slot: token.slot, pin, size: 8, timeoutMs: 30_000 });
 * const session = await pool.acquire();
 * try {
 *   await pool.run(session, 'C_GenerateRandom', { kind: 'random', session: session.handle, length: 16 });
 * } finally {
 *   pool.release(session);
 * }
 * ```
 */
export class SessionPool {
  readonly #module: SharedModule;
  readonly #workers: WorkerPool;
  #slotId: Handle;
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

  constructor(options: {
    module: SharedModule;
    workers: WorkerPool;
    slot: Handle;
    pin: Secret;
    size: number;
    timeoutMs: number;
  }) {
    this.#module = options.module;
    this.#workers = options.workers;
    this.#slotId = options.slot;
    this.#pin = options.pin;
    this.#size = options.size;
    this.#timeoutMs = options.timeoutMs;
  }

  /** The pool size. */
  get size(): number {
    return this.#size;
  }

  /** The pool's size, sessions lent out now, sessions back in the pool, callers waiting (for gauges). */
  get usage(): { limit: number; inUse: number; idle: number; waiting: number } {
    return { limit: this.#size, inUse: this.#lent, idle: this.#idle.length, waiting: this.#waiters.length };
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
      await this.#ensureOpen(slot);
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

  /**
   * What object handles found on a session are valid with: the session's worker thread where the module
   * keeps a state per loading (p11-kit's client: each loading has its own connection and handles), else
   * undefined (handles belong to the process).
   */
  handleScope(session: PooledSession): object | undefined {
    return this.#module.stateper === 'thread' ? (session as Slot).worker : undefined;
  }

  /** For a lent session whose task outlived its deadline: settles when its thread is done with it. */
  stillRunning(session: PooledSession): Promise<unknown> | undefined {
    return (session as Slot).stuck;
  }

  /** Marks a session lost, and every idle one with it (a token that lost one usually lost them all). */
  invalidate(session: PooledSession): void {
    (session as Slot).broken = true;
    for (const slot of this.#idle) slot.broken = true;
    this.#generation += 1;
  }

  /** Uses `slot` for the token from now on (after a recovery found it again). */
  moveTo(slot: Handle): void {
    this.#slotId = slot;
  }

  /** Whether a lent session is still logged in as the normal user (false when the token says it is gone). */
  async isLoggedIn(session: PooledSession): Promise<boolean> {
    try {
      return await this.run(session, 'C_GetSessionInfo', { kind: 'loggedIn', session: session.handle });
    } catch {
      return false;
    }
  }

  /**
   * Runs a task on a lent session on the worker threads, with the operation timeout. A task that times
   * out keeps its thread busy until the native call returns: its session is kept out of the pool until
   * then, and rebuilt.
   *
   * @throws UNAVAILABLE (retryable) on timeout
   */
  run<T extends Task>(session: PooledSession, what: string, task: T): Promise<TaskResult<T>> {
    const slot = session as Slot;
    const running = this.#workers.run(task, what, {
      // Generating a key (RSA-4096 above all) may take far longer than an operation, and is never retried.
      ...(task.kind === 'createKey' ? { timeoutMs: this.#timeoutMs * KEY_GENERATION_FACTOR } : {}),
      worker: slot.worker,
      onOverdue: (returned) => {
        slot.broken = true;
        slot.stuck = this.#module.track(returned);
      },
    });
    return running.catch((error: unknown) => {
      if (error instanceof Error && !(error as { method?: string }).method) {
        (error as { method?: string }).method = what;
      }
      throw error;
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
    await Promise.all(
      this.#slots.filter((slot) => !slot.lent && slot.open).map((slot) => this.#closeSession(slot)),
    );
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
        epoch: 0,
        worker: undefined,
        stuck: undefined,
        lent: false,
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
      if (slot.open) void this.#closeSession(slot);
    } else {
      this.#idle.push(slot);
    }
    if (this.#lent === 0) this.#drained?.();
  }

  async #ensureOpen(slot: Slot): Promise<void> {
    if (slot.open && slot.epoch !== this.#module.epoch) {
      slot.open = false; // the module was initialized again: the handle is gone (and may be reused)
      this.#generation += 1;
    }
    if (slot.open && !slot.broken) return;
    if (slot.open) await this.#closeSession(slot);
    const epoch = this.#module.epoch;
    const pin = this.#pin.reveal();
    this.#workers.unbindSession(slot.worker);
    slot.worker = this.#workers.bindSession();
    // Until keyswitch's login to the token is recorded, sessions that may log in open one at a time, across
    // the process's providers: one finding the token logged in must find that login recorded.
    const opened = await this.#module.loggingIn(this.#slotId, () => this.#openLoggedIn(slot, pin));
    slot.handle = opened.handle;
    slot.open = true;
    slot.broken = false;
    slot.epoch = epoch;
  }

  /** Opens a session on the slot's thread and logs it in, or checks the login it found is keyswitch's. */
  async #openLoggedIn(slot: Slot, pin: string): Promise<{ readonly handle: Handle }> {
    const opened = await this.run(slot, 'C_OpenSession', { kind: 'openSession', slot: this.#slotId, pin });
    if (opened.alreadyLoggedIn) {
      // A login belongs to the process and token: the token would let any PIN through now, so compare
      // with (a salted hash of) the PIN keyswitch logged in with.
      const matches = this.#module.loginMatches(this.#slotId, pin);
      if (matches !== true) {
        await this.#workers
          .run({ kind: 'closeSession', session: opened.handle }, 'C_CloseSession', { worker: slot.worker })
          .catch(() => undefined);
        throw new KeyswitchError(
          'ACCESS_DENIED',
          matches === false
            ? 'a different PIN is already logged in to this token in this process; the configured PIN cannot be checked against the token, so it is refused'
            : 'this token is already logged in in this process by something other than keyswitch; the configured PIN cannot be checked, so it is refused',
        );
      }
    } else {
      this.#module.recordLogin(this.#slotId, pin);
    }
    return opened;
  }

  async #closeSession(slot: Slot): Promise<void> {
    slot.open = false;
    const worker = slot.worker;
    slot.worker = undefined;
    this.#workers.unbindSession(worker);
    if (slot.epoch !== this.#module.epoch) return; // gone with the module's recovery (the handle may be reused)
    await this.#workers
      .run({ kind: 'closeSession', session: slot.handle }, 'C_CloseSession', { worker })
      .catch(() => undefined); // already gone (closed under us, token removed): nothing to release
  }
}
