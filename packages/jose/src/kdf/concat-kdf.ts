import { createHash } from 'node:crypto';
import { concatBytes, invalidInput, requireObject, utf8 } from '@keyswitch/core';
import { uint32BigEndian } from '../lib/big-endian.js';

/**
 * Inputs of the Concat KDF (NIST SP 800-56A §5.8.1, as RFC 7518 §4.6.2 profiles it).
 *
 * @example
 * ```ts
 * const input: ConcatKdfInput = { sharedSecret: z, keyBits: 256, algorithmId: 'A128CBC-HS256' };
 * ```
 */
export interface ConcatKdfInput {
  /** Z, the raw ECDH shared secret. */
  readonly sharedSecret: Uint8Array;
  /** keydatalen: the derived key's length in bits, a positive multiple of 8. */
  readonly keyBits: number;
  /** AlgorithmID data: the `enc` (ECDH-ES direct), the `alg` (key wrapping), or empty (EMV 3-D Secure). */
  readonly algorithmId: Uint8Array | string;
  /** PartyUInfo data (`apu`); empty when absent. */
  readonly partyUInfo?: Uint8Array;
  /** PartyVInfo data (`apv`, or the SDK reference number in EMV 3-D Secure); empty when absent. */
  readonly partyVInfo?: Uint8Array;
}

/**
 * The single-step Concat KDF with SHA-256, exactly as JWE's ECDH-ES uses it (RFC 7518 §4.6.2):
 * `SHA-256(counter || Z || OtherInfo)` for counter = 1, 2, … truncated to `keyBits`, where OtherInfo is
 * AlgorithmID, PartyUInfo and PartyVInfo each as a 32-bit big-endian length and its bytes, then
 * SuppPubInfo = `keyBits` as a 32-bit big-endian integer, and an empty SuppPrivInfo.
 *
 * @throws INVALID_INPUT for an empty shared secret or a key length that is not a positive multiple of 8
 *
 * @example
 * ```ts
 * // ECDH-ES with A128GCM, apu "Alice", apv "Bob" (RFC 7518 Appendix C):
 * const cek = concatKdf({
 *   sharedSecret: z,
 *   keyBits: 128,
 *   algorithmId: 'A128GCM',
 *   partyUInfo: new TextEncoder().encode('Alice'),
 *   partyVInfo: new TextEncoder().encode('Bob'),
 * }); // base64url: VqqN6vgjbSBcIijNcacQGg
 * ```
 */
export function concatKdf(input: ConcatKdfInput): Uint8Array {
  const { sharedSecret, keyBits } = requireObject(input, 'concatKdf input');
  if (!(sharedSecret instanceof Uint8Array) || sharedSecret.length === 0) {
    throw invalidInput('the Concat KDF shared secret must be non-empty bytes');
  }
  if (!Number.isSafeInteger(keyBits) || keyBits <= 0 || keyBits % 8 !== 0 || keyBits > 65_536) {
    throw invalidInput(`the Concat KDF key length must be a positive multiple of 8 bits, got ${keyBits}`);
  }
  const algorithmId = typeof input.algorithmId === 'string' ? utf8(input.algorithmId) : input.algorithmId;
  const otherInfo = concatBytes(
    lengthPrefixed(algorithmId),
    lengthPrefixed(input.partyUInfo ?? new Uint8Array(0)),
    lengthPrefixed(input.partyVInfo ?? new Uint8Array(0)),
    uint32BigEndian(keyBits),
  );
  const keyBytes = keyBits / 8;
  const output = new Uint8Array(Math.ceil(keyBytes / 32) * 32);
  for (let round = 1; round * 32 <= output.length; round += 1) {
    const digest = createHash('sha256')
      .update(uint32BigEndian(round))
      .update(sharedSecret)
      .update(otherInfo)
      .digest();
    output.set(digest, (round - 1) * 32);
    digest.fill(0);
  }
  const key = output.slice(0, keyBytes);
  output.fill(0);
  return key;
}

function lengthPrefixed(data: Uint8Array): Uint8Array {
  return concatBytes(uint32BigEndian(data.length), data);
}
