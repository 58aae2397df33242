import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { KeyswitchError } from '@keyswitch/core';
import type * as Pkcs11js from 'pkcs11js';
import { CKF } from './ck.js';
import { ckrName, pkcs11Error } from './ckr.js';

/** The pkcs11js module namespace. */
export type Pkcs11Api = typeof Pkcs11js;
/** A loaded PKCS#11 library (pkcs11js `PKCS11`). */
export type Pkcs11Library = Pkcs11js.PKCS11;
/** A PKCS#11 handle as pkcs11js represents it (a slot, session or object). */
export type Handle = Buffer;

let pkcs11js: Promise<Pkcs11Api> | undefined;

/** Imports pkcs11js (a native addon) on first use, so an app that never configures PKCS#11 never loads it. */
export function loadPkcs11js(): Promise<Pkcs11Api> {
  pkcs11js ??= import('pkcs11js').then(
    (loaded) => ((loaded as { default?: Pkcs11Api }).default ?? loaded) as Pkcs11Api,
    (error: unknown) => {
      pkcs11js = undefined;
      throw new KeyswitchError(
        'UNAVAILABLE',
        'the pkcs11js native addon failed to load; reinstall @keyswitch/pkcs11',
        {
          cause: error,
        },
      );
    },
  );
  return pkcs11js;
}

interface ModuleEntry {
  readonly key: string;
  readonly library: Pkcs11Library;
  initialized: boolean;
  /** False when the library was already initialized by someone else in this process: never finalize it. */
  ownsInitialization: boolean;
  parameters: string | undefined;
  refs: number;
  /** Asynchronous native calls running on the libuv pool: C_Finalize must wait for them. */
  nativeCalls: number;
  finalizeWhenIdle: boolean;
  /** Token objects being generated now, and who waits for none to be. */
  creations: number;
  creationWaiters: Array<() => void>;
  /**
   * Per slot (hex of the slot handle): HMAC-SHA-256 of the PIN keyswitch logged in with, keyed with
   * `loginSalt`. A PKCS#11 login belongs to the process and token, so a provider finding the token
   * already logged in must show the same PIN. Never the PIN itself.
   */
  logins: Map<string, Buffer>;
  /** Random per process (per module entry): the PIN hashes are useless outside this process. */
  readonly loginSalt: Buffer;
}

/** One registry per process, shared by every copy of this package (ESM and CJS builds side by side). */
const REGISTRY_KEY = Symbol.for('keyswitch.pkcs11.modules.v1');
const registry: Map<string, ModuleEntry> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] as Map<string, ModuleEntry> | undefined) ??
  (() => {
    const created = new Map<string, ModuleEntry>();
    (globalThis as Record<symbol, unknown>)[REGISTRY_KEY] = created;
    return created;
  })();

/**
 * A reference to a PKCS#11 library that is loaded and initialized once per process and shared by every
 * provider using the same path (PKCS#11 allows one C_Initialize per process; a second pkcs11js instance
 * gets CKR_CRYPTOKI_ALREADY_INITIALIZED, and finalizing one breaks the other). The library is finalized
 * when the last reference is released and no asynchronous call is running; it is never unloaded, so it
 * can be initialized again later.
 */
export class SharedModule {
  readonly #entry: ModuleEntry;
  #released = false;

  constructor(entry: ModuleEntry) {
    this.#entry = entry;
  }

  /** The library, for calling C_* functions. */
  get library(): Pkcs11Library {
    return this.#entry.library;
  }

  /** The resolved module path (the registry key). */
  get path(): string {
    return this.#entry.key;
  }

  /**
   * Runs an asynchronous native call, counting it so that C_Finalize never runs under it (that crashes
   * the process).
   */
  async track<T>(call: Promise<T>): Promise<T> {
    const entry = this.#entry;
    entry.nativeCalls += 1;
    try {
      return await call;
    } finally {
      entry.nativeCalls -= 1;
      if (entry.nativeCalls === 0 && entry.finalizeWhenIdle) finalize(entry);
    }
  }

  /** Whether a token object is being generated now. */
  get generating(): boolean {
    return this.#entry.creations > 0;
  }

  /** Counts a token object being generated until `call` settles (see {@link SharedModule.noCreations}). */
  async creating<T>(call: Promise<T>): Promise<T> {
    const entry = this.#entry;
    entry.creations += 1;
    try {
      return await call;
    } finally {
      entry.creations -= 1;
      if (entry.creations === 0) for (const wake of entry.creationWaiters.splice(0)) wake();
    }
  }

