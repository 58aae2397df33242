import { invalidInput } from '../../errors.js';
import { type CurveName, keySpecForCurve, keySpecInfo } from '../../vocabulary/key-specs.js';
import { bytesToBigInt } from './unsigned-integer.js';

/** What the encodings need to know about a NIST prime curve `y² = x³ − 3x + b (mod p)`. */
export interface CurveParameters {
  readonly name: CurveName;
  /** The namedCurve OID (RFC 5480). */
  readonly oid: string;
  /** Bytes of one coordinate, from the key-spec vocabulary. */
  readonly coordinateBytes: number;
  readonly p: bigint;
  readonly b: bigint;
}

function curve(name: CurveName, oid: string, p: bigint, b: bigint): CurveParameters {
  const coordinateBytes = keySpecInfo(keySpecForCurve(name)).coordinateBytes!;
  return Object.freeze({ name, oid, coordinateBytes, p, b });
}

/** The curves keyswitch knows, with their domain parameters from FIPS 186-5 / SEC 2. */
const CURVES: readonly CurveParameters[] = [
  curve(
    'P-256',
    '1.2.840.10045.3.1.7',
    0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  ),
  curve(
    'P-384',
    '1.3.132.0.34',
    0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  ),
  curve(
    'P-521',
    '1.3.132.0.35',
    (1n << 521n) - 1n,
    0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  ),
];

/** The curves keyswitch supports: P-256, P-384, P-521. */
export const NAMED_CURVES: readonly CurveParameters[] = CURVES;

/** The parameters of a curve by JOSE name; `INVALID_INPUT` for any other value. */
export function curveByName(name: unknown): CurveParameters {
  const found = CURVES.find((candidate) => candidate.name === name);
  if (found === undefined) throw invalidInput('unsupported EC curve; expected P-256, P-384 or P-521');
  return found;
}

/** The parameters of a curve by namedCurve OID, or `undefined`. */
export function curveByOid(oid: string): CurveParameters | undefined {
  return CURVES.find((candidate) => candidate.oid === oid);
}

/** The parameters of the curve whose uncompressed points are `length` bytes long, or `undefined`. */
export function curveByPointLength(length: number): CurveParameters | undefined {
  return CURVES.find((candidate) => 1 + 2 * candidate.coordinateBytes === length);
}

/** Whether `length` is that of a compressed point `02|03 || x` on a known curve. */
export function isCompressedPointLength(length: number): boolean {
  return CURVES.some((candidate) => 1 + candidate.coordinateBytes === length);
}

/**
 * Throws `INVALID_INPUT` unless `point` is an uncompressed point `04 || x || y` on `curve`: right
 * length, leading 0x04, coordinates below p, and the curve equation holds.
 */
export function assertUncompressedPoint(curve: CurveParameters, point: Uint8Array): void {
  const { name, coordinateBytes: size, p, b } = curve;
  if (point[0] === 0x02 || point[0] === 0x03) throw invalidInput('compressed EC points are not supported');
  if (point.length !== 1 + 2 * size) {
    throw invalidInput(`EC point for ${name} must be ${1 + 2 * size} bytes, got ${point.length}`);
  }
  if (point[0] !== 0x04) throw invalidInput('EC point must be uncompressed (start with 0x04)');
  const x = bytesToBigInt(point.subarray(1, 1 + size));
  const y = bytesToBigInt(point.subarray(1 + size));
  if (x >= p || y >= p) throw invalidInput(`EC point coordinate is not below the ${name} field prime`);
  if ((y * y - (x * x * x - 3n * x + b)) % p !== 0n) throw invalidInput(`EC point is not on ${name}`);
}
