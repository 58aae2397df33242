import type { PublicJwk } from '@keyswitch/core';

/**
 * Decrypts the JWE's encrypted key with RSA-OAEP in the backend. A keyswitch `Decrypter` or `Encrypter`
 * handle (`ks.decrypter('ds-decrypt')`) for an RSA key with `RSAES_OAEP_SHA_256` (JWE `RSA-OAEP-256`) or
 * `RSAES_OAEP_SHA_1` (`RSA-OAEP`) satisfies it.
 *
 * @example
 * ```ts
 * const dsDecrypt: RsaOaepDecrypter = ks.decrypter('ds-decrypt');
 * ```
 */
export interface RsaOaepDecrypter {
  /** `RSAES_OAEP_SHA_256` or `RSAES_OAEP_SHA_1`: which JWE `alg` the key answers. */
  readonly algorithm: string;
  /** Decrypts; `kid` is the JWE's, which a decrypter over several key versions asks first. */
  decrypt(ciphertext: Uint8Array, options?: { readonly kid?: string }): Promise<Uint8Array>;
}

/**
 * Agrees an ECDH shared secret with the key it holds. A keyswitch `KeyAgreement` handle
 * (`ks.keyAgreement('ds-ecdh')`) satisfies it, and so does an {@link EphemeralKeyPair}.
 *
 * @example
 * ```ts
 * const dsAgreement: EcdhKeyAgreement = ks.keyAgreement('ds-ecdh');
 * ```
 */
export interface EcdhKeyAgreement {
  /**
   * The raw ECDH shared secret (the x coordinate) with the peer's public key; `kid` is the JWE's, which
   * names the version of a key agreement with versions.
   */
  deriveSharedSecret(peerPublicKey: PublicJwk, options?: { readonly kid?: string }): Promise<Uint8Array>;
}

/**
 * A key a JWE can be decrypted with, its private half in the backend.
 *
 * @example
 * ```ts
 * const key: JweDecryptionKey = header.alg === 'ECDH-ES' ? ks.keyAgreement('ds-ecdh') : ks.decrypter('ds-decrypt');
 * ```
 */
export type JweDecryptionKey = RsaOaepDecrypter | EcdhKeyAgreement;
