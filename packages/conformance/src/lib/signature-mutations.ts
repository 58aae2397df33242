import { concatBytes } from '@keyswitch/core';

/** How a signature is laid out, which decides the mutations that apply to it. */
export type SignatureLayout = 'RSA' | 'DER' | 'P1363';

/** One malformed variant of a valid signature, and what was done to it. */
export interface SignatureMutation {
  readonly name: string;
  readonly signature: Uint8Array;
}

const ZERO = Uint8Array.of(0x00);

/** `SEQUENCE { r, s }` again, with r's INTEGER given a redundant leading zero byte: BER, not DER. */
function derWithPaddedR(der: Uint8Array): Uint8Array | undefined {
  const header = der[1] === 0x81 ? 3 : 2;
  if (der[header] !== 0x02) return undefined;
  const rLength = der[header + 1]!;
  const r = der.subarray(header + 2, header + 2 + rLength);
  const rest = der.subarray(header + 2 + rLength);
  const content = concatBytes(Uint8Array.of(0x02, rLength + 1, 0x00), r, rest);
  const length =
    content.length > 0x7f ? Uint8Array.of(0x30, 0x81, content.length) : Uint8Array.of(0x30, content.length);
  return concatBytes(length, content);
}

/**
 * Malformed variants of a valid signature that no backend may accept: the first byte dropped, the last
 * byte dropped (length − 1), a leading zero byte added, a trailing byte added (length + 1), and per layout
 * an INTEGER with a redundant leading zero (DER) or r and s each zero-padded (P1363). An RSA signature
 * whose leading byte is zero, with that byte dropped, is the same integer: verify must still say `false`,
 * since a signature is exactly the modulus length.
 *
 * @example
 * ```ts
 * for (const { name, signature } of signatureMutations(valid, 'DER')) expect(await verify(signature)).toBe(false);
 * ```
 */
export function signatureMutations(signature: Uint8Array, layout: SignatureLayout): SignatureMutation[] {
  const mutations: SignatureMutation[] = [
    { name: 'the first byte dropped', signature: signature.slice(1) },
    { name: 'the last byte dropped (length - 1)', signature: signature.slice(0, -1) },
    { name: 'a leading zero byte added', signature: concatBytes(ZERO, signature) },
    { name: 'a trailing zero byte added (length + 1)', signature: concatBytes(signature, ZERO) },
  ];
  if (layout === 'DER') {
    const padded = derWithPaddedR(signature);
    if (padded !== undefined) mutations.push({ name: 'r with a redundant leading zero', signature: padded });
  }
  if (layout === 'P1363') {
    const half = signature.length / 2;
    mutations.push({
      name: 'r and s each zero-padded by one byte',
      signature: concatBytes(ZERO, signature.subarray(0, half), ZERO, signature.subarray(half)),
    });
  }
  return mutations;
}
