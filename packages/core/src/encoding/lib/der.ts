import { type BaseBlock, fromBER, Integer, Sequence } from 'asn1js';
import { bytesEqual } from '../../bytes/compare-bytes.js';
import { copyBytes } from '../../bytes/copy-bytes.js';
import { invalidInput } from '../../errors.js';
import { stripLeadingZeros } from './unsigned-integer.js';

/** Our structures are at most three levels deep and a handful of nodes; anything bigger is malformed. */
const PARSE_LIMITS = { maxDepth: 4, maxNodes: 16, parseEmbedded: false } as const;

/**
 * Decodes one ASN.1 value with asn1js. Throws `INVALID_INPUT` when it does not parse or when bytes follow
 * it. asn1js accepts BER, so callers check DER by re-encoding what they read ({@link assertDer}).
 */
export function decodeDer(bytes: Uint8Array, what: string): BaseBlock {
  if (bytes.length === 0) throw invalidInput(`${what} is empty`);
  let decoded: ReturnType<typeof fromBER>;
  try {
    decoded = fromBER(bytes, PARSE_LIMITS);
  } catch {
    throw invalidInput(`${what} is not valid DER`);
  }
  if (decoded.offset === -1 || decoded.result.error !== '') throw invalidInput(`${what} is not valid DER`);
  if (decoded.offset !== bytes.length) throw invalidInput(`${what} has trailing bytes after the DER value`);
  return decoded.result as BaseBlock;
}

/** The DER bytes of an asn1js value built by this module. */
export function encodeDer(block: BaseBlock): Uint8Array {
  return new Uint8Array(block.toBER(false));
}

/**
 * Throws `INVALID_INPUT` unless `input` equals `canonical`, the DER re-encoding of the values read from
 * it. This rejects every BER liberty at once: long-form or indefinite lengths, non-minimal integers,
 * constructed strings, wrong tags.
 */
export function assertDer(input: Uint8Array, canonical: Uint8Array, what: string): void {
  if (!bytesEqual(input, canonical)) throw invalidInput(`${what} is not DER-encoded`);
}

/** The elements of a SEQUENCE with exactly `count` elements (or a count in `[min, max]`). */
export function sequenceElements(block: BaseBlock, what: string, min: number, max = min): BaseBlock[] {
  if (!(block instanceof Sequence)) throw invalidInput(`${what} is not a SEQUENCE`);
  const elements = block.valueBlock.value as BaseBlock[];
  if (elements.length < min || elements.length > max) {
    throw invalidInput(
      `${what} has ${elements.length} elements, expected ${min === max ? min : `${min} to ${max}`}`,
    );
  }
  return elements;
}

/**
 * The value of a non-negative INTEGER as unsigned big-endian bytes without leading zeros (empty for
 * zero). Throws `INVALID_INPUT` for another type, an empty INTEGER or a negative value.
 */
export function readUnsignedInteger(block: BaseBlock, what: string): Uint8Array {
  // ENUMERATED decodes to a subclass of Integer: check the universal tag 2 too.
  if (!(block instanceof Integer) || block.idBlock.tagClass !== 1 || block.idBlock.tagNumber !== 2) {
    throw invalidInput(`${what} is not an INTEGER`);
  }
  const content = block.valueBlock.valueHexView;
  if (content.length === 0) throw invalidInput(`${what} is an empty INTEGER`);
  if ((content[0]! & 0x80) !== 0) throw invalidInput(`${what} is negative`);
  return stripLeadingZeros(content);
}

/** A DER INTEGER for an unsigned big-endian value: minimal, with a 0x00 only when the high bit is set. */
export function unsignedInteger(bytes: Uint8Array): Integer {
  const value = stripLeadingZeros(bytes);
  const needsZero = value.length === 0 || (value[0]! & 0x80) !== 0;
  const content = needsZero ? new Uint8Array([0, ...value]) : copyBytes(value);
  return new Integer({ valueHex: content });
}
