import { ecdsaDerToP1363, ecdsaP1363ToDer } from '../encoding/ecdsa-signature.js';
import { withArticle } from '../english/with-article.js';
import { KeyswitchError } from '../errors.js';
import { algorithmInfo, type SigningAlgorithm } from '../vocabulary/algorithms.js';
import { type KeySpec, keySpecInfo } from '../vocabulary/key-specs.js';
import type { SignatureFormat, SigningTraits } from './contract.js';

/**
 * The lengths a signature of a key spec may have, in bytes: RSA exactly the modulus length (RFC 8017's
 * I2OSP keeps leading zero bytes); ECDSA P1363 exactly twice the coordinate size; ECDSA DER from 8 bytes
 * (two one-byte INTEGERs) to the longest strict encoding.
 *
 * @example
 * ```ts
 * signatureLength('RSA_2048', 'DER'); // { min: 256, max: 256 }
 * signatureLength('ECC_NIST_P256', 'P1363'); // { min: 64, max: 64 }
 * ```
 */
export function signatureLength(spec: KeySpec, format: SignatureFormat): { min: number; max: number } {
  const info = keySpecInfo(spec);
  if (info.family === 'RSA') return { min: info.bits / 8, max: info.bits / 8 };
  const coordinate = info.coordinateBytes;
  if (coordinate === undefined) {
    throw new KeyswitchError('INVALID_INPUT', `${withArticle(spec)} key does not sign`);
  }
  if (format === 'P1363') return { min: 2 * coordinate, max: 2 * coordinate };
  const content = 2 * (2 + coordinate + 1);
  return { min: 8, max: content + (content > 0x7f ? 3 : 2) };
}

/** An empty DER SEQUENCE: well-formed bytes no ECDSA key verifies. */
const NEVER_VALID_DER = new Uint8Array([0x30, 0x00]);

/**
 * A signature of the right length for the backend that no key verifies (r = s = 0, or an RSA value of
 * zero): what the backend gets for a malformed signature, so that it still applies its own key-state
 * checks (a disabled key answers KEY_DISABLED) and then answers `false`.
 */
function neverValid(spec: KeySpec, native: SignatureFormat): Uint8Array {
  const info = keySpecInfo(spec);
  if (info.family === 'RSA') return new Uint8Array(info.bits / 8);
  return native === 'DER' ? NEVER_VALID_DER : new Uint8Array(2 * info.coordinateBytes!);
}

/**
 * The signature to give the caller, from what the backend returned: ECDSA converted at most once (not at
 * all when the caller asked for the backend's native format), and every signature's length checked.
 *
 * @throws INTERNAL when the backend's signature has a length or encoding no correct signature has
 */
export function signatureFromBackend(
  signature: Uint8Array,
  spec: KeySpec,
  algorithm: SigningAlgorithm,
  wanted: SignatureFormat | undefined,
  traits: SigningTraits,
): Uint8Array {
  if (algorithmInfo(algorithm).family !== 'ECDSA') {
    const { min } = signatureLength(spec, 'DER');
    if (signature.byteLength !== min) throw badBackendSignature(spec, signature.byteLength);
    return signature;
  }
  const native = traits.ecdsaSignatureFormat;
  const format = wanted ?? 'DER';
  const coordinate = keySpecInfo(spec).coordinateBytes!;
  try {
    if (native === 'P1363') {
      if (signature.byteLength !== 2 * coordinate) throw badBackendSignature(spec, signature.byteLength);
      return format === 'P1363' ? signature : ecdsaP1363ToDer(signature, coordinate);
    }
    return format === 'DER' ? signature : ecdsaDerToP1363(signature, coordinate);
  } catch (error) {
    if (error instanceof KeyswitchError && error.code === 'INTERNAL') throw error;
    throw new KeyswitchError('INTERNAL', `the backend returned a malformed ${spec} ECDSA signature`, {
      cause: error,
    });
  }
}

/**
 * The signature to give the backend, from what the caller passed: in the backend's native format, or,
 * when the caller's signature cannot be a signature of this key at all (an RSA signature not exactly the
 * modulus length, a P1363 signature of the wrong length, DER that is not strict), one the backend will
 * answer `false` to. So every backend answers `false` to the same malformed signatures.
 */
export function signatureForBackend(
  signature: Uint8Array,
  spec: KeySpec,
  algorithm: SigningAlgorithm,
  given: SignatureFormat | undefined,
  traits: SigningTraits,
): Uint8Array {
  const native = traits.ecdsaSignatureFormat;
  if (algorithmInfo(algorithm).family !== 'ECDSA') {
    return signature.byteLength === signatureLength(spec, 'DER').min ? signature : neverValid(spec, native);
  }
  const coordinate = keySpecInfo(spec).coordinateBytes!;
  try {
    if ((given ?? 'DER') === 'P1363') {
      if (signature.byteLength !== 2 * coordinate) return neverValid(spec, native);
      return native === 'P1363' ? signature : ecdsaP1363ToDer(signature, coordinate);
    }
    const raw = ecdsaDerToP1363(signature, coordinate);
    return native === 'P1363' ? raw : signature;
  } catch {
    return neverValid(spec, native);
  }
}

function badBackendSignature(spec: KeySpec, length: number): KeyswitchError {
  return new KeyswitchError(
    'INTERNAL',
    `the backend returned a ${length}-byte signature, which no ${spec} signature is`,
  );
}
