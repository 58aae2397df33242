import { KeyswitchError } from '../errors.js';
import { type EncryptionContext, LIMITS } from '../provider/contract.js';

/** Throws INVALID_INPUT unless `value` is a Uint8Array (a Buffer is one) within the given length bounds. */
export function assertBytes(
  value: unknown,
  what: string,
  bounds: { min?: number; max?: number } = {},
): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new KeyswitchError('INVALID_INPUT', `${what} must be a Uint8Array, got ${describeType(value)}`);
  }
  const min = bounds.min ?? 0;
  if (value.byteLength < min) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      min === 1
        ? `${what} must not be empty`
        : `${what} must be at least ${min} bytes, got ${value.byteLength}`,
    );
  }
  if (bounds.max !== undefined && value.byteLength > bounds.max) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `${what} is ${value.byteLength} bytes; the limit is ${bounds.max} bytes`,
    );
  }
  return value;
}

/** Throws INVALID_INPUT unless `value` is a plain object of string values within the size limit. */
export function assertContext(value: unknown): EncryptionContext | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `encryption context must be an object of strings, got ${describeType(value)}`,
    );
  }
  let size = 0;
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new KeyswitchError(
        'INVALID_INPUT',
        `encryption context value for "${key}" must be a string, got ${describeType(entry)}`,
      );
    }
    if (key.length === 0)
      throw new KeyswitchError('INVALID_INPUT', 'encryption context keys must not be empty');
    // A lone surrogate has no UTF-8 form: it would encode as U+FFFD, and two different contexts would bind
    // the same bytes.
    if (!isWellFormed(key) || !isWellFormed(entry)) {
      throw new KeyswitchError(
        'INVALID_INPUT',
        'an encryption context key or value is not well-formed Unicode',
      );
    }
    size += Buffer.byteLength(key) + Buffer.byteLength(entry);
  }
  if (size > LIMITS.maxContextBytes) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `encryption context is ${size} bytes; the limit is ${LIMITS.maxContextBytes}`,
    );
  }
  return value as EncryptionContext;
}

/** Throws INVALID_INPUT unless `value` is a non-empty string. */
export function assertRef(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `key reference must be a non-empty string, got ${describeType(value)}`,
    );
  }
  return value;
}

/** A short, value-free description of a value's type, safe to put in error messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Whether a string is well-formed UTF-16 (no lone surrogates), so it has exactly one UTF-8 encoding. */
function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/**
 * Throws INVALID_INPUT unless `value` is an integer from `min` to `max`, naming the argument.
 *
 * @example
 * ```ts
 * assertIntegerIn(limit, 'limit', 1, 1000); // "limit must be an integer from 1 to 1000, got 0"
 * ```
 */
export function assertIntegerIn(value: number, what: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `${what} must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
}
