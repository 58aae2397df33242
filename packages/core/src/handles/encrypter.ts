import type { PublicKey } from '../encoding/public-key.js';
import { isKeyswitchError } from '../errors.js';
import type { EncryptionContext } from '../provider/contract.js';
import type { CallOptions } from '../registry/call-deadline.js';
import type { KeyBinding } from '../registry/key-binding.js';
import type { EncryptionAlgorithm } from '../vocabulary/algorithms.js';
import { KeyHandle, type VersionPublicKey } from './key-handle.js';

/** Options for encrypting and decrypting. */
export interface CipherOptions extends CallOptions {
  /** SYMMETRIC_DEFAULT only: non-secret pairs bound to the ciphertext; decrypt needs the same ones. */
  readonly context?: EncryptionContext;
  /**
   * Decrypting, for a key with versions: the version the ciphertext names (a JWE `kid`: a version id or
   * the RFC 7638 thumbprint of its public key), tried first. The other versions in use are tried after it.
   */
  readonly kid?: string | undefined;
}

/** Decrypts with a configured key: what a component that only opens data is given. */
export interface Decrypter {
  readonly keyName: string;
  readonly algorithm: EncryptionAlgorithm;
  /**
   * Decrypts. A tampered ciphertext or a different context gives INVALID_CIPHERTEXT.
   *
   * @throws INVALID_CIPHERTEXT, KEY_DISABLED, KEY_NOT_FOUND, UNAVAILABLE
   */
  decrypt(ciphertext: Uint8Array, options?: CipherOptions): Promise<Uint8Array>;
  /** For RSA keys: the public key senders encrypt to (USAGE_MISMATCH for symmetric keys). */
  publicKey(): Promise<PublicKey>;
  /** For RSA keys: the public keys of every version in use, the active one first. */
  publicKeys(): Promise<VersionPublicKey[]>;
}

/**
 * Encrypts and decrypts with a configured key: AES-256-GCM (SYMMETRIC_DEFAULT) with an encryption
 * context, or RSA-OAEP. The key never leaves the backend. For a key with versions (the configuration's
 * `versions` section) it encrypts under the active version, within its cryptoperiod, and decrypts under
 * the version the ciphertext names, else each version in use in turn (a DS rotating the key its SDKs
 * encrypt to keeps decrypting under both for the transition window).
 *
 * @example
 * ```ts
 * const kek = ks.encrypter('pan-kek');
 * const ciphertext = await kek.encrypt(record, { context: { tenant: 't1' } });
 * const record2 = await kek.decrypt(ciphertext, { context: { tenant: 't1' } });
 * ```
 */
export class Encrypter extends KeyHandle<EncryptionAlgorithm> implements Decrypter {
  /**
   * Encrypts up to 4,096 bytes (SYMMETRIC_DEFAULT) or the OAEP limit of the RSA key (under the active
   * version, for a key with versions).
   *
   * @throws INVALID_INPUT (empty or oversize plaintext; a context with RSA), KEY_DISABLED (the key, or the
   * active version past its cryptoperiod), KEY_NOT_FOUND
   */
  async encrypt(plaintext: Uint8Array, options: CipherOptions = {}): Promise<Uint8Array> {
    return this.onActive(
      (binding, deadline) =>
        binding.use(
          (provider, ref, call) =>
            provider.encrypt(
              {
                ref,
                algorithm: this.algorithm,
                plaintext,
                ...(options.context === undefined ? {} : { context: options.context }),
              },
              call,
            ),
          deadline,
          'encrypt',
        ),
      options,
    );
  }

  /**
   * Decrypts. A key with versions tries the version `kid` names, then the others in use; a ciphertext none
   * of them decrypts is INVALID_CIPHERTEXT.
   *
   * @throws INVALID_CIPHERTEXT, KEY_DISABLED (also: `kid` names a version past its `disabledFrom`),
   * KEY_NOT_FOUND, UNAVAILABLE (a version that might have decrypted could not be asked)
   */
  async decrypt(ciphertext: Uint8Array, options: CipherOptions = {}): Promise<Uint8Array> {
    const run = (binding: KeyBinding, deadline: CallOptions) =>
      binding.use(
        (provider, ref, call) =>
          provider.decrypt(
            {
              ref,
              algorithm: this.algorithm,
              ciphertext,
              ...(options.context === undefined ? {} : { context: options.context }),
            },
            call,
          ),
        deadline,
        'decrypt',
      );
    const versions = this.keyVersions;
    if (versions === undefined) return run(this.binding, options);
    let invalid: unknown;
    const plaintext = await this.inTurn(
      versions,
      options.kid,
      async (binding, deadline) => {
        try {
          return await run(binding, deadline);
        } catch (error) {
          // Another version's ciphertext: the next version is asked.
          if (!isKeyswitchError(error, 'INVALID_CIPHERTEXT')) throw error;
          invalid ??= error;
          return undefined;
        }
      },
      options,
    );
    if (plaintext === undefined) throw invalid;
    return plaintext;
  }

  /** For RSA keys: the public key others encrypt to (the active version's, for a key with versions). */
  publicKey(options: CallOptions = {}): Promise<PublicKey> {
    return this.publicKeyOf(options);
  }

  /** For RSA keys: the public keys of every version in use, the active one first. */
  publicKeys(options: CallOptions = {}): Promise<VersionPublicKey[]> {
    return this.publicKeysOf(options);
  }
}
