/**
 * Process-wide state of one PKCS#11 module path that every thread of the process sees: a lock that
 * C_Initialize and C_Finalize run under, and the number of providers using the module.
 *
 * Why: PKCS#11 modules are not required to survive C_Initialize called by two threads at once, and
 * SoftHSM2 does not (its mechanism table is filled without a lock, and the process crashes). Nor may
 * C_Finalize run while another provider's thread has just found the module initialized and is about to
 * use it. Worker threads start at any time (a provider opening, a stuck thread replaced), so the rule is
 * kept in shared memory, where every thread can take the lock without a round trip to the main thread.
 */

import { threadId } from 'node:worker_threads';
import { processRegistry } from './process-registry.js';

/** Slots of the shared Int32Array. */
const LOCK = 0;
const USERS = 1;

/** One registry per process, shared by every copy of this package (ESM and CJS builds side by side). */
const lifecycles = processRegistry<SharedArrayBuffer>('keyswitch.pkcs11.lifecycles.v1');

/**
 * The shared lifecycle state of a module path (created on first use). Pass it to worker threads in
 * their setup; it is only ever read through {@link withLifecycleLock} and the user count functions.
 *
 * @example
 * ```ts
 * const lifecycle = moduleLifecycle('/usr/lib/softhsm/libsofthsm2.so');
 * ```
 */
export function moduleLifecycle(modulePath: string): SharedArrayBuffer {
  let shared = lifecycles.get(modulePath);
  if (shared === undefined) {
    shared = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    lifecycles.set(modulePath, shared);
  }
  return shared;
}

/**
 * Runs `body` (C_Initialize, C_Finalize) holding the module's lifecycle lock, blocking the calling
 * thread while another thread holds it. Only worker threads call this, except test helpers.
 *
 * @example
 * ```ts
 * withLifecycleLock(setup.lifecycle, () => library.C_Initialize({ flags: 2 }));
 * ```
 */
export function withLifecycleLock<T>(shared: SharedArrayBuffer, body: () => T): T {
  const state = new Int32Array(shared);
  // The holder's thread id + 1 (the main thread's id is 0): a thread that dies holding it can be found.
  const holder = threadId + 1;
  for (;;) {
    const seen = Atomics.compareExchange(state, LOCK, 0, holder);
    if (seen === 0) break;
    Atomics.wait(state, LOCK, seen, 50);
  }
  try {
    return body();
  } finally {
    Atomics.compareExchange(state, LOCK, holder, 0);
    Atomics.notify(state, LOCK);
  }
}

/**
 * Frees the lock if the thread `deadThreadId` held it: a worker thread terminated inside C_Finalize (its
 * deadline passed, then its provider closed) never runs the code that releases it. Called by the main
 * thread when a worker thread has exited.
 *
 * @example
 * ```ts
 * worker.on('exit', () => releaseLockOf(lifecycle, id));
 * ```
 */
export function releaseLockOf(shared: SharedArrayBuffer, deadThreadId: number): void {
  const state = new Int32Array(shared);
  if (Atomics.compareExchange(state, LOCK, deadThreadId + 1, 0) === deadThreadId + 1)
    Atomics.notify(state, LOCK);
}

/**
 * Counts a provider as a user of the module from before its threads start: a provider closing then
 * leaves the module initialized for it.
 *
 * @example
 * ```ts
 * const leave = joinModule(lifecycle);
 * // … on close:
 * leave();
 * ```
 * @returns a function that ends the use (once; later calls do nothing)
 */
export function joinModule(shared: SharedArrayBuffer): () => void {
  const state = new Int32Array(shared);
  Atomics.add(state, USERS, 1);
  let left = false;
  return () => {
    if (left) return;
    left = true;
    Atomics.sub(state, USERS, 1);
  };
}

/**
 * How many providers use the module now. Read under the lock before C_Finalize: a provider that joined
 * meanwhile keeps the module initialized.
 *
 * @example
 * ```ts
 * withLifecycleLock(lifecycle, () => { if (moduleUsers(lifecycle) === 0) library.C_Finalize(); });
 * ```
 */
export function moduleUsers(shared: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(shared), USERS);
}
