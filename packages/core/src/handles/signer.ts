import type { PublicKey } from '../encoding/public-key.js';
import type { SignatureFormat } from '../provider/contract.js';
import type { CallOptions } from '../registry/call-deadline.js';
import type { SigningAlgorithm } from '../vocabulary/algorithms.js';
import { type JoseAlgorithm, toJoseAlgorithm } from '../vocabulary/jose-names.js';
import { KeyHandle } from './key-handle.js';

/** Options for signing and verifying. */
export interface SignatureOptions extends CallOptions {
  /** ECDSA signature encoding: `DER` (default) or `P1363` (r||s, as JOSE uses). Ignored for RSA. */
  readonly format?: SignatureFormat;
}

/**
 * Signs with a configured key; the private key never leaves the backend.
 *
 * @example
 * ```ts
 * const acs = ks.signer('acs-signing');
 * const signature = await acs.sign(payload, { format: 'P1363' });
 * const ok = await acs.verify(payload, signature, { format: 'P1363' });
 * ```
 */
export class Signer extends KeyHandle<SigningAlgorithm> {
  /** The JOSE name of the algorithm (`ES256`, `PS256`, `RS256`). */
  get joseAlgorithm(): JoseAlgorithm {
    return toJoseAlgorithm(this.algorithm)!;
  }

  /**
   * Signs a message.
   *
   * @throws KEY_DISABLED, KEY_NOT_FOUND, CONFIG_INVALID (the backend key does not match the configuration),
   * UNAVAILABLE, THROTTLED
   */
  async sign(message: Uint8Array, options: SignatureOptions = {}): Promise<Uint8Array> {
    return this.binding.use(
      (provider, ref, call) => provider.sign(this.#request(ref, message, 'RAW', options), call),
      options,
      'sign',
    );
  }

  /**
   * Signs a precomputed digest (its length must be the algorithm's hash length).
   *
   * @throws INVALID_INPUT for a digest of the wrong length, and the codes of {@link Signer.sign}
   */
  async signDigest(digest: Uint8Array, options: SignatureOptions = {}): Promise<Uint8Array> {
    return this.binding.use(
      (provider, ref, call) => provider.sign(this.#request(ref, digest, 'DIGEST', options), call),
      options,
      'sign',
    );
  }

  /** Verifies a signature over a message; `false` when it does not verify. */
  async verify(message: Uint8Array, signature: Uint8Array, options: SignatureOptions = {}): Promise<boolean> {
    return this.binding.use(
      (provider, ref, call) =>
        provider.verify({ ...this.#request(ref, message, 'RAW', options), signature }, call),
      options,
      'verify',
    );
  }

  /** Verifies a signature over a precomputed digest; `false` when it does not verify. */
  async verifyDigest(
    digest: Uint8Array,
    signature: Uint8Array,
    options: SignatureOptions = {},
  ): Promise<boolean> {
    return this.binding.use(
      (provider, ref, call) =>
        provider.verify({ ...this.#request(ref, digest, 'DIGEST', options), signature }, call),
      options,
      'verify',
    );
  }

  /** The public key (SPKI DER, PEM, JWK, key id). */
  publicKey(options: CallOptions = {}): Promise<PublicKey> {
    return this.publicKeyOf(options);
  }

  #request(ref: string, message: Uint8Array, messageType: 'RAW' | 'DIGEST', options: SignatureOptions) {
    return {
      ref,
      algorithm: this.algorithm,
      message,
      messageType,
      ...(options.format === undefined ? {} : { signatureFormat: options.format }),
    };
  }
}
