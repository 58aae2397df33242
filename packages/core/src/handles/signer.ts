import type { PublicKey } from '../encoding/public-key.js';
import type { SignatureFormat } from '../provider/contract.js';
import type { CallOptions } from '../registry/call-deadline.js';
import type { KeyBinding } from '../registry/key-binding.js';
import type { SigningAlgorithm } from '../vocabulary/algorithms.js';
import { type JoseAlgorithm, toJoseAlgorithm } from '../vocabulary/jose-names.js';
import { KeyHandle, type VersionPublicKey } from './key-handle.js';

/** Options for signing and verifying. */
export interface SignatureOptions extends CallOptions {
  /** ECDSA signature encoding: `DER` (default) or `P1363` (r||s, as JOSE uses). Ignored for RSA. */
  readonly format?: SignatureFormat;
  /**
   * Verifying, for a key with versions: the version the signature names (a JWS `kid`: a version id or the
   * RFC 7638 thumbprint of its public key), tried first. The other versions in use are tried after it.
   */
  readonly kid?: string | undefined;
}

/**
 * Signs with a configured key; the private key never leaves the backend. For a key with versions (the
 * configuration's `versions` section) it signs with the active version, within its cryptoperiod, and
 * verifies with every version in use.
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
   * Signs a message (with the active version, for a key with versions).
   *
   * @throws KEY_DISABLED (the key, or the active version past its cryptoperiod), KEY_NOT_FOUND,
   * CONFIG_INVALID (the backend key does not match the configuration), UNAVAILABLE, THROTTLED
   */
  async sign(message: Uint8Array, options: SignatureOptions = {}): Promise<Uint8Array> {
    return this.#sign(message, 'RAW', options);
  }

  /**
   * Signs a precomputed digest (its length must be the algorithm's hash length).
   *
   * @throws INVALID_INPUT for a digest of the wrong length, and the codes of {@link Signer.sign}
   */
  async signDigest(digest: Uint8Array, options: SignatureOptions = {}): Promise<Uint8Array> {
    return this.#sign(digest, 'DIGEST', options);
  }

  /**
   * Verifies a signature over a message; `false` when it does not verify. A key with versions tries the
   * version `kid` names, then the others in use; it answers `false` only when every one answered `false`.
   *
   * @throws KEY_DISABLED when `kid` names a version past its `disabledFrom`; UNAVAILABLE when a version
   * that might have verified could not be asked
   */
  async verify(message: Uint8Array, signature: Uint8Array, options: SignatureOptions = {}): Promise<boolean> {
    return this.#verify(message, signature, 'RAW', options);
  }

  /** Verifies a signature over a precomputed digest; `false` when it does not verify. */
  async verifyDigest(
    digest: Uint8Array,
    signature: Uint8Array,
    options: SignatureOptions = {},
  ): Promise<boolean> {
    return this.#verify(digest, signature, 'DIGEST', options);
  }

  /** The public key (SPKI DER, PEM, JWK, key id); the active version's, for a key with versions. */
  publicKey(options: CallOptions = {}): Promise<PublicKey> {
    return this.publicKeyOf(options);
  }

  /** The public keys of every version in use, the active one first: what a JWKS publishes. */
  publicKeys(options: CallOptions = {}): Promise<VersionPublicKey[]> {
    return this.publicKeysOf(options);
  }

  #sign(message: Uint8Array, messageType: 'RAW' | 'DIGEST', options: SignatureOptions): Promise<Uint8Array> {
    return this.onActive(
      (binding, deadline) =>
        binding.use(
          (provider, ref, call) =>
            provider.sign(this.#request(binding, ref, message, messageType, options), call),
          deadline,
          'sign',
        ),
      options,
    );
  }

  #verify(
    message: Uint8Array,
    signature: Uint8Array,
    messageType: 'RAW' | 'DIGEST',
    options: SignatureOptions,
  ): Promise<boolean> {
    const check = (binding: KeyBinding, deadline: CallOptions) =>
      binding.use(
        (provider, ref, call) =>
          provider.verify({ ...this.#request(binding, ref, message, messageType, options), signature }, call),
        deadline,
        'verify',
      );
    const versions = this.keyVersions;
    if (versions === undefined) return check(this.binding, options);
    return this.inTurn(
      versions,
      options.kid,
      async (binding, deadline) => ((await check(binding, deadline)) ? true : undefined),
      options,
    ).then((verified) => verified ?? false);
  }

  #request(
    binding: KeyBinding,
    ref: string,
    message: Uint8Array,
    messageType: 'RAW' | 'DIGEST',
    options: SignatureOptions,
  ) {
    return {
      ref,
      algorithm: binding.algorithm as SigningAlgorithm,
      message,
      messageType,
      ...(options.format === undefined ? {} : { signatureFormat: options.format }),
    };
  }
}
