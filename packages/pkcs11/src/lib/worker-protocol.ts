import { type ErrorCode, isKeyswitchError, KeyswitchError } from '@keyswitch/core';
import type { Mechanism } from 'pkcs11js';
import type { Pkcs11Uri } from '../key-uri.js';
import type { Pkcs11ProfileName } from '../profiles.js';
import type { ProbeResult } from './capability-probe.js';
import type { KeyGeneration } from './key-templates.js';
import type { ResolvedKey } from './resolved-key.js';
import type { Handle } from './shared-module.js';
import type { FoundToken, TokenSelector } from './token.js';

// The typed messages between the provider (main thread) and the PKCS#11 worker threads. Every PKCS#11
// call runs on a worker; the main thread sends one task per step and never loads the library itself.

/**
 * A key-state check run just before a cryptographic call: the call fails with KEY_DISABLED unless one of
 * `attributes` of `handle` is true.
 *
 * @example
 * ```ts
 * const state: StateCheck = { handle: key.primary, attributes: [CKA.SIGN] };
 * ```
 */
export interface StateCheck {
  readonly handle: Handle;
  readonly attributes: readonly number[];
}

/**
 * One cryptographic call, *Init included.
 *
 * @example
 * ```ts
 * const call: CryptoCall = { op: 'sign', mechanism: ECDSA_MECHANISM, data: digest, outputLength: 64 };
 * ```
 */
export type CryptoCall =
  | {
      readonly op: 'sign' | 'encrypt' | 'decrypt';
      readonly mechanism: Mechanism;
      readonly data: Buffer;
      readonly outputLength: number;
    }
  | {
      readonly op: 'verify';
      readonly mechanism: Mechanism;
      readonly data: Buffer;
      readonly signature: Buffer;
    };

/**
 * What every task about the token's keys carries: the session, the token, the profile and the pool's generation.
 *
 * @example
 * ```ts
 * const common: OnToken = { session, token, profile: 'softhsm', generation: 0 };
 * ```
 */
export interface OnToken {
  readonly session: Handle;
  readonly token: FoundToken;
  readonly profile: Pkcs11ProfileName;
  /** The session pool's generation, recorded in resolved keys. */
  readonly generation: number;
}

/**
 * A task for a worker thread, and what it answers.
 *
 * @example
 * ```ts
 * const task: Task = { kind: 'random', session, length: 32 };
 * ```
 */
export type Task =
  /**
   * C_Finalize, unless another provider uses the module (`ownLoading`: the module keeps a state per
   * loading, and this finalizes the thread's own).
   */
  | { readonly kind: 'finalize'; readonly ownLoading: boolean }
  | { readonly kind: 'reinitialize' }
  | { readonly kind: 'findToken'; readonly selector: TokenSelector }
  | { readonly kind: 'tokenPresent'; readonly slot: Handle }
  | { readonly kind: 'openSession'; readonly slot: Handle; readonly pin: string }
  | { readonly kind: 'closeSession'; readonly session: Handle }
  | { readonly kind: 'loggedIn'; readonly session: Handle }
  | (OnToken & { readonly kind: 'probe' })
  | (OnToken & { readonly kind: 'lookup'; readonly uri: Pkcs11Uri; readonly ref: string })
  | (OnToken & { readonly kind: 'list'; readonly offset: number; readonly limit: number })
  | (OnToken & {
      readonly kind: 'createKey';
      readonly keyGeneration: KeyGeneration;
      readonly label: string | undefined;
    })
  | (OnToken & { readonly kind: 'setState'; readonly key: ResolvedKey; readonly enable: boolean })
  | (OnToken & { readonly kind: 'publicKey'; readonly key: ResolvedKey })
  | (OnToken & { readonly kind: 'derive'; readonly key: ResolvedKey; readonly point: Uint8Array })
  | {
      readonly kind: 'crypto';
      readonly session: Handle;
      readonly key: Handle;
      readonly call: CryptoCall;
      /** Checked before the call; absent when the token is trusted to refuse a disabled key itself. */
      readonly state: StateCheck | undefined;
      /** Checked after the token refused the key (CKR_KEY_FUNCTION_NOT_PERMITTED): KEY_DISABLED when so. */
      readonly explain: StateCheck | undefined;
      /** Also answer the mechanism's IV after the call (a token that writes its own IV there). */
      readonly returnIv: boolean;
    }
  | { readonly kind: 'random'; readonly session: Handle; readonly length: number };

/** The answer to each kind of task. */
export interface TaskResults {
  finalize: { readonly finalized: boolean };
  reinitialize: { readonly ownsInitialization: boolean };
  findToken: FoundToken;
  tokenPresent: boolean;
  openSession: { readonly handle: Handle; readonly alreadyLoggedIn: boolean };
  closeSession: undefined;
  loggedIn: boolean;
  probe: ProbeResult;
  lookup: ResolvedKey;
  list: { readonly keys: readonly ResolvedKey[]; readonly next: number; readonly total: number };
  createKey: ResolvedKey;
  setState: undefined;
  publicKey: Uint8Array;
  derive: Uint8Array;
  crypto: { readonly output: Buffer | boolean; readonly iv: Buffer | undefined };
  random: Buffer;
}

