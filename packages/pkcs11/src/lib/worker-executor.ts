import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KeyswitchError } from '@keyswitch/core';
import type { Mechanism } from 'pkcs11js';
import type { Handle } from './shared-module.js';

/** One cryptographic call, *Init included, for a worker thread to run synchronously. */
/**
 * A key-state check run just before the call: the call fails with KEY_DISABLED unless one of
 * `attributes` of `handle` is true.
 */
export interface StateCheck {
  readonly handle: Handle;
  readonly attributes: readonly number[];
}

export type WorkerCall =
  | {
      readonly op: 'sign';
      readonly mechanism: Mechanism;
      readonly data: Buffer;
      readonly outputLength: number;
    }
  | {
      readonly op: 'verify';
      readonly mechanism: Mechanism;
      readonly data: Buffer;
      readonly signature: Buffer;
    }
  | {
      readonly op: 'encrypt';
      readonly mechanism: Mechanism;
      readonly data: Buffer;
      readonly outputLength: number;
    }
  | {
      readonly op: 'decrypt';
      readonly mechanism: Mechanism;
      readonly data: Buffer;
      readonly outputLength: number;
    }
  | {
      readonly op: 'random';
      readonly outputLength: number;
    };

interface Pending {
  resolve(value: Buffer | boolean): void;
  reject(error: unknown): void;
}

/**
 * The worker's program (CommonJS, run with `eval`). It loads its own pkcs11js instance of the same
 * library: PKCS#11 state (initialization, sessions, logins, object handles) belongs to the process, so the
 * sessions the main thread opened are valid here. It never initializes a module nobody else initialized,
 * and never finalizes: the main thread owns the module's lifetime.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const pkcs11js = require(workerData.pkcs11js);
const library = new pkcs11js.PKCS11();
library.load(workerData.module);
const buffer = (value) => (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value);
const mechanism = (value) => {
  if (!value.parameter || typeof value.parameter !== 'object' || value.parameter instanceof Uint8Array) {
    return { mechanism: value.mechanism, parameter: buffer(value.parameter) };
  }
  const parameter = {};
  for (const [name, field] of Object.entries(value.parameter)) parameter[name] = buffer(field);
  return { mechanism: value.mechanism, parameter };
};
parentPort.on('message', (message) => {
  const { id, call, state } = message;
  const session = buffer(message.session);
  const key = buffer(message.key);
  try {
    if (state) {
      const values = library.C_GetAttributeValue(session, buffer(state.handle), state.attributes.map((type) => ({ type })));
      if (!values.some((attribute) => attribute.value.length > 0 && attribute.value[0] !== 0)) {
        parentPort.postMessage({ id, disabled: true });
        return;
      }
    }
    let result;
    switch (call.op) {
      case 'sign':
        library.C_SignInit(session, mechanism(call.mechanism), key);
        result = library.C_Sign(session, buffer(call.data), Buffer.alloc(call.outputLength));
        break;
      case 'verify':
        library.C_VerifyInit(session, mechanism(call.mechanism), key);
        result = library.C_Verify(session, buffer(call.data), buffer(call.signature));
        break;
      case 'encrypt':
        library.C_EncryptInit(session, mechanism(call.mechanism), key);
        result = library.C_Encrypt(session, buffer(call.data), Buffer.alloc(call.outputLength));
        break;
      case 'decrypt':
        library.C_DecryptInit(session, mechanism(call.mechanism), key);
        result = library.C_Decrypt(session, buffer(call.data), Buffer.alloc(call.outputLength));
        break;
      case 'random':
        result = library.C_GenerateRandom(session, Buffer.alloc(call.outputLength));
        break;
      default:
        throw new Error('unknown call ' + call.op);
    }
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error && error.message), method: error && error.method, code: error && error.code } });
  }
});
`;

let pkcs11jsPath: string | undefined;

/**
 * Runs *Init and the cryptographic call together on worker threads, for tokens whose *Init calls are
 * slow (NSS softokn decrypts a token RSA key from its database in C_SignInit, about 50 ms; a network HSM
 * may make a round trip). pkcs11js's asynchronous calls only cover the second half, so on such tokens the
 * main thread would stall in *Init.
 */
