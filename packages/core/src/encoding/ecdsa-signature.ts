import { invalidInput } from '../errors.js';

// An ECDSA signature is two INTEGERs in a SEQUENCE, and each is at most 67 bytes (P-521), so the
// encoding has a small fixed shape: this codec reads and writes exactly that shape, strictly, without a
// general ASN.1 parser (the conversion sits on every signature's path). The Wycheproof ECDSA vectors in
// the core's tests cover it.

const SEQUENCE = 0x30;
const INTEGER = 0x02;

function assertSignatureBytes(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidInput('ECDSA signature must be a Uint8Array');
}

function assertCoordinateBytes(coordinateBytes: number): void {
  if (!Number.isSafeInteger(coordinateBytes) || coordinateBytes <= 0 || coordinateBytes > 127) {
    throw invalidInput('coordinateBytes must be an integer from 1 to 127');
  }
}

/**
 * Reads one strict DER INTEGER at `offset`: short-form length, non-negative, minimal. Returns where its
 * magnitude starts and ends (without the sign byte), and where the next element starts.
 */
function readInteger(
  der: Uint8Array,
  offset: number,
  end: number,
): { start: number; stop: number; next: number } {
  if (offset + 2 > end || der[offset] !== INTEGER)
    throw invalidInput('ECDSA signature is not DER: expected an INTEGER');
  const length = der[offset + 1]!;
  const start = offset + 2;
  const stop = start + length;
  if (length === 0 || length > 127 || stop > end)
    throw invalidInput('ECDSA signature is not DER: bad INTEGER length');
  const first = der[start]!;
  if (first & 0x80) throw invalidInput('ECDSA signature is not DER: negative INTEGER');
  if (first === 0 && length > 1 && (der[start + 1]! & 0x80) === 0) {
    throw invalidInput('ECDSA signature is not DER: INTEGER with a redundant leading zero');
  }
  return { start: first === 0 && length > 1 ? start + 1 : start, stop, next: stop };
}

/**
 * Converts an ECDSA signature from DER (`SEQUENCE { r INTEGER, s INTEGER }`, what X.509 and AWS KMS use)
 * to IEEE P1363 (`r || s`, each left-padded to the coordinate size, what JOSE, WebCrypto and PKCS#11
 * `CKM_ECDSA` use). The DER must be strict: minimal lengths and integers, no trailing bytes, no negative
 * values.
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
  assertSignatureBytes(der);
  assertCoordinateBytes(coordinateBytes);
  if (der.length < 2 || der[0] !== SEQUENCE)
    throw invalidInput('ECDSA signature is not DER: expected a SEQUENCE');
  let offset = 2;
  let length = der[1]!;
  if (length === 0x81) {
    length = der[2] ?? 0;
    offset = 3;
    if (length < 0x80) throw invalidInput('ECDSA signature is not DER: non-minimal length');
  } else if (length > 0x7f) {
    throw invalidInput('ECDSA signature is not DER: bad SEQUENCE length');
  }
  if (offset + length !== der.length)
    throw invalidInput('ECDSA signature is not DER: wrong length or trailing bytes');
  const r = readInteger(der, offset, der.length);
  const s = readInteger(der, r.next, der.length);
  if (s.next !== der.length) throw invalidInput('ECDSA signature is not DER: trailing data in the SEQUENCE');
  if (r.stop - r.start > coordinateBytes || s.stop - s.start > coordinateBytes) {
    throw invalidInput(`ECDSA signature r or s is longer than ${coordinateBytes} bytes`);
  }
  const raw = new Uint8Array(2 * coordinateBytes);
  raw.set(der.subarray(r.start, r.stop), coordinateBytes - (r.stop - r.start));
  raw.set(der.subarray(s.start, s.stop), 2 * coordinateBytes - (s.stop - s.start));
  return raw;
}

/** The DER INTEGER content of an unsigned big-endian value: leading zeros dropped, a sign byte if needed. */
function integerSpan(
  raw: Uint8Array,
  from: number,
  to: number,
): { start: number; length: number; pad: boolean } {
  let start = from;
  while (start < to - 1 && raw[start] === 0) start++;
  const pad = (raw[start]! & 0x80) !== 0;
  return { start, length: to - start + (pad ? 1 : 0), pad };
}

/**
 * Converts an ECDSA signature from IEEE P1363 (`r || s`, equal halves) to DER
 * (`SEQUENCE { r INTEGER, s INTEGER }`, minimal positive integers).
 *
 * @param coordinateBytes - when given, `raw` must be exactly twice this long (64 for P-256…).
 * @throws {@link KeyswitchError} `INVALID_INPUT` when `raw` is empty, of odd length, longer than a P-521
 * signature, or not `2 * coordinateBytes` long.
 *
 * @example
 * ```ts
 * const der = ecdsaP1363ToDer(base64UrlDecode(jwsSignature), 32);
 * verify('sha256', signingInput, publicKey, der);
 * ```
 */
export function ecdsaP1363ToDer(raw: Uint8Array, coordinateBytes?: number): Uint8Array {
  assertSignatureBytes(raw);
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw invalidInput(`P1363 ECDSA signature must have an even, non-zero length, got ${raw.length}`);
  }
  if (coordinateBytes !== undefined) {
    assertCoordinateBytes(coordinateBytes);
    if (raw.length !== 2 * coordinateBytes) {
      throw invalidInput(`P1363 ECDSA signature must be ${2 * coordinateBytes} bytes, got ${raw.length}`);
    }
  } else if (raw.length > 2 * 126) {
    throw invalidInput(`P1363 ECDSA signature is too long: ${raw.length} bytes`);
  }
  const half = raw.length / 2;
  const r = integerSpan(raw, 0, half);
  const s = integerSpan(raw, half, raw.length);
  const content = 4 + r.length + s.length;
  const header = content > 0x7f ? 3 : 2;
  const der = new Uint8Array(header + content);
  der[0] = SEQUENCE;
  if (header === 3) {
    der[1] = 0x81;
    der[2] = content;
  } else {
    der[1] = content;
  }
  let offset = header;
  for (const [span, end] of [
    [r, half],
    [s, raw.length],
  ] as const) {
    der[offset++] = INTEGER;
    der[offset++] = span.length;
    if (span.pad) der[offset++] = 0;
    der.set(raw.subarray(span.start, end), offset);
    offset += end - span.start;
  }
  return der;
}
