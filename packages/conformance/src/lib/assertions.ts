import { type ErrorCode, isKeyswitchError, type KeyswitchError } from '@keyswitch/core';
import { hex } from './hex-preview.js';
import { CheckFailed } from './outcomes.js';

/** Fails the check with `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

/** Fails unless the two byte strings are equal; shows a short hex prefix of both. */
export function checkBytesEqual(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (Buffer.compare(Buffer.from(actual), Buffer.from(expected)) !== 0) {
    throw new CheckFailed(
      `${what}: got ${actual.byteLength} bytes ${hex(actual, 16)}, expected ${expected.byteLength} bytes ${hex(expected, 16)}`,
    );
  }
}

/** Fails unless `actual` is exactly `true` or `false` as expected (a verify must answer a boolean). */
export function checkBoolean(actual: unknown, expected: boolean, what: string): void {
  if (actual !== expected) throw new CheckFailed(`${what}: expected ${expected}, got ${describe(actual)}`);
}

/** Fails unless a verify call answers `false` (not an error). */
export async function checkRejectedSignature(action: () => Promise<boolean>, what: string): Promise<void> {
  let result: unknown;
  try {
    result = await action();
  } catch (error) {
    throw new CheckFailed(
      `${what}: a verify that does not match must answer false, but it threw ${describeError(error)}`,
    );
  }
  checkBoolean(result, false, what);
}

/**
 * Runs `action` and fails unless it rejects with a KeyswitchError of `code`.
 *
 * @returns the error, for further checks
 */
export async function expectCode(
  action: () => Promise<unknown>,
  code: ErrorCode,
  what: string,
): Promise<KeyswitchError> {
  let result: unknown;
  try {
    result = await action();
  } catch (error) {
    if (!isKeyswitchError(error))
      throw new CheckFailed(`${what}: expected ${code}, got ${describeError(error)}`);
    if (error.code !== code)
      throw new CheckFailed(`${what}: expected ${code}, got ${error.code} (${error.message})`);
    return error;
  }
  throw new CheckFailed(`${what}: expected ${code}, but it succeeded and returned ${describe(result)}`);
}

/** A value-free description of an error: its code or name, and message. */
export function describeError(error: unknown): string {
  if (isKeyswitchError(error)) return `${error.code} (${error.message})`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (value === undefined || value === null || typeof value === 'boolean' || typeof value === 'number')
    return String(value);
  return typeof value;
}
