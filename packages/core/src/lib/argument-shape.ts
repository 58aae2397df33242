import { invalidInput } from '../errors.js';

/** A value-free name for a value's type, for the message. */
function typeOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * `value` when it is an object (not null, not an array); else INVALID_INPUT naming `what` and the type
 * given, never the value. For the options or input object of a public function, checked before any of
 * its fields is read.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` (`<what> must be an object, got a number`)
 *
 * @example
 * ```ts
 * import { requireObject } from '@keyswitch/core';
 * const { signer, subject } = requireObject(options, 'createCsr options');
 * ```
 */
export function requireObject<T>(value: T, what: string): NonNullable<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidInput(`${what} must be an object, got ${typeOf(value)}`);
  }
  return value as NonNullable<T>;
}

/**
 * `value` when it is a non-empty string; else INVALID_INPUT naming `what` and the type given.
 *
 * @throws {@link KeyswitchError} `INVALID_INPUT` (`<what> must be a non-empty string, got undefined`)
 *
 * @example
 * ```ts
 * import { requireString } from '@keyswitch/core';
 * const file = requireString(path, 'the audit file path');
 * ```
 */
export function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidInput(
      `${what} must be a non-empty string, got ${value === '' ? 'an empty string' : typeOf(value)}`,
    );
  }
  return value;
}
