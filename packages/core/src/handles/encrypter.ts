import type { PublicKey } from '../encoding/public-key.js';
import type { EncryptionContext } from '../provider/contract.js';
import type { CallOptions } from '../registry/call-deadline.js';
import type { EncryptionAlgorithm } from '../vocabulary/algorithms.js';
import { KeyHandle } from './key-handle.js';

/** Options for encrypting and decrypting. */
export interface CipherOptions extends CallOptions {
  /** SYMMETRIC_DEFAULT only: non-secret pairs bound to the ciphertext; decrypt needs the same ones. */
  readonly context?: EncryptionContext;
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
}

/**
 * Encrypts and decrypts with a configured key: AES-256-GCM (SYMMETRIC_DEFAULT) with an encryption
 * context, or RSA-OAEP. The key never leaves the backend.
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
   * Encrypts up to 4,096 bytes (SYMMETRIC_DEFAULT) or the OAEP limit of the RSA key.
   *
   * @throws INVALID_INPUT (empty or oversize plaintext; a context with RSA), KEY_DISABLED, KEY_NOT_FOUND
   */
  async encrypt(plaintext: Uint8Array, options: CipherOptions = {}): Promise<Uint8Array> {
    return this.binding.use(
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
      options,
      'encrypt',
    );
  }

  async decrypt(ciphertext: Uint8Array, options: CipherOptions = {}): Promise<Uint8Array> {
    return this.binding.use(
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
      options,
      'decrypt',
    );
  }

  /** For RSA keys: the public key others encrypt to. */
  publicKey(options: CallOptions = {}): Promise<PublicKey> {
    return this.publicKeyOf(options);
  }
}