/**
 * What a task of a kind answers.
 *
 * @example
 * ```ts
 * const token: TaskResult<{ kind: 'findToken'; selector: TokenSelector }> = await workers.run(task);
 * ```
 */
export type TaskResult<T extends Task> = TaskResults[T['kind']];

/**
 * A PKCS#11 test-only fault: delays a function by `delayMs`, or makes it fail with `error` (a CKR_* name),
 * `times` times (every time when absent); with `when`, only calls whose template matches count.
 *
 * @example
 * ```ts
 * const stall: Fault = { function: 'C_SignInit', delayMs: 300 };
 * const noSessionKeys: Fault = {
 *   function: 'C_GenerateKey',
 *   error: 'CKR_TEMPLATE_INCONSISTENT',
 *   when: { attributes: [0x01], equals: false }, // CKA_TOKEN=false
 * };
 * ```
 */
export interface Fault {
  readonly function: string;
  readonly delayMs?: number;
  readonly error?: string;
  readonly times?: number;
  readonly when?: TemplateCondition;
}

/**
 * Which calls a {@link Fault} applies to: those with a template (an argument that is an array of
 * attributes) holding one of `attributes` whose value is `equals`, or a number above `above`.
 *
 * @example
 * ```ts
 * const largeRsa: TemplateCondition = { attributes: [0x121], above: 3072 }; // CKA_MODULUS_BITS > 3072
 * ```
 */
export interface TemplateCondition {
  readonly attributes: readonly number[];
  readonly equals?: boolean | number;
  readonly above?: number;
}

/** What a worker is started with. */
export interface WorkerSetup {
  readonly module: string;
  /** C_Initialize library parameters (NSS), as the module should read them. */
  readonly parameters: string | undefined;
  readonly faults: readonly Fault[];
  /** Per fault: how many more times it applies (Int32), then how many times it applied. */
  readonly faultCounters: SharedArrayBuffer;
  /** The module's process-wide lifecycle lock and user count (see module-lifecycle.ts). */
  readonly lifecycle: SharedArrayBuffer;
}

/** A message to a worker. */
export interface TaskMessage {
  readonly id: number;
  readonly task: Task;
}

/** An error, as it crosses between threads. */
export interface ErrorShape {
  readonly message: string;
  readonly method: string | undefined;
  readonly code: number | undefined;
  readonly keyswitch:
    | {
        readonly code: ErrorCode;
        readonly detail: string;
        readonly retryable: boolean;
        readonly path: string | undefined;
        readonly cause: ErrorShape | undefined;
      }
    | undefined;
}

/** What a worker says once it has loaded the library (or failed to): it answers tasks from now on. */
export interface ReadyMessage {
  readonly ready: true;
  /** Whether this thread's C_Initialize initialized the module (false: it already was, in this process). */
  readonly ownsInitialization: boolean;
}

/** A worker's answer. */
export type ReplyMessage =
  | { readonly id: number; readonly result: unknown; readonly error?: undefined }
  | { readonly id: number; readonly error: ErrorShape };

/**
 * An error in a form that crosses threads (keyswitch errors keep code, detail and retryability; pkcs11js
 * errors their CKR_* message, code and function).
 *
 * @example
 * ```ts
 * port.postMessage({ id, error: errorShape(error) });
 * ```
 */
export function errorShape(error: unknown): ErrorShape {
  const fields = (error ?? {}) as { message?: unknown; method?: unknown; code?: unknown; cause?: unknown };
  return {
    message: typeof fields.message === 'string' ? fields.message : String(error),
    method: typeof fields.method === 'string' ? fields.method : undefined,
    code: typeof fields.code === 'number' ? fields.code : undefined,
    keyswitch: isKeyswitchError(error)
      ? {
          code: error.code,
          detail: error.detail,
          retryable: error.retryable,
          path: error.path,
          cause: error.cause === undefined ? undefined : errorShape(error.cause),
        }
      : undefined,
  };
}

/**
 * The error an {@link ErrorShape} describes, rebuilt on this thread.
 *
 * @example
 * ```ts
 * reject(errorFromShape(reply.error));
 * ```
 */
export function errorFromShape(shape: ErrorShape): Error {
  if (shape.keyswitch !== undefined) {
    const { code, detail, retryable, path, cause } = shape.keyswitch;
    return new KeyswitchError(code, detail, {
      retryable,
      path,
      ...(cause === undefined ? {} : { cause: errorFromShape(cause) }),
    });
  }
  const error = new Error(shape.message) as Error & { method?: string; code?: number };
  if (shape.method !== undefined) error.method = shape.method;
  if (shape.code !== undefined) error.code = shape.code;
  return error;
}

/**
 * Turns the Uint8Arrays a structured clone made of Buffers back into Buffers (views, no copies), in place
 * through arrays, plain objects and Map values.
 *
 * @example
 * ```ts
 * const task = revive(message.task);
 * ```
 */
export function revive<T>(value: T): T {
  return reviveValue(value) as T;
}

function reviveValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) value[index] = reviveValue(value[index]);
    return value;
  }
  if (value instanceof Map) {
    for (const [key, entry] of value) value.set(key, reviveValue(entry));
    return value;
  }
  if (value instanceof Set) return value;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = reviveValue(record[key]);
  return value;
}
