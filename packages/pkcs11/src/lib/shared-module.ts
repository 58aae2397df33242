import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { KeyswitchError } from '@keyswitch/core';
import type * as Pkcs11js from 'pkcs11js';
import { moduleLifecycle, withLifecycleLock } from './module-lifecycle.js';
import { processRegistry } from './process-registry.js';
import type { WorkerPool } from './worker-pool.js';

/** A loaded PKCS#11 library (pkcs11js `PKCS11`). */
export type Pkcs11Library = Pkcs11js.PKCS11;
/** A PKCS#11 handle as pkcs11js represents it (a slot, session or object). */
export type Handle = Buffer;

interface ModuleEntry {
  readonly key: string;
  initialized: boolean;
  /** C_Initialize running now, on some provider's worker threads. */
  initializing: Promise<void> | undefined;
  /** C_Finalize running now, after the last provider released the module. */
  finalizing: Promise<void> | undefined;
  /** Bumped by each C_Finalize + C_Initialize that recovers a module whose link to the token broke. */
  epoch: number;
  /** That recovery, while it runs. */
  resetting: Promise<void> | undefined;
  /** False when the library was already initialized by someone else in this process: never finalize it. */
  ownsInitialization: boolean;
  /**
   * `thread` when each loading of the module keeps its own state (p11-kit's client: a connection each):
   * every provider then finalizes its own threads' loadings when it closes.
   */
  stateper: 'process' | 'thread';
  parameters: string | undefined;
  refs: number;
  /** Tasks that outlived their deadline and may still be in a native call: C_Finalize must not run. */
  nativeCalls: number;
  /** Searches running now, and key generations running now (see {@link SharedModule.searching}). */
  searches: number;
  creations: number;
  waiters: Array<() => void>;
  /**
   * Per slot (hex of the slot handle): HMAC-SHA-256 of the PIN keyswitch logged in with, keyed with
   * `loginSalt`. A PKCS#11 login belongs to the process and token, so a provider finding the token
   * already logged in must show the same PIN. Never the PIN itself.
   */
  logins: Map<string, Buffer>;
  /** Per slot: a session opening that may log in, running now (see {@link SharedModule.loggingIn}). */
  loggingIn: Map<string, Promise<void>>;
  /** Random per process (per module entry): the PIN hashes are useless outside this process. */
  readonly loginSalt: Buffer;
}

/** One registry per process, shared by every copy of this package (ESM and CJS builds side by side). */
const registry = processRegistry<ModuleEntry>('keyswitch.pkcs11.modules.v2');

/**
 * A reference to a PKCS#11 library that is initialized once per process and shared by every provider
 * using the same path (PKCS#11 allows one C_Initialize per process; finalizing it ends every session).
 * The library itself lives on the providers' worker threads; this records its process-wide state. It is
 * finalized when the last reference is released and no native call is left running.
 *
 * @example
 * ```ts
 * const module = await acquireModule(path, { libraryParameters }, workers);
 * // …
 * await module.release(workers);
 * ```
 */
export class SharedModule {
  readonly #entry: ModuleEntry;
  #released = false;

  constructor(entry: ModuleEntry) {
    this.#entry = entry;
  }

  /** The resolved module path (the registry key). */
  get path(): string {
    return this.#entry.key;
  }

  /**
   * Counts a native call that outlived its deadline until `returned` settles, so that C_Finalize never
   * runs under it (that crashes the process).
   */
  track(returned: Promise<void>): Promise<void> {
    const entry = this.#entry;
    entry.nativeCalls += 1;
    return returned.finally(() => {
      entry.nativeCalls -= 1;
    });
  }

  /**
   * Runs a search (C_FindObjects and reads of what it found) when no token object is being generated in
   * this process. SoftHSM2's file object store re-indexes its directory in C_FindObjectsInit without
   * holding its lock, and can invalidate an object another thread is creating at that moment (the
   * generation then fails with CKR_GENERAL_ERROR). Searches run together; generations wait for them.
   */
  async searching<T>(body: () => Promise<T>): Promise<T> {
    const entry = this.#entry;
    while (entry.creations > 0) await this.#changed();
    entry.searches += 1;
    try {
      return await body();
    } finally {
      entry.searches -= 1;
      this.#wake();
    }
  }

  /**
   * Runs a key generation (with its own label search) alone: no search and no other generation meanwhile.
   * When `stillRunning` gives a promise after `body` failed (its deadline passed while the native call
   * runs on), the others wait for that too.
   */
  async creating<T>(body: () => Promise<T>, stillRunning?: () => Promise<unknown> | undefined): Promise<T> {
    const entry = this.#entry;
    while (entry.creations > 0 || entry.searches > 0) await this.#changed();
    entry.creations += 1;
    let running: Promise<unknown> | undefined;
    try {
      return await body();
    } catch (error) {
      running = stillRunning?.();
      throw error;
    } finally {
      const done = () => {
        entry.creations -= 1;
        this.#wake();
      };
      if (running === undefined) done();
      else void running.then(done, done);
    }
  }

