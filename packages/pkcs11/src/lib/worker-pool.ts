import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KeyswitchError } from '@keyswitch/core';
import { deadlineError } from './deadline-error.js';
import { joinModule, moduleLifecycle, releaseLockOf } from './module-lifecycle.js';
import { testFaults } from './test-faults.js';
import { workerPath } from './worker-path.js';
import {
  errorFromShape,
  type ReadyMessage,
  type ReplyMessage,
  revive,
  type Task,
  type TaskMessage,
  type TaskResult,
  type WorkerSetup,
} from './worker-protocol.js';

interface WorkerEntry {
  readonly worker: Worker;
  /** Tasks sent and not answered. */
  readonly calls: Set<number>;
  /** Tasks that outlived their deadline and still run (or wait) on this thread. */
  overdue: number;
  dead: boolean;
  /** Whether the thread has loaded the library: deadlines count from then. */
  ready: boolean;
  /** Sessions bound to this thread (opened by it: some modules keep a state per thread's loading). */
  bound: number;
}

/**
 * A worker thread a session is bound to: every call on the session runs there (p11-kit's client, for one,
 * gives each loading of the module its own connection, sessions and login).
 */
export type WorkerRef = object;

interface Pending {
  readonly id: number;
  readonly entry: WorkerEntry;
  readonly what: string;
  deadline: number;
  readonly timeoutMs: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Set when the deadline passed: the task's thread answers later (or dies) and this resolves then. */
  returned: { promise: Promise<void>; resolve(): void } | undefined;
  onOverdue: ((returned: Promise<void>) => void) | undefined;
}

/** How long a new thread may take to start and load the library, on top of a task's timeout. */
const STARTUP_MS = 10_000;

/** At most this many replacements of dead workers per minute (per thread), so a broken setup does not spin. */
const RESTARTS_PER_MINUTE = 5;

/**
 * The worker threads every PKCS#11 call of a provider runs on, so the main thread never blocks on the
 * token. Each task has a deadline: when it passes, the task's promise rejects with UNAVAILABLE while the
 * thread stays stuck in its native call; that thread gets no new work until the call returns, and a
 * replacement thread is started so the others keep serving. Deadlines are checked by one sweep timer
 * while tasks are in flight, not a timer per call.
 *
 * @example
 * ```ts
 * const workers = new WorkerPool({ module: '/usr/lib/softhsm/libsofthsm2.so', timeoutMs: 5_000 });
 * const bytes = await workers.run({ kind: 'random', session, length: 16 }, 'C_GenerateRandom');
 * workers.close();
 * ```
 */
export class WorkerPool {
  readonly #entries: WorkerEntry[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #setup: WorkerSetup;
  readonly #path: string;
  readonly #threads: number;
  readonly #timeoutMs: number;
  readonly #sweepMs: number;
  readonly #restarts: number[] = [];
  #sweeper: NodeJS.Timeout | undefined;
  #next = 0;
  #closed = false;
  readonly #leave: () => void;
  readonly #started: Array<Promise<boolean>> = [];

  constructor(options: {
    module: string;
    parameters?: string | undefined;
    threads?: number | undefined;
    timeoutMs: number;
  }) {
    this.#path = workerPath();
    const { faults, counters } = testFaults();
    const lifecycle = moduleLifecycle(options.module);
    // Counted before any thread starts: a provider closing meanwhile leaves the module initialized.
    this.#leave = joinModule(lifecycle);
    this.#setup = {
      module: options.module,
      parameters: options.parameters,
      faults,
      faultCounters: counters,
      lifecycle,
    };
    this.#threads = options.threads ?? Math.min(4, Math.max(2, availableParallelism()));
    this.#timeoutMs = options.timeoutMs;
    // A deadline fires at most this late: a tenth of the timeout, between 10 and 50 ms.
    this.#sweepMs = Math.min(50, Math.max(10, Math.floor(options.timeoutMs / 10)));
    for (let index = 0; index < this.#threads; index += 1) this.#spawn();
  }

  /** The worker threads' ids (for tests and diagnostics). */
  get threadIds(): readonly number[] {
    return this.#entries.filter((entry) => !entry.dead).map((entry) => entry.worker.threadId);
  }