  /**
   * Resolves when no token object is being generated in this process. SoftHSM2's file object store
   * re-indexes its directory in C_FindObjectsInit without holding its lock, and can invalidate an object
   * another thread is creating at that moment (the generation then fails with CKR_GENERAL_ERROR).
   */
  noCreations(): Promise<void> {
    const entry = this.#entry;
    if (entry.creations === 0) return Promise.resolve();
    return new Promise((resolve) => entry.creationWaiters.push(resolve));
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

  /** Drops this reference; the last one finalizes the library (once no native call is running). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const entry = this.#entry;
    entry.refs -= 1;
    if (entry.refs > 0) return;
    if (entry.nativeCalls > 0) entry.finalizeWhenIdle = true;
    else finalize(entry);
  }
}

/**
 * Loads and initializes a PKCS#11 library, or shares the instance already loaded from the same path.
 *
 * @param modulePath - absolute, relative to `baseDir`, or a bare file name for the dynamic loader to find
 * @param libraryParameters - NSS-style C_Initialize parameters (`configdir='sql:…' …`), as NSS should read them
 * @throws CONFIG_INVALID when the file is missing or is not a PKCS#11 library that loads, or when the same
 * library is already initialized with other parameters, or refuses them; UNAVAILABLE when it does not
 * initialize (retryable)
 */
export async function acquireModule(
  modulePath: string,
  options: { libraryParameters?: string | undefined; baseDir?: string | undefined } = {},
): Promise<SharedModule> {
  const api = await loadPkcs11js();
  const key = resolveModulePath(modulePath, options.baseDir);
  let entry = registry.get(key);
  if (!entry) {
    const library = new api.PKCS11();
    try {
      library.load(key);
    } catch (error) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `the PKCS#11 module ${key} failed to load (${firstLine(error)}); ${MODULE_FIX}`,
        { cause: error, path: 'module' },
      );
    }
    entry = {
      key,
      library,
      initialized: false,
      ownsInitialization: false,
      parameters: undefined,
      refs: 0,
      nativeCalls: 0,
      finalizeWhenIdle: false,
      creations: 0,
      creationWaiters: [],
      logins: new Map(),
      loginSalt: randomBytes(32),
    };
    registry.set(key, entry);
  }
  if (entry.initialized) {
    if ((entry.parameters ?? '') !== (options.libraryParameters ?? '')) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `the PKCS#11 module ${key} is already initialized in this process with other libraryParameters; ` +
          'a module can be initialized once per process, so every provider using it must use the same parameters',
      );
    }
  } else {
    initialize(entry, options.libraryParameters);
  }
  entry.refs += 1;
  entry.finalizeWhenIdle = false;
  return new SharedModule(entry);
}

/**
 * The shared instance of a module already loaded in this process, if any. For tests and diagnostics
 * (closing every session under a pool, for instance); providers use {@link acquireModule}.
 */
export function loadedModule(modulePath: string, baseDir?: string): Pkcs11Library | undefined {
  let key: string;
  try {
    key = resolveModulePath(modulePath, baseDir);
  } catch {
    return undefined;
  }
  const entry = registry.get(key);
  return entry?.initialized ? entry.library : undefined;
}

function initialize(entry: ModuleEntry, parameters: string | undefined): void {
  try {
    // pkcs11js 2.1.7 copies libraryParameters one character short (it drops the last one): add a space,
    // which NSS's parameter parser ignores. CKF_OS_LOCKING_OK: without it SoftHSM2 turns its locking off
    // and concurrent asynchronous calls corrupt its heap.
    entry.library.C_Initialize(
      parameters === undefined
        ? { flags: CKF.OS_LOCKING_OK }
        : { flags: CKF.OS_LOCKING_OK, libraryParameters: `${parameters} ` },
    );
    entry.ownsInitialization = true;
  } catch (error) {
    const name = ckrName(error);
    if (name === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      // Another component of this process initialized it: share it, never finalize it.
      entry.ownsInitialization = false;
    } else if (name === 'CKR_ARGUMENTS_BAD' && parameters === undefined) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `the PKCS#11 module ${entry.key} refused C_Initialize without parameters (CKR_ARGUMENTS_BAD); ` +
          `NSS softokn needs "libraryParameters": "configdir='sql:DIR' certPrefix='' keyPrefix='' secmod='secmod.db' flags="`,
        { cause: error },
      );
    } else if (
      name === 'CKR_ARGUMENTS_BAD' ||
      name === 'CKR_NSS_CERTDB_FAILED' ||
      name === 'CKR_NSS_KEYDB_FAILED'
    ) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `the PKCS#11 module ${entry.key} refused its libraryParameters (${name})`,
        {
          cause: error,
        },
      );
    } else {
      throw pkcs11Error(error, `C_Initialize of ${entry.key}`, 'UNAVAILABLE');
    }
  }
  entry.initialized = true;
  entry.parameters = parameters;
}

function finalize(entry: ModuleEntry): void {
  entry.finalizeWhenIdle = false;
  if (!entry.initialized || entry.refs > 0) return;
  entry.initialized = false;
  entry.parameters = undefined;
  entry.logins.clear(); // C_Finalize ends every session, and the login with them
  if (!entry.ownsInitialization) return;
  try {
    entry.library.C_Finalize();
  } catch {
    // The library is being let go; nothing useful can be done with a failure here.
  }
}

function pinHash(salt: Buffer, pin: string): Buffer {
  return createHmac('sha256', salt).update(pin, 'utf8').digest();
}

function resolveModulePath(modulePath: string, baseDir: string | undefined): string {
  if (!modulePath.includes('/')) return modulePath; // a bare name: the dynamic loader's search path
  const absolute = isAbsolute(modulePath) ? modulePath : resolve(baseDir ?? process.cwd(), modulePath);
  try {
    return realpathSync(absolute);
  } catch (error) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `the PKCS#11 module ${absolute} does not exist or cannot be read; ${MODULE_FIX}`,
      { cause: error, path: 'module' },
    );
  }
}

/** What to do about a module that does not load: a configuration error, never worth a retry. */
const MODULE_FIX =
  '"module" must be the path of the token vendor\'s PKCS#11 library (a .so file, such as /usr/lib/softhsm/libsofthsm2.so)';

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
}
