import type { CallOptions } from '../registry/call-deadline.js';
import type { KeyBinding } from '../registry/key-binding.js';
import type { MacAlgorithm } from '../vocabulary/algorithms.js';
import { KeyHandle } from './key-handle.js';

/** Options for MACs. */
export interface MacOptions extends CallOptions {
  /** Verifying, for a key with versions: the version id the MAC names, tried first. */
  readonly kid?: string | undefined;
}

/**
 * Computes and checks HMACs with a configured key, for keyed hashes of PANs and message authentication.
 * For a key with versions (the configuration's `versions` section) it computes with the active version,
 * within its cryptoperiod, and verifies with every version in use.
 *
 * @example
 * ```ts
 * const panHmac = ks.mac('pan-hmac');
 * const token = await panHmac.generate(new TextEncoder().encode(pan));
 * ```
 */
export class Mac extends KeyHandle<MacAlgorithm> {
  /**
   * The HMAC of a message of 1 to 4,096 bytes (with the active version, for a key with versions).
   *
   * @throws INVALID_INPUT, KEY_DISABLED (also: the active version past its cryptoperiod), KEY_NOT_FOUND
   */
  async generate(message: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    return this.onActive(
      (binding, deadline) =>
        binding.use(
          (provider, ref, call) =>
            provider.generateMac({ ref, algorithm: binding.algorithm as MacAlgorithm, message }, call),
          deadline,
          'generateMac',
        ),
      options,
    );
  }

  /**
   * Whether `mac` is the message's HMAC (compared in constant time by the backend). A key with versions
   * tries the version `kid` names, then the others in use; `false` only when every one answered `false`.
   */
  async verify(message: Uint8Array, mac: Uint8Array, options: MacOptions = {}): Promise<boolean> {
    const run = (binding: KeyBinding, deadline: CallOptions) =>
      binding.use(
        (provider, ref, call) =>
          provider.verifyMac({ ref, algorithm: binding.algorithm as MacAlgorithm, message, mac }, call),
        deadline,
        'verifyMac',
      );
    const versions = this.keyVersions;
    if (versions === undefined) return run(this.binding, options);
    const verified = await this.inTurn(
      versions,
      options.kid,
      async (binding, deadline) => ((await run(binding, deadline)) ? true : undefined),
      options,
    );
    return verified ?? false;
  }
}
