import type { PublicJwk } from '../encoding/jwk.js';
import { type PublicKey, toSpki } from '../encoding/public-key.js';
import { isKeyswitchError } from '../errors.js';
import type { CallOptions } from '../registry/call-deadline.js';
import type { KeyAgreementAlgorithm } from '../vocabulary/algorithms.js';
import { KeyHandle, type VersionPublicKey } from './key-handle.js';

/** Options of a key agreement. */
export interface KeyAgreementOptions extends CallOptions {
  /**
   * For a key with versions: the version the peer used (a JWE `kid`: a version id or the RFC 7638
   * thumbprint of its public key). Without it, or when no version has it, the active version agrees.
   */
  readonly kid?: string | undefined;
}

/**
 * ECDH with a configured key: only the shared secret leaves the backend. For a key with versions (the
 * configuration's `versions` section) the version `kid` names agrees, else the active one: an ECDH answer
 * cannot tell a wrong version, so versions are not tried in turn.
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
    options: KeyAgreementOptions = {},
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
    return this.onVersion(
      (versions) => versions.versionFor(options.kid),
      (binding, deadline) =>
        binding.use(
          (provider, ref, call) =>
            provider.deriveSharedSecret({ ref, algorithm: this.algorithm, publicKey }, call),
          deadline,
          'deriveSharedSecret',
        ),
      options,
    );
  }

  /** The public keys of every version in use, the active one first: what a JWKS publishes. */
  publicKeys(options: CallOptions = {}): Promise<VersionPublicKey[]> {
    return this.publicKeysOf(options);
  }

  /** This key's public key, to send to the peer (the active version's, for a key with versions). */
  publicKey(options: CallOptions = {}): Promise<PublicKey> {
    return this.publicKeyOf(options);
  }
}
