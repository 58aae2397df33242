import type { DataKey, DataKeySpec, EncryptionContext } from '../provider/contract.js';
import type { CallOptions } from '../registry/call-deadline.js';
import type { EncryptionAlgorithm } from '../vocabulary/algorithms.js';
import { KeyHandle } from './key-handle.js';

/** Options for data keys. */
export interface DataKeyOptions extends CallOptions {
  /** Bound to the wrapped key; unwrapping needs the same context. */
  readonly context?: EncryptionContext;
  /** AES_256 (default) or AES_128. */
  readonly dataKeySpec?: DataKeySpec;
}

/**
 * Data keys wrapped by a configured SYMMETRIC_DEFAULT key, for envelope encryption.
 *
 * @example
 * ```ts
 * const { plaintext, ciphertextBlob } = await ks.dataKeys('pan-kek').generate({ context: { table: 'cards' } });
 * // encrypt locally with plaintext, store ciphertextBlob, then zero plaintext
 * ```
 */
export class DataKeys extends KeyHandle<EncryptionAlgorithm> {
  /** A new data key: its plaintext (zero it when done) and its wrapped form. */
  async generate(options: DataKeyOptions = {}): Promise<DataKey & { plaintext: Uint8Array }> {
    const { signal, timeoutMs, requestId, ...request } = options;
    const key = await this.binding.use(
      (provider, ref, call) => provider.generateDataKey({ ref, ...request }, call),
      { signal, timeoutMs, requestId },
      'generateDataKey',
    );
    return key as DataKey & { plaintext: Uint8Array };
  }

  /** A new data key in wrapped form only, for another component to unwrap later. */
  async generateWithoutPlaintext(options: DataKeyOptions = {}): Promise<DataKey> {
    const { signal, timeoutMs, requestId, ...request } = options;
    return this.binding.use(
      (provider, ref, call) => provider.generateDataKey({ ref, ...request, withPlaintext: false }, call),
      { signal, timeoutMs, requestId },
      'generateDataKey',
    );
  }

  /**
   * Unwraps a data key made by {@link DataKeys.generate}.
   *
   * @throws INVALID_CIPHERTEXT when the blob was altered or the context differs
   */
  async decrypt(
    ciphertextBlob: Uint8Array,
    options: { context?: EncryptionContext } & CallOptions = {},
  ): Promise<Uint8Array> {
    return this.binding.use(
      (provider, ref, call) =>
        provider.decrypt(
          {
            ref,
            algorithm: 'SYMMETRIC_DEFAULT',
            ciphertext: ciphertextBlob,
            ...(options.context === undefined ? {} : { context: options.context }),
          },
          call,
        ),
      options,
      'decrypt',
    );
  }
}
