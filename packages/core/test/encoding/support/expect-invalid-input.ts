import { expect } from 'vitest';
import { KeyswitchError } from '../../../src/errors.js';

/** Asserts that `action` throws a KeyswitchError with code INVALID_INPUT whose message matches `message`. */
export function expectInvalidInput(action: () => unknown, message?: RegExp | string): KeyswitchError {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(KeyswitchError);
  const error = thrown as KeyswitchError;
  expect(error.code).toBe('INVALID_INPUT');
  if (message !== undefined) expect(error.detail).toMatch(message);
  return error;
}
