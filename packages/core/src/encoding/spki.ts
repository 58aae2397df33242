import { type BaseBlock, BitString, Null, ObjectIdentifier, Sequence } from 'asn1js';
import { copyBytes } from '../bytes/copy-bytes.js';
import { invalidInput } from '../errors.js';
import { assertBytes } from '../lib/checks.js';
import type { CurveName, KeySpec } from '../vocabulary/key-specs.js';
import { keySpecForCurve } from '../vocabulary/key-specs.js';
import {
  assertUncompressedPoint,
  type CurveParameters,
  curveByName,
  curveByOid,
  NAMED_CURVES,
} from './lib/curves.js';
import {
  assertDer,
  decodeDer,
  encodeDer,
  readUnsignedInteger,
  sequenceElements,
  unsignedInteger,
} from './lib/der.js';
import { bitLength, stripLeadingZeros } from './lib/unsigned-integer.js';

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';

const RSA_SPECS: Readonly<Record<number, RsaKeySpec>> = {
  2048: 'RSA_2048',
  3072: 'RSA_3072',
  4096: 'RSA_4096',
};

/** The RSA key specs. */
export type RsaKeySpec = Extract<KeySpec, `RSA_${string}`>;
/** The EC key specs. */
export type EcKeySpec = Extract<KeySpec, `ECC_${string}`>;

/** The numbers of an RSA public key, as unsigned big-endian bytes without leading zeros. */
export interface RsaPublicComponents {
  readonly modulus: Uint8Array;
  readonly publicExponent: Uint8Array;
}

/** The point of an EC public key. */
export interface EcPublicComponents {
  readonly curve: CurveName;
  /** The uncompressed point `04 || x || y`. */
  readonly point: Uint8Array;
  /** The x coordinate, exactly `coordinateBytes` long. */
  readonly x: Uint8Array;
  /** The y coordinate, exactly `coordinateBytes` long. */
  readonly y: Uint8Array;
}

