import { OctetString } from 'asn1js';
import { copyBytes } from '../bytes/copy-bytes.js';
import { invalidInput } from '../errors.js';
import { assertBytes } from '../lib/checks.js';
import { assertUncompressedPoint, curveByPointLength, isCompressedPointLength } from './lib/curves.js';
import { assertDer, decodeDer, encodeDer } from './lib/der.js';

/**
 * The raw uncompressed point `04 || x || y` from a PKCS#11 `CKA_EC_POINT` value. PKCS#11 says the point
 * comes DER-wrapped in an OCTET STRING, but some tokens return it raw; both are accepted. The point must
 * be on P-256, P-384 or P-521 (told apart by its length).
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when the value is neither form, the OCTET STRING is not
 * DER, or the point is compressed, of an unknown length or not on its curve.
 *
 * @example
 * ```ts
 * const point = unwrapEcPointOctetString(ckaEcPoint); // 04 41 04… → 04…
 * const spki = ecPointToSpki('P-256', point);
 * ```
 */
export function unwrapEcPointOctetString(value: Uint8Array): Uint8Array {
  assertBytes(value, 'CKA_EC_POINT');
  const point = isRawPoint(value) ? value : unwrap(value);
  if ((point[0] === 0x02 || point[0] === 0x03) && isCompressedPointLength(point.length)) {
    throw invalidInput('compressed EC points are not supported');
  }
  const curve = curveByPointLength(point.length);
  if (curve === undefined || point[0] !== 0x04) {
    throw invalidInput('CKA_EC_POINT does not hold an uncompressed P-256, P-384 or P-521 point');
  }
  assertUncompressedPoint(curve, point);
  return copyBytes(point);
}

function isRawPoint(value: Uint8Array): boolean {
  return value[0] !== 0x04 || curveByPointLength(value.length) !== undefined;
}

function unwrap(value: Uint8Array): Uint8Array {
  // A first byte of 0x04 is the tag of a primitive OCTET STRING, so whatever decodes is one.
  const point = (decodeDer(value, 'CKA_EC_POINT') as OctetString).valueBlock.valueHexView;
  assertDer(value, encodeDer(new OctetString({ valueHex: copyBytes(point) })), 'CKA_EC_POINT');
  return point;
}
