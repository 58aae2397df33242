import type { PublicJwk } from '../encoding/jwk.js';
import { type PublicKey, toSpki } from '../encoding/public-key.js';
import { isKeyswitchError } from '../errors.js';
import type { CallOptions } from '../registry/call-deadline.js';
import type { KeyAgreementAlgorithm } from '../vocabulary/algorithms.js';
import { KeyHandle } from './key-handle.js';

/**
 * ECDH with a configured key: only the shared secret leaves the backend.
 *
 * @example
 * ```ts
 * const agreement = ks.keyAgreement('acs-ecdh');
 * const secret = await agreement.deriveSharedSecret(sdkEphemeralPublicJwk);
 * ```
 */
export class KeyAgreement extends KeyHandle<KeyAgreementAlgorithm> {
  /**
   * The raw ECDH shared secret with a peer's public key (SPKI DER, PEM or JWK), on the key's curve.
   *
   * @throws INVALID_INPUT (malformed key, another curve), KEY_DISABLED, KEY_NOT_FOUND
   */
  async deriveSharedSecret(
    peerPublicKey: Uint8Array | string | PublicJwk,
    options: CallOptions = {},
  ): Promise<Uint8Array> {
    let publicKey: Uint8Array;
    try {
      // SPKI bytes go straight to the provider, which parses and checks them once; PEM and JWK are converted.
      publicKey = peerPublicKey instanceof Uint8Array ? peerPublicKey : toSpki(peerPublicKey);
    } catch (error) {
      throw isKeyswitchError(error)
        ? error.withContext({ keyName: this.keyName, provider: this.providerName })
        : error;
    }
    return this.binding.use(
      (provider, ref, call) =>
        provider.deriveSharedSecret({ ref, algorithm: this.algorithm, publicKey }, call),
      options,
      'deriveSharedSecret',
    );
  }

  /** This key's public key, to send to the peer. */
  publicKey(options: CallOptions = {}): Promise<PublicKey> {
    return this.publicKeyOf(options);
  }
}