/** An RSA public key read from a SubjectPublicKeyInfo. */
export interface ParsedRsaPublicKey {
  readonly keySpec: RsaKeySpec;
  readonly family: 'RSA';
  /** The SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
  readonly rsa: RsaPublicComponents;
  readonly ec?: undefined;
}

/** An EC public key read from a SubjectPublicKeyInfo. */
export interface ParsedEcPublicKey {
  readonly keySpec: EcKeySpec;
  readonly family: 'EC';
  /** The SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
  readonly ec: EcPublicComponents;
  readonly rsa?: undefined;
}

/** A public key read from a SubjectPublicKeyInfo; `family` tells which of `rsa` and `ec` is set. */
export type ParsedPublicKey = ParsedRsaPublicKey | ParsedEcPublicKey;

/**
 * Reads a DER SubjectPublicKeyInfo (RFC 5280) holding an RSA key (rsaEncryption, NULL parameters,
 * 2048/3072/4096-bit modulus) or an EC key (id-ecPublicKey on namedCurve P-256, P-384 or P-521,
 * uncompressed point on the curve). The input must be DER: BER forms, trailing bytes, other algorithms,
 * explicit curve parameters and compressed points are refused.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` naming what was wrong (the modulus size, the curve OID…).
 *
 * @example
 * ```ts
 * const parsed = parseSpki(publicKey.export({ format: 'der', type: 'spki' }));
 * parsed.keySpec; // 'ECC_NIST_P256'
 * if (parsed.family === 'EC') parsed.ec.x; // 32 bytes
 * ```
 */
export function parseSpki(der: Uint8Array): ParsedPublicKey {
  assertBytes(der, 'SubjectPublicKeyInfo');
  const named = namedCurveSpki(der);
  if (named !== undefined) return named;
  const [algorithm, subjectPublicKey] = sequenceElements(
    decodeDer(der, 'SubjectPublicKeyInfo'),
    'SubjectPublicKeyInfo',
    2,
  ) as [BaseBlock, BaseBlock];
  const [oid, parameters] = sequenceElements(algorithm, 'SubjectPublicKeyInfo algorithm', 1, 2) as [
    BaseBlock,
    BaseBlock | undefined,
  ];
  if (!(oid instanceof ObjectIdentifier)) throw invalidInput('SubjectPublicKeyInfo algorithm is not an OID');
  if (!(subjectPublicKey instanceof BitString) || subjectPublicKey.valueBlock.unusedBits !== 0) {
    throw invalidInput('SubjectPublicKeyInfo subjectPublicKey is not a BIT STRING of whole bytes');
  }
  const keyBytes = subjectPublicKey.valueBlock.valueHexView;
  const algorithmOid = oid.getValue();
  if (algorithmOid === RSA_ENCRYPTION) return parseRsa(der, parameters, keyBytes);
  if (algorithmOid === EC_PUBLIC_KEY) return parseEc(der, parameters, keyBytes);
  throw invalidInput(`unsupported public key algorithm ${algorithmOid}; expected RSA or EC`);
}

function parseRsa(
  der: Uint8Array,
  parameters: BaseBlock | undefined,
  keyBytes: Uint8Array,
): ParsedRsaPublicKey {
  if (!(parameters instanceof Null)) throw invalidInput('rsaEncryption parameters must be NULL');
  const [modulusBlock, exponentBlock] = sequenceElements(
    decodeDer(keyBytes, 'RSAPublicKey'),
    'RSAPublicKey',
    2,
  ) as [BaseBlock, BaseBlock];
  const modulus = readUnsignedInteger(modulusBlock, 'RSA modulus');
  const publicExponent = readUnsignedInteger(exponentBlock, 'RSA public exponent');
  const spki = rsaPublicKeyToSpki(modulus, publicExponent);
  assertDer(der, spki, 'SubjectPublicKeyInfo');
  return { keySpec: rsaKeySpec(modulus), family: 'RSA', spki, rsa: { modulus, publicExponent } };
}

function parseEc(der: Uint8Array, parameters: BaseBlock | undefined, point: Uint8Array): ParsedEcPublicKey {
  if (!(parameters instanceof ObjectIdentifier)) {
    throw invalidInput(
      'id-ecPublicKey parameters must be a namedCurve OID (explicit parameters are not supported)',
    );
  }
  const curve = curveByOid(parameters.getValue());
  if (curve === undefined) {
    throw invalidInput(`unsupported EC curve ${parameters.getValue()}; expected P-256, P-384 or P-521`);
  }
  const spki = ecSpki(curve, point);
  assertDer(der, spki, 'SubjectPublicKeyInfo');
  const size = curve.coordinateBytes;
  return {
    keySpec: keySpecForCurve(curve.name) as EcKeySpec,
    family: 'EC',
    spki,
    ec: { curve: curve.name, point: copyBytes(point), x: point.slice(1, 1 + size), y: point.slice(1 + size) },
  };
}

/**
 * The DER SubjectPublicKeyInfo of a key on a named curve is a fixed header (SEQUENCE, AlgorithmIdentifier
 * with id-ecPublicKey and the curve's OID, BIT STRING with no unused bits) followed by the point. Input
 * that is exactly one curve's header followed by a point of that curve's length is therefore DER of that
 * shape: only the point needs checking, and the general parse (decode, then re-encode to refuse BER) is
 * skipped. An ECDH peer key arrives in this form on every call. Any other input takes the general parse,
 * so the answers and the errors are the same either way.
 */
function namedCurveSpki(der: Uint8Array): ParsedEcPublicKey | undefined {
  for (const curve of NAMED_CURVES) {
    const header = spkiHeader(curve);
    const size = curve.coordinateBytes;
    if (der.length !== header.length + 1 + 2 * size) continue;
    for (let index = 0; index < header.length; index += 1) if (der[index] !== header[index]) return undefined;
    // Plain Uint8Array copies: the answer never shares memory with the input (a Buffer's pool, say).
    const spki = copyBytes(der);
    const point = spki.slice(header.length);
    assertUncompressedPoint(curve, point);
    return {
      keySpec: keySpecForCurve(curve.name) as EcKeySpec,
      family: 'EC',
      spki,
      ec: { curve: curve.name, point, x: point.slice(1, 1 + size), y: point.slice(1 + size) },
    };
  }
  return undefined;
}

const SPKI_HEADERS = new Map<CurveParameters, Uint8Array>();

/** The DER before the point in a named curve's SubjectPublicKeyInfo, built once by the encoder. */
function spkiHeader(curve: CurveParameters): Uint8Array {
  let header = SPKI_HEADERS.get(curve);
  if (header === undefined) {
    const pointLength = 1 + 2 * curve.coordinateBytes;
    const spki = spkiOf(
      [new ObjectIdentifier({ value: EC_PUBLIC_KEY }), new ObjectIdentifier({ value: curve.oid })],
      new Uint8Array(pointLength),
    );
    header = spki.slice(0, spki.length - pointLength);
    SPKI_HEADERS.set(curve, header);
  }
  return header;
}

/** The key spec for a modulus; `INVALID_INPUT` naming the size when keyswitch has none. */
function rsaKeySpec(modulus: Uint8Array): RsaKeySpec {
  const bits = bitLength(modulus);
  const spec = RSA_SPECS[bits];
  if (spec === undefined) {
    throw invalidInput(`RSA modulus of ${bits} bits is not supported; expected 2048, 3072 or 4096`);
  }
  return spec;
}

/**
 * Builds the DER SubjectPublicKeyInfo of an RSA public key (rsaEncryption with NULL parameters). Leading
 * zero bytes of either number are ignored, so a PKCS#11 `CKA_MODULUS` or a DER INTEGER's content works.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` when the modulus is not 2048, 3072 or 4096 bits or is
 * even, or the exponent is not an odd number greater than 1 and shorter than the modulus.
 *
 * @example
 * ```ts
 * const spki = rsaPublicKeyToSpki(modulus, new Uint8Array([1, 0, 1]));
 * ```
 */
export function rsaPublicKeyToSpki(modulus: Uint8Array, publicExponent: Uint8Array): Uint8Array {
  assertBytes(modulus, 'RSA modulus');
  assertBytes(publicExponent, 'RSA public exponent');
  const n = stripLeadingZeros(modulus);
  const e = stripLeadingZeros(publicExponent);
  rsaKeySpec(n);
  if ((n[n.length - 1]! & 1) === 0) throw invalidInput('RSA modulus is even');
  if (
    e.length === 0 ||
    (e[e.length - 1]! & 1) === 0 ||
    (e.length === 1 && e[0] === 1) ||
    e.length >= n.length
  ) {
    throw invalidInput(
      'RSA public exponent must be an odd number greater than 1 and shorter than the modulus',
    );
  }
  const rsaPublicKey = encodeDer(new Sequence({ value: [unsignedInteger(n), unsignedInteger(e)] }));
  return spkiOf([new ObjectIdentifier({ value: RSA_ENCRYPTION }), new Null()], rsaPublicKey);
}

/**
 * Builds the DER SubjectPublicKeyInfo of an EC public key (id-ecPublicKey, namedCurve) from its
 * uncompressed point `04 || x || y`, after checking the point lies on the curve.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` for an unknown curve, a compressed point, a point of the
 * wrong length or not on the curve.
 *
 * @example
 * ```ts
 * const spki = ecPointToSpki('P-256', unwrapEcPointOctetString(ckaEcPoint));
 * ```
 */
export function ecPointToSpki(curve: CurveName, point: Uint8Array): Uint8Array {
  assertBytes(point, 'EC point');
  return ecSpki(curveByName(curve), point);
}

function ecSpki(curve: CurveParameters, point: Uint8Array): Uint8Array {
  assertUncompressedPoint(curve, point);
  return spkiOf(
    [new ObjectIdentifier({ value: EC_PUBLIC_KEY }), new ObjectIdentifier({ value: curve.oid })],
    point,
  );
}

function spkiOf(algorithm: BaseBlock[], subjectPublicKey: Uint8Array): Uint8Array {
  return encodeDer(
    new Sequence({
      value: [new Sequence({ value: algorithm }), new BitString({ valueHex: copyBytes(subjectPublicKey) })],
    }),
  );
}
