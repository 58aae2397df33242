import { KeyswitchError } from '../../errors.js';

/**
 * Most iterations one PKCS#12 key derivation may ask for. Common tools write 2,048 (OpenSSL, .NET) to
 * 10,000 (Java); node-forge derives in JavaScript on the calling thread, at roughly 20 to 40 iterations a
 * millisecond, so this bounds one derivation to well under a second.
 */
export const MAX_PKCS12_ITERATIONS = 20_000;

/** Most iterations all the derivations needed to read one PKCS#12 key may ask for together. */
export const MAX_PKCS12_TOTAL_ITERATIONS = 40_000;

/**
 * The key-derivation work one PKCS#12 read may do, spent before each derivation runs.
 *
 * @example
 * ```ts
 * const budget = pkcs12Budget();
 * budget.spend(macIterations, 'the MAC'); // throws INVALID_INPUT over the limits
 * ```
 */
export function pkcs12Budget(): { spend(iterations: number, what: string): void } {
  let left = MAX_PKCS12_TOTAL_ITERATIONS;
  return {
    spend(iterations, what) {
      if (!(iterations >= 1) || iterations > MAX_PKCS12_ITERATIONS || iterations > left) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `the PKCS#12 asks for ${Number.isFinite(iterations) ? iterations.toLocaleString('en-US') : 'too many'} iterations for ${what}; keyswitch reads files of at most ${MAX_PKCS12_ITERATIONS.toLocaleString('en-US')} per derivation and ${MAX_PKCS12_TOTAL_ITERATIONS.toLocaleString('en-US')} in all (re-export the file with fewer)`,
        );
      }
      left -= iterations;
    },
  };
}
