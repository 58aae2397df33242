import { KeyswitchError } from '@keyswitch/core';

/**
 * A PAN reduced to its digits: spaces and dashes removed, then checked to be 12 to 19 digits that pass
 * the Luhn check (ISO/IEC 7812). Error messages never contain the PAN or any digit at all, so they are
 * safe to log.
 *
 * @throws INVALID_INPUT when the value is not a string, has other characters, the wrong number of
 * digits, or fails the Luhn check
 *
 * @example
 * ```ts
 * normalizePan('4111 1111-1111 1111'); // '4111111111111111'
 * normalizePan('4111 1111 1111 1112'); // throws INVALID_INPUT: fails the Luhn check
 * ```
 */
export function normalizePan(pan: string, keyName?: string): string {
  const fail = (detail: string) => new KeyswitchError('INVALID_INPUT', `the PAN ${detail}`, { keyName });
  if (typeof pan !== 'string') throw fail('must be a string');
  const digits = pan.replace(/[ -]/g, '');
  if (!/^[0-9]*$/.test(digits)) throw fail('may contain only digits, spaces and dashes');
  if (digits.length < 12 || digits.length > 19) throw fail('must have twelve to nineteen digits');
  if (!passesLuhn(digits)) throw fail('fails the Luhn check');
  return digits;
}

function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
