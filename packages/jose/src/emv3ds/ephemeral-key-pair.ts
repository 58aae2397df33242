import { diffieHellman, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { type EcPublicJwk, invalidInput, type PublicJwk, publicKeyFromSpki } from '@keyswitch/core';
import { type PublicKeyInput, resolvePublicKey } from '../lib/public-key-input.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * An ephemeral P-256 key pair for one 3-D Secure transaction. The private key stays inside the object:
 * only the shared secret with a peer's public key comes out. It satisfies the key agreement interface, so it
 * can stand wherever a backend `KeyAgreement` handle can.
 *
 * @example
 * ```ts
 * const pair: EphemeralKeyPair = await generateEphemeralKeyPair();
 * const sharedSecret = await pair.deriveSharedSecret(peerJwk);
 * ```
 */
export interface EphemeralKeyPair {
  /** The public key as a JWK with `x` and `y` of exactly 32 bytes (leading zero bytes kept). */
  readonly publicJwk: EcPublicJwk;
  /** The raw ECDH shared secret (32 bytes) with a peer's P-256 public key (JWK, JWK JSON, SPKI or PEM). */
  deriveSharedSecret(peerPublicKey: PublicJwk | PublicKeyInput): Promise<Uint8Array>;
}

/**
 * Generates an ephemeral P-256 key pair in software, as EMV 3-D Secure asks of the ACS (and of the SDK):
 * a fresh pair per transaction, used once for the ECDH that gives the session key, then dropped. Its JWK
 * coordinates are always 32 bytes.
 *
 * @example
 * ```ts
 * const acsEphemeral = await generateEphemeralKeyPair();
 * acsEphemeral.publicJwk; // { kty: 'EC', crv: 'P-256', x: '…43 chars…', y: '…43 chars…' }
 * const z = await acsEphemeral.deriveSharedSecret(areq.sdkEphemPubKey);
 * ```
 */
export async function generateEphemeralKeyPair(): Promise<EphemeralKeyPair> {
  const { publicKey, privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  // The core's JWK encoding left-pads each coordinate to the curve size.
  const publicJwk = Object.freeze(publicKeyFromSpki(spki).jwk() as EcPublicJwk);
  return Object.freeze({
    publicJwk,
    async deriveSharedSecret(peerPublicKey: PublicJwk | PublicKeyInput): Promise<Uint8Array> {
      const peer = resolvePublicKey(peerPublicKey, 'the peer ephemeral public key');
      if (peer.parsed.family !== 'EC' || peer.parsed.ec.curve !== 'P-256') {
        throw invalidInput('the peer ephemeral public key must be on P-256');
      }
      return new Uint8Array(diffieHellman({ privateKey, publicKey: peer.keyObject }));
    },
  });
}