  /** Whether the module keeps one state per process or one per loading (per worker thread). */
  get stateper(): 'process' | 'thread' {
    return this.#entry.stateper;
  }

  /** Bumped by every recovery: sessions opened before it are gone. */
  get epoch(): number {
    return this.#entry.epoch;
  }

  /**
   * Recovers a module whose link to the token broke for good (every call, C_GetTokenInfo included,
   * fails with a device error, as a network HSM's client does after its server restarted): C_Finalize
   * and C_Initialize again, once for all the providers sharing the module. `seen` is the epoch the
   * caller saw fail; when someone recovered since, nothing more is done. Every session of the module is
   * gone afterwards; the record of keyswitch's login stays (the token may have kept the login).
   *
   * @returns whether the module is initialized again (false: it is not keyswitch's to reset)
   */
  async recover(workers: WorkerPool, seen: number): Promise<boolean> {
    const entry = this.#entry;
    while (entry.resetting !== undefined) await entry.resetting.catch(() => undefined);
    if (entry.epoch !== seen) return true;
    if (!entry.ownsInitialization || !entry.initialized) return false;
    entry.resetting = workers
      .runOnAll({ kind: 'reinitialize' }, `C_Initialize of ${entry.key}`)
      .then(() => {
        // The login record stays. A token that is still logged in after keyswitch's own re-initialization
        // kept keyswitch's login: a network HSM's server may keep it across the client's C_Finalize. A
        // cleared record would make that login look like another component's, and refuse every session.
        entry.epoch += 1;
      })
      .finally(() => {
        entry.resetting = undefined;
      });
    await entry.resetting;
    return true;
  }

  /**
   * Runs `body` (opening a session that logs in to `slot`, and recording the login) alone until a login
   * of keyswitch's to the slot is recorded; afterwards at once. Without this, a provider opening a session
   * while another provider's login is on its way finds the token logged in by "someone else".
   */
  async loggingIn<T>(slot: Handle, body: () => Promise<T>): Promise<T> {
    const entry = this.#entry;
    const key = slot.toString('hex');
    for (;;) {
      if (entry.logins.has(key)) return body();
      const running = entry.loggingIn.get(key);
      if (running === undefined) break;
      await running;
    }
    let done: () => void = () => undefined;
    entry.loggingIn.set(
      key,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    try {
      return await body();
    } finally {
      entry.loggingIn.delete(key);
      done();
    }
  }

  /**
   * Moves the record of keyswitch's login from `from` to `to`: the token's slot after a re-initialization
   * (a network HSM's client may number its slots anew).
   */
  moveLogin(from: Handle, to: Handle): void {
    const logins = this.#entry.logins;
    const recorded = logins.get(from.toString('hex'));
    if (recorded === undefined || from.equals(to)) return;
    logins.delete(from.toString('hex'));
    logins.set(to.toString('hex'), recorded);
  }

  /** Records that `pin` logged the normal user in to `slot` (a salted hash of it, never the PIN). */
  recordLogin(slot: Handle, pin: string): void {
    this.#entry.logins.set(slot.toString('hex'), pinHash(this.#entry.loginSalt, pin));
  }

  /**
   * Whether `pin` is the PIN keyswitch logged in to `slot` with in this process: true, false, or
   * undefined when keyswitch did not log in (another component of the process did).
   */
  loginMatches(slot: Handle, pin: string): boolean | undefined {
    const recorded = this.#entry.logins.get(slot.toString('hex'));
    if (recorded === undefined) return undefined;
    return timingSafeEqual(recorded, pinHash(this.#entry.loginSalt, pin));
  }

  /**
   * Drops this reference; the last one finalizes the library on `workers`, unless a native call that
   * outlived its deadline may still be running (then the library stays initialized for the process).
   */
  async release(workers: WorkerPool): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const entry = this.#entry;
    entry.refs -= 1;
    // From here a provider opening meanwhile keeps the module initialized (its threads may have found it so).
    workers.leaveModule();
    const forget = () => {
      entry.initialized = false;
      entry.parameters = undefined;
      entry.logins.clear(); // C_Finalize ends every session, and the login with them
    };
    if (entry.stateper === 'thread') {
      // Each loading keeps its own state: finalize this provider's own loadings only.
      if (entry.nativeCalls === 0) {
        await workers.runOnAll({ kind: 'finalize', ownLoading: true }, 'C_Finalize');
      }
      if (entry.refs === 0 && entry.initialized) forget();
      return;
    }
    if (entry.refs > 0 || entry.nativeCalls > 0 || !entry.initialized) return;
    if (!entry.ownsInitialization) {
      forget(); // not keyswitch's to finalize; the next provider finds out again who initialized it
      return;
    }
    // One C_Finalize, for the process; the thread skips it when a provider has joined since.
    entry.finalizing = workers
      .run({ kind: 'finalize', ownLoading: false }, 'C_Finalize')
      .then(
        (answer) => answer.finalized,
        () => false,
      )
      .then((finalized) => {
        if (finalized && entry.refs === 0) forget();
      })
      .finally(() => {
        entry.finalizing = undefined;
      });
    await entry.finalizing;
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#entry.waiters.push(resolve));
  }

  #wake(): void {
    for (const wake of this.#entry.waiters.splice(0)) wake();
  }
}

/**
 * Records a PKCS#11 library initialized by `workers` as they started (once per process for most modules),
 * or shares the initialization already made for the same path.
 *
 * @param modulePath - the path {@link resolveModulePath} gave
 * @param libraryParameters - NSS-style C_Initialize parameters (`configdir='sql:…' …`), as NSS should read them
 * @throws CONFIG_INVALID when the library does not load, is already initialized with other parameters, or
 * refuses them; UNAVAILABLE when C_Initialize fails otherwise
 * @example
 * ```ts
 * const module = await acquireModule(resolveModulePath('/usr/lib/softhsm/libsofthsm2.so'), {}, workers);
 * ```
 */
export async function acquireModule(
  modulePath: string,
  options: { libraryParameters?: string | undefined },
  workers: WorkerPool,
): Promise<SharedModule> {
  let entry = registry.get(modulePath);
  if (!entry) {
    entry = {
      key: modulePath,
      initialized: false,
      initializing: undefined,
      finalizing: undefined,
      epoch: 0,
      resetting: undefined,
      ownsInitialization: false,
      stateper: 'process',
      parameters: undefined,
      refs: 0,
      nativeCalls: 0,
      searches: 0,
      creations: 0,
      waiters: [],
      logins: new Map(),
      loggingIn: new Map(),
      loginSalt: randomBytes(32),
    };
    registry.set(modulePath, entry);
  }
  while (entry.initializing !== undefined || entry.finalizing !== undefined) {
    await (entry.initializing ?? entry.finalizing)?.catch(() => undefined);
  }
  if (entry.initialized) {
    if ((entry.parameters ?? '') !== (options.libraryParameters ?? '')) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `the PKCS#11 module ${modulePath} is already initialized in this process with other libraryParameters; ` +
          'a module can be initialized once per process, so every provider using it must use the same parameters',
      );
    }
  } else {
    // The worker threads have initialized the module (or found it initialized) as they started.
    const target = entry;
    target.initializing = workers.started().then((result) => {
      target.ownsInitialization = result.ownsInitialization;
      target.stateper = result.stateper;
      target.initialized = true;
      target.parameters = options.libraryParameters;
    });
    await target.initializing.finally(() => {
      target.initializing = undefined;
    });
  }
  entry.refs += 1;
  return new SharedModule(entry);
}

