import type { CallOptions } from '../registry/call-deadline.js';
import type { MacAlgorithm } from '../vocabulary/algorithms.js';
import { KeyHandle } from './key-handle.js';

/**
 * Computes and checks HMACs with a configured key, for keyed hashes of PANs and message authentication.
 *
 * @example
 * ```ts
 * const panHmac = ks.mac('pan-hmac');
 * const token = await panHmac.generate(new TextEncoder().encode(pan));
 * ```
 */
export class Mac extends KeyHandle<MacAlgorithm> {
  /**
   * The HMAC of a message of 1 to 4,096 bytes.
   *
   * @throws INVALID_INPUT, KEY_DISABLED, KEY_NOT_FOUND
   */
  async generate(message: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    return this.binding.use(
      (provider, ref, call) => provider.generateMac({ ref, algorithm: this.algorithm, message }, call),
      options,
      'generateMac',
    );
  }

  /** Whether `mac` is the message's HMAC (compared in constant time by the backend). */
  async verify(message: Uint8Array, mac: Uint8Array, options: CallOptions = {}): Promise<boolean> {
    return this.binding.use(
      (provider, ref, call) => provider.verifyMac({ ref, algorithm: this.algorithm, message, mac }, call),
      options,
      'verifyMac',
    );
  }
}
