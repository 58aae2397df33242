import type { MacAlgorithm } from '@keyswitch/core';
import type { Pkcs11Profile } from '../profiles.js';
import { hmacMechanism } from './mechanisms.js';
import { type ResolvedKey, stateCheck } from './resolved-key.js';
import type { PooledSession, SessionPool } from './session-pool.js';
import type { Handle } from './shared-module.js';
import { signatureFromToken } from './signature-calls.js';
import type { CryptoCall } from './worker-protocol.js';

const CALL_NAMES = {
  sign: 'C_Sign',
  verify: 'C_Verify',
  encrypt: 'C_Encrypt',
  decrypt: 'C_Decrypt',
} as const;

/**
 * Sends the cryptographic calls (sign, verify, encrypt, decrypt, MAC, random) to the worker threads, each
 * with its *Init and the key-state check the profile calls for, in one task.
 *
 * @example
 * ```ts
 * const crypto = new CryptoCalls(pool, profile, () => token.label);
 * const signature = await crypto.call(session, key, key.primary, { op: 'sign', mechanism, data, outputLength: 64 });
 * ```
 */
export class CryptoCalls {
  readonly #pool: SessionPool;
  readonly #profile: Pkcs11Profile;
  readonly #tokenLabel: () => string;

  /** `tokenLabel` names the token in errors about its answers (it may change after a recovery). */
  constructor(pool: SessionPool, profile: Pkcs11Profile, tokenLabel: () => string) {
    this.#pool = pool;
    this.#profile = profile;
    this.#tokenLabel = tokenLabel;
  }

  /**
   * One cryptographic call with its *Init. Tokens that enforce the usage attributes refuse a disabled key
   * themselves: the key's state is then read only on refusal. A public key alone is never refused by the
   * token: its private half's state is checked first.
   */
  async call(session: PooledSession, resolved: ResolvedKey, key: Handle, call: CryptoCall): Promise<Buffer> {
    const output = (await this.#run(session, resolved, key, call, false)).output as Buffer;
    return call.op === 'sign' ? signatureFromToken(output, call.outputLength, this.#tokenLabel()) : output;
  }

  /** C_VerifyInit and C_Verify: whether the signature verifies (a bad one may also throw). */
  async verify(
    session: PooledSession,
    resolved: ResolvedKey,
    key: Handle,
    call: Extract<CryptoCall, { op: 'verify' }>,
  ): Promise<boolean> {
    return (await this.#run(session, resolved, key, call, false)).output as boolean;
  }

  /** Like {@link CryptoCalls.call}, and also answers the IV the token wrote into the mechanism (AES-GCM). */
  async callWithIv(
    session: PooledSession,
    resolved: ResolvedKey,
    key: Handle,
    call: CryptoCall,
  ): Promise<{ output: Buffer; iv: Buffer | undefined }> {
    const { output, iv } = await this.#run(session, resolved, key, call, true);
    return { output: output as Buffer, iv };
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
    const bytes = await this.#pool.run(session, 'C_GenerateRandom', {
      kind: 'random',
      session: session.handle,
      length,
    });
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #run(session: PooledSession, resolved: ResolvedKey, key: Handle, call: CryptoCall, returnIv: boolean) {
    const trusted =
      this.#profile.enforcesUsageAttributes && resolved.kind !== 'public' && key === resolved.primary;
    const check = stateCheck(resolved);
    return this.#pool.run(session, CALL_NAMES[call.op], {
      kind: 'crypto',
      session: session.handle,
      key,
      call,
      state: trusted ? undefined : check,
      explain: trusted ? check : undefined,
      returnIv,
    });
  }
}