const mainThreadLibraries = new Map<string, Pkcs11Library>();

/**
 * For tests and diagnostics only: a pkcs11js instance of a module some provider of this process
 * initialized, loaded on the calling thread (closing every session under a pool, importing test keys).
 * Providers never call PKCS#11 on the main thread.
 *
 * @example
 * ```ts
 * loadedModule('/usr/lib/softhsm/libsofthsm2.so')?.C_CloseAllSessions(provider.token.slot);
 * ```
 */
export function loadedModule(modulePath: string, baseDir?: string): Pkcs11Library | undefined {
  let key: string;
  try {
    key = resolveModulePath(modulePath, baseDir);
  } catch {
    return undefined;
  }
  const entry = registry.get(key);
  if (entry?.initialized !== true) return undefined;
  let library = mainThreadLibraries.get(key);
  if (library === undefined) {
    const api = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11js;
    library = new api.PKCS11();
    library.load(key);
    mainThreadLibraries.set(key, library);
  }
  if (entry.stateper === 'thread') {
    // This loading has a state of its own: initialize it (once; it stays for the process).
    const loaded = library;
    withLifecycleLock(moduleLifecycle(key), () => {
      try {
        loaded.C_Initialize({ flags: 2 });
      } catch {
        // already initialized
      }
    });
  }
  return library;
}

function pinHash(salt: Buffer, pin: string): Buffer {
  return createHmac('sha256', salt).update(pin, 'utf8').digest();
}

/**
 * The module path the registry knows a library by: absolute and without symbolic links, or a bare file
 * name for the dynamic loader to find.
 *
 * @throws CONFIG_INVALID when the file does not exist or cannot be read
 * @example
 * ```ts
 * resolveModulePath('lib/libsofthsm2.so', '/opt/app'); // '/opt/app/lib/libsofthsm2.so', links resolved
 * ```
 */
export function resolveModulePath(modulePath: string, baseDir: string | undefined = undefined): string {
  if (!modulePath.includes('/')) return modulePath; // a bare name: the dynamic loader's search path
  const absolute = isAbsolute(modulePath) ? modulePath : resolve(baseDir ?? process.cwd(), modulePath);
  try {
    return realpathSync(absolute);
  } catch (error) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `the PKCS#11 module ${absolute} does not exist or cannot be read; "module" must be the path of the token vendor's PKCS#11 library (a .so file)`,
      {
        path: 'module',
        retryable: false,
        cause: error,
      },
    );
  }
}
