import { type BaseBlock, Sequence } from 'asn1js';
import { assertBytes, concatBytes, leftPad, stripLeadingZeros } from './lib/bytes.js';
import {
  assertDer,
  decodeDer,
  encodeDer,
  readUnsignedInteger,
  sequenceElements,
  unsignedInteger,
} from './lib/der.js';
import { invalidInput } from './lib/invalid-input.js';

/**
 * Converts an ECDSA signature from DER (`SEQUENCE { r INTEGER, s INTEGER }`, what X.509, PKCS#11
 * `CKM_ECDSA` wrappers and AWS KMS return) to IEEE P1363 (`r || s`, each left-padded to the coordinate
 * size, what JOSE and WebCrypto use). The DER must be strict: minimal lengths and integers, no trailing
 * bytes, no negative values.
 *
 * @param coordinateBytes - bytes of r and of s: 32 for P-256, 48 for P-384, 66 for P-521
 * (`keySpecInfo(spec).coordinateBytes`).
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `der` is not a DER ECDSA signature, r or s is
 * negative or longer than `coordinateBytes`, or `coordinateBytes` is not a positive integer.
 *
 * @example
 * ```ts
 * const der = await kms.sign({ KeyId, Message, SigningAlgorithm: 'ECDSA_SHA_256' }).Signature;
 * const jws = ecdsaDerToP1363(der, 32); // 64 bytes, for ES256
 * ```
 */
export function ecdsaDerToP1363(der: Uint8Array, coordinateBytes: number): Uint8Array {
  assertBytes(der, 'ECDSA signature');
  assertCoordinateBytes(coordinateBytes);
  const [rBlock, sBlock] = sequenceElements(decodeDer(der, 'ECDSA signature'), 'ECDSA signature', 2) as [
    BaseBlock,
    BaseBlock,
  ];
  const r = readUnsignedInteger(rBlock, 'ECDSA signature r');
  const s = readUnsignedInteger(sBlock, 'ECDSA signature s');
  if (r.length > coordinateBytes || s.length > coordinateBytes) {
    throw invalidInput(`ECDSA signature r or s is longer than ${coordinateBytes} bytes`);
  }
  assertDer(der, signatureDer(r, s), 'ECDSA signature');
  return concatBytes(leftPad(r, coordinateBytes), leftPad(s, coordinateBytes));
}

/**
 * Converts an ECDSA signature from IEEE P1363 (`r || s`, equal halves) to DER
 * (`SEQUENCE { r INTEGER, s INTEGER }`, minimal positive integers).
 *
 * @param coordinateBytes - when given, `raw` must be exactly twice this long (64 for P-256…).
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `raw` is empty, of odd length, or not
 * `2 * coordinateBytes` long.
 *
 * @example
 * ```ts
 * const der = ecdsaP1363ToDer(base64UrlDecode(jwsSignature), 32);
 * verify('sha256', signingInput, publicKey, der);
 * ```
 */
export function ecdsaP1363ToDer(raw: Uint8Array, coordinateBytes?: number): Uint8Array {
  assertBytes(raw, 'ECDSA signature');
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw invalidInput(`P1363 ECDSA signature must have an even, non-zero length, got ${raw.length}`);
  }
  if (coordinateBytes !== undefined) {
    assertCoordinateBytes(coordinateBytes);
    if (raw.length !== 2 * coordinateBytes) {
      throw invalidInput(`P1363 ECDSA signature must be ${2 * coordinateBytes} bytes, got ${raw.length}`);
    }
  }
  const half = raw.length / 2;
  return signatureDer(stripLeadingZeros(raw.subarray(0, half)), stripLeadingZeros(raw.subarray(half)));
}

function signatureDer(r: Uint8Array, s: Uint8Array): Uint8Array {
  return encodeDer(new Sequence({ value: [unsignedInteger(r), unsignedInteger(s)] }));
}

function assertCoordinateBytes(coordinateBytes: number): void {
  if (!Number.isSafeInteger(coordinateBytes) || coordinateBytes <= 0) {
    throw invalidInput('coordinateBytes must be a positive integer');
  }
}