interface WorkerEntry {
  readonly worker: Worker;
  busy: number;
  readonly calls: Set<number>;
  dead: boolean;
}

/** At most this many replacements of dead workers per minute (per thread), so a broken setup does not spin. */
const RESTARTS_PER_MINUTE = 5;

export class WorkerExecutor {
  readonly #workers: WorkerEntry[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #module: string;
  readonly #threads: number;
  readonly #restarts: number[] = [];
  #next = 0;
  #closed = false;

  constructor(options: { module: string; threads?: number | undefined }) {
    pkcs11jsPath ??= createRequire(import.meta.url).resolve('pkcs11js');
    this.#module = options.module;
    this.#threads = options.threads ?? Math.min(4, Math.max(2, availableParallelism()));
    for (let index = 0; index < this.#threads; index += 1) this.#spawn();
  }

  /** The live worker threads (for tests and diagnostics). */
  get workers(): readonly Worker[] {
    return this.#workers.map((entry) => entry.worker);
  }

  /** Runs one call on the least busy worker. */
  call(
    session: Handle,
    key: Handle | undefined,
    call: WorkerCall,
    state?: StateCheck,
  ): Promise<Buffer | boolean> {
    if (this.#closed) return Promise.reject(new KeyswitchError('CLOSED', 'the provider is closed'));
    const live = this.#workers.filter((candidate) => !candidate.dead);
    if (live.length === 0) {
      return Promise.reject(
        new KeyswitchError('UNAVAILABLE', 'no PKCS#11 worker thread is running (they keep failing)'),
      );
    }
    const entry = live.reduce((best, candidate) => (candidate.busy < best.busy ? candidate : best));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      entry.busy += 1;
      entry.calls.add(id);
      entry.worker.postMessage({ id, session, key, call, state });
    });
  }

  /**
   * Stops the workers. Calls still running are left unsettled, so the module is never finalized under
   * them; a worker stuck in a native call is not waited for (it exits when the call returns).
   */
  close(): void {
    this.#closed = true;
    for (const entry of this.#workers) entry.worker.terminate().catch(() => undefined);
  }

  #spawn(): void {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { pkcs11js: pkcs11jsPath, module: this.#module },
    });
    const entry: WorkerEntry = { worker, busy: 0, calls: new Set<number>(), dead: false };
    worker.unref();
    worker.on(
      'message',
      (message: {
        id: number;
        result?: Buffer | boolean;
        error?: Record<string, unknown>;
        disabled?: boolean;
      }) => {
        entry.busy -= 1;
        entry.calls.delete(message.id);
        const pending = this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id);
        if (message.disabled) pending.reject(new KeyswitchError('KEY_DISABLED', 'the key is disabled'));
        else if (message.error)
          pending.reject(Object.assign(new Error(String(message.error.message)), message.error));
        else pending.resolve(toBuffer(message.result!));
      },
    );
    worker.on('error', (error) => this.#fail(entry, error));
    worker.on('exit', () => this.#fail(entry, new Error('the PKCS#11 worker thread exited')));
    this.#workers.push(entry);
  }

  #fail(entry: WorkerEntry, error: unknown): void {
    if (this.#closed || entry.dead) return;
    entry.dead = true;
    const index = this.#workers.indexOf(entry);
    if (index !== -1) this.#workers.splice(index, 1);
    // A worker that died takes its calls with it: fail them (their native calls are over).
    for (const id of entry.calls) {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      pending?.reject(new KeyswitchError('UNAVAILABLE', 'a PKCS#11 worker thread failed', { cause: error }));
    }
    entry.calls.clear();
    entry.worker.terminate().catch(() => undefined);
    // Replace it, unless workers keep dying (a module that cannot load there, say).
    const now = Date.now();
    while (this.#restarts.length > 0 && this.#restarts[0]! < now - 60_000) this.#restarts.shift();
    if (this.#restarts.length >= RESTARTS_PER_MINUTE * this.#threads) return;
    this.#restarts.push(now);
    this.#spawn();
  }
}

function toBuffer(value: Buffer | boolean | Uint8Array): Buffer | boolean {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}
