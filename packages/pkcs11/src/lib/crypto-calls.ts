import type { MacAlgorithm } from '@keyswitch/core';
import { assertEnabled, explainRefusal } from './key-state.js';
import { hmacMechanism } from './mechanisms.js';
import { type ResolvedKey, stateCheck } from './resolved-key.js';
import type { PooledSession } from './session-pool.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';
import type { WorkerCall, WorkerExecutor } from './worker-executor.js';

/**
 * A cryptographic call with a key (everything the worker runs but C_Verify and C_GenerateRandom).
 *
 * @example
 * ```ts
 * const call: KeyCall = { op: 'sign', mechanism: ECDSA_MECHANISM, data: digest, outputLength: 64 };
 * ```
 */
export type KeyCall = Exclude<WorkerCall, { op: 'verify' | 'random' }>;

/**
 * Runs the cryptographic calls (sign, verify, encrypt, decrypt, MAC, random) with their *Init, in the
 * provider's execution mode: on worker threads, or *Init on the main thread and the call on the libuv pool.
 *
 * @example
 * ```ts
 * const crypto = new CryptoCalls(context, executor);
 * const signature = await crypto.call(session, key, key.primary, { op: 'sign', mechanism, data, outputLength: 64 });
 * ```
 */
export class CryptoCalls {
  readonly #context: TokenContext;
  readonly #executor: WorkerExecutor | undefined;

  constructor(context: TokenContext, executor: WorkerExecutor | undefined) {
    this.#context = context;
    this.#executor = executor;
  }

  /** Where cryptographic calls run: `async` (libuv pool) or `worker` (worker threads). */
  get execution(): 'async' | 'worker' {
    return this.#executor ? 'worker' : 'async';
  }

  /**
   * One cryptographic call with its *Init: on a worker thread when the profile says *Init is slow on this
   * token, else *Init here and the call on the libuv pool (pkcs11js's asynchronous form).
   */
  call(session: PooledSession, resolved: ResolvedKey, key: Handle, call: KeyCall): Promise<Buffer> {
    if (this.#executor) {
      const running = this.#executor.call(session.handle, key, call, stateCheck(resolved));
      return this.#context.pool.run(session, `C_${capitalize(call.op)}`, running) as Promise<Buffer>;
    }
    return this.onMainThread(session, resolved, key, call);
  }

  /** C_VerifyInit and C_Verify: whether the signature verifies (a bad one may also throw). */
  verify(
    session: PooledSession,
    resolved: ResolvedKey,
    key: Handle,
    call: Extract<WorkerCall, { op: 'verify' }>,
  ): Promise<boolean> {
    const pool = this.#context.pool;
    if (this.#executor) {
      const running = this.#executor.call(session.handle, key, call, stateCheck(resolved));
      return pool.run(session, 'C_Verify', running) as Promise<boolean>;
    }
    const library = this.#context.library;
    assertEnabled(library, session.handle, resolved);
    library.C_VerifyInit(session.handle, call.mechanism, key);
    return pool.run(session, 'C_Verify', library.C_VerifyAsync(session.handle, call.data, call.signature), [
      call.data,
      call.signature,
    ]);
  }

  /**
   * *Init on this thread and the call on the libuv pool, whatever the execution mode (for calls whose
   * output only the main thread's buffers see). `keep` pins buffers the native call reads or writes.
   */
  onMainThread(
    session: PooledSession,
    resolved: ResolvedKey,
    key: Handle,
    call: KeyCall,
    keep: readonly Buffer[] = [],
  ): Promise<Buffer> {
    const { library, profile } = this.#context;
    // Tokens that enforce the usage attributes refuse a disabled key themselves: check only on refusal.
    // A public key alone is never refused by the token: its private half's state is checked here.
    const trusted = profile.enforcesUsageAttributes && resolved.kind !== 'public' && key === resolved.primary;
    if (!trusted) assertEnabled(library, session.handle, resolved);
    try {
      return this.#startCall(session, key, call, keep);
    } catch (error) {
      if (trusted) explainRefusal(library, session.handle, resolved, error);
      throw error;
    }
  }

  /** The HMAC of `message` computed on the token. */
  mac(session: PooledSession, key: ResolvedKey, algorithm: MacAlgorithm, message: Buffer): Promise<Buffer> {
    const { mechanism, length } = hmacMechanism(algorithm);
    return this.call(session, key, key.primary, {
      op: 'sign',
      mechanism,
      data: message,
      outputLength: length,
    });
  }

  /** `length` random bytes from the token. */
  async random(session: PooledSession, length: number): Promise<Uint8Array> {
    if (this.#executor) {
      // C_GenerateRandom is synchronous in pkcs11js: off the main thread where calls run on workers.
      const running = this.#executor.call(session.handle, undefined, {
        op: 'random',
        outputLength: length,
      });
      return new Uint8Array((await this.#context.pool.run(session, 'C_GenerateRandom', running)) as Buffer);
    }
    const bytes = this.#context.library.C_GenerateRandom(session.handle, Buffer.alloc(length));
    return new Uint8Array(bytes);
  }

  /** Stops the worker threads, if any. */
  close(): void {
    this.#executor?.close();
  }

  /** *Init here, then the call on the libuv pool. */
  #startCall(session: PooledSession, key: Handle, call: KeyCall, keep: readonly Buffer[]): Promise<Buffer> {
    const { library, pool } = this.#context;
    const output = Buffer.alloc(call.outputLength);
    const pinned = [call.data, output, ...keep];
    switch (call.op) {
      case 'sign':
        library.C_SignInit(session.handle, call.mechanism, key);
        return pool.run(session, 'C_Sign', library.C_SignAsync(session.handle, call.data, output), pinned);
      case 'encrypt':
        library.C_EncryptInit(session.handle, call.mechanism, key);
        return pool.run(
          session,
          'C_Encrypt',
          library.C_EncryptAsync(session.handle, call.data, output),
          pinned,
        );
      case 'decrypt':
        library.C_DecryptInit(session.handle, call.mechanism, key);
        return pool.run(
          session,
          'C_Decrypt',
          library.C_DecryptAsync(session.handle, call.data, output),
          pinned,
        );
    }
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