  /** How many worker threads run now (a thread stuck in a native call and its replacement both count). */
  get threadCount(): number {
    let count = 0;
    for (const entry of this.#entries) if (!entry.dead) count += 1;
    return count;
  }

  /** The worker threads (for tests and diagnostics). */
  get workers(): readonly Worker[] {
    return this.#entries.filter((entry) => !entry.dead).map((entry) => entry.worker);
  }

  /**
   * Resolves when the first threads have loaded and initialized the module (a failure there is reported
   * by every task they run), with whether one of them initialized it (rather than finding it initialized).
   */
  async started(): Promise<{ ownsInitialization: boolean; stateper: 'process' | 'thread' }> {
    // A module whose C_Initialize never returns (a network HSM's client that cannot reach it) fails the
    // provider's opening, as a stalled call does, rather than hanging it.
    const limitMs = STARTUP_MS + this.#timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new KeyswitchError(
              'UNAVAILABLE',
              `the PKCS#11 module ${this.#setup.module} did not load and initialize (C_Initialize) within ${limitMs} ms`,
            ),
          ),
        limitMs,
      );
    });
    let owns: boolean[];
    try {
      owns = await Promise.race([Promise.all(this.#started), late]);
    } finally {
      clearTimeout(timer);
    }
    // Each thread initialized its own loading: the module keeps a state per loading (p11-kit's client).
    const perThread = owns.length > 1 && owns.every(Boolean);
    return { ownsInitialization: owns.some(Boolean), stateper: perThread ? 'thread' : 'process' };
  }

  /** Binds a new session to the least loaded thread that is not stuck. */
  bindSession(): WorkerRef | undefined {
    let best: WorkerEntry | undefined;
    for (const entry of this.#entries) {
      if (entry.dead || entry.overdue > 0) continue;
      if (best === undefined || entry.bound < best.bound) best = entry;
    }
    if (best !== undefined) best.bound += 1;
    return best;
  }

  /** Releases a session's binding (the session is closed or lost). */
  unbindSession(ref: WorkerRef | undefined): void {
    const entry = ref as WorkerEntry | undefined;
    if (entry !== undefined && entry.bound > 0) entry.bound -= 1;
  }

  /**
   * Stops counting this pool's provider as a user of the module (before it finalizes the module, and on
   * close). Idempotent.
   */
  leaveModule(): void {
    this.#leave();
  }

  /** Runs a task on every live thread, one after the other (each thread's loading of the module). */
  async runOnAll<T extends Task>(task: T, what: string): Promise<void> {
    for (const entry of this.#entries.filter((candidate) => !candidate.dead)) {
      await this.run(task, what, { worker: entry }).catch(() => undefined);
    }
  }

  /**
   * Runs a task on the least busy thread that is not stuck, or on `worker`, the thread a session is
   * bound to (when that thread is gone, the session is: CKR_SESSION_HANDLE_INVALID).
   *
   * @param what - the PKCS#11 function or step, for the timeout's message
   * @param options.onOverdue - called when the deadline passes, with a promise that settles once the
   *   thread is done with the task (its native call returned, or the thread died)
   * @throws UNAVAILABLE (retryable) when the deadline passes or the thread dies; CLOSED after close()
   */
  run<T extends Task>(
    task: T,
    what: string,
    options: {
      timeoutMs?: number;
      worker?: WorkerRef | undefined;
      onOverdue?: (returned: Promise<void>) => void;
    } = {},
  ): Promise<TaskResult<T>> {
    if (this.#closed) return Promise.reject(new KeyswitchError('CLOSED', 'the provider is closed'));
    const bound = options.worker as WorkerEntry | undefined;
    if (bound?.dead === true) {
      return Promise.reject(Object.assign(new Error('CKR_SESSION_HANDLE_INVALID'), { method: what }));
    }
    const entry = bound ?? this.#pick();
    if (entry === undefined) {
      return Promise.reject(
        new KeyswitchError('UNAVAILABLE', 'no PKCS#11 worker thread is running (they keep failing)'),
      );
    }
    const id = this.#next++;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        id,
        entry,
        what,
        deadline: performance.now() + timeoutMs + (entry.ready ? 0 : STARTUP_MS),
        timeoutMs,
        resolve: resolve as (value: unknown) => void,
        reject,
        returned: undefined,
        onOverdue: options.onOverdue,
      });
      entry.calls.add(id);
      this.#sweeper ??= setInterval(() => this.#sweep(), this.#sweepMs).unref();
      const message: TaskMessage = { id, task };
      entry.worker.postMessage(message);
    });
  }

  /**
   * Stops the threads. Tasks still running are left unsettled (their native calls may still use the
   * module); a thread stuck in a native call exits when the call returns.
   */
  close(): void {
    this.#closed = true;
    this.#leave();
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const entry of this.#entries) entry.worker.terminate().catch(() => undefined);
  }

  #pick(): WorkerEntry | undefined {
    let best: WorkerEntry | undefined;
    let stuck: WorkerEntry | undefined;
    for (const entry of this.#entries) {
      if (entry.dead) continue;
      if (entry.overdue > 0) {
        if (stuck === undefined || entry.calls.size < stuck.calls.size) stuck = entry;
      } else if (best === undefined || entry.calls.size < best.calls.size) {
        best = entry;
      }
    }
    // Every thread stuck and no room for another: queue behind one; the deadline still fires.
    return best ?? stuck;
  }

  #sweep(): void {
    if (this.#pending.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      return;
    }
    const now = performance.now();
    for (const pending of this.#pending.values()) {
      if (pending.returned !== undefined || pending.deadline > now) continue;
      let resolveReturned: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        resolveReturned = resolve;
      });
      pending.returned = { promise, resolve: resolveReturned };
      pending.entry.overdue += 1;
      pending.onOverdue?.(promise);
      pending.reject(deadlineError(pending.what, pending.timeoutMs));
      this.#replaceStuck();
    }
  }

  /** Starts threads so that as many as configured are not stuck (at most twice that many in all). */
  #replaceStuck(): void {
    const live = this.#entries.filter((entry) => !entry.dead);
    const free = live.filter((entry) => entry.overdue === 0).length;
    for (let count = free; count < this.#threads && this.#entries.length < 2 * this.#threads; count += 1) {
      this.#spawn();
    }
  }

  /** The thread has started: the deadlines of the tasks sent to it count from now. */
  #ready(entry: WorkerEntry): void {
    entry.ready = true;
    const now = performance.now();
    for (const id of entry.calls) {
      const pending = this.#pending.get(id);
      if (pending !== undefined && pending.returned === undefined) pending.deadline = now + pending.timeoutMs;
    }
  }

  #settle(entry: WorkerEntry, message: ReplyMessage): void {
    entry.calls.delete(message.id);
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (pending.returned !== undefined) {
      // Its caller was told it timed out; the thread is free of it now.
      entry.overdue -= 1;
      pending.returned.resolve();
      this.#trim(entry);
      return;
    }
    if (message.error !== undefined) pending.reject(errorFromShape(message.error));
    else pending.resolve(revive(message.result));
  }

  /** A thread that came back from a stuck call is let go when more threads than configured are free. */
  #trim(entry: WorkerEntry): void {
    if (entry.overdue > 0 || entry.calls.size > 0 || entry.bound > 0 || this.#closed) return;
    const free = this.#entries.filter((candidate) => !candidate.dead && candidate.overdue === 0).length;
    if (free <= this.#threads) return;
    entry.dead = true;
    this.#remove(entry);
    entry.worker.terminate().catch(() => undefined);
  }

  #spawn(): void {
    const worker = new Worker(this.#path, { workerData: this.#setup });
    const entry: WorkerEntry = {
      worker,
      calls: new Set<number>(),
      overdue: 0,
      dead: false,
      ready: false,
      bound: 0,
    };
    let started: (owns: boolean) => void = () => undefined;
    if (this.#started.length < this.#threads) {
      this.#started.push(
        new Promise<boolean>((resolve) => {
          started = resolve;
        }),
      );
    }
    worker.unref();
    worker.on('message', (message: ReplyMessage | ReadyMessage) => {
      if ('ready' in message) {
        this.#ready(entry);
        started(message.ownsInitialization);
      } else {
        this.#settle(entry, message);
      }
    });
    worker.on('error', (error) => {
      started(false);
      this.#fail(entry, error);
    });
    const id = worker.threadId; // -1 once the thread has exited
    worker.on('exit', () => {
      releaseLockOf(this.#setup.lifecycle, id);
      started(false);
      this.#fail(entry, new Error('the PKCS#11 worker thread exited'));
    });
    this.#entries.push(entry);
  }

  #remove(entry: WorkerEntry): void {
    const index = this.#entries.indexOf(entry);
    if (index !== -1) this.#entries.splice(index, 1);
  }

  #fail(entry: WorkerEntry, error: unknown): void {
    if (entry.dead) return;
    entry.dead = true;
    this.#remove(entry);
    // A thread that died takes its tasks with it: fail them (their native calls are over).
    for (const id of entry.calls) {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (pending?.returned !== undefined) pending.returned.resolve();
      else
        pending?.reject(
          new KeyswitchError('UNAVAILABLE', 'a PKCS#11 worker thread failed', { cause: error }),
        );
    }
    entry.calls.clear();
    entry.worker.terminate().catch(() => undefined);
    if (this.#closed) return;
    // Replace it, unless threads keep dying (a module that cannot load there, say).
    const now = Date.now();
    while (this.#restarts.length > 0 && this.#restarts[0]! < now - 60_000) this.#restarts.shift();
    if (this.#restarts.length >= RESTARTS_PER_MINUTE * this.#threads) return;
    this.#restarts.push(now);
    if (this.#entries.filter((candidate) => candidate.overdue === 0).length < this.#threads) this.#spawn();
  }
}
