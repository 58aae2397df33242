import { isKeyswitchError, type KeyswitchError } from '@keyswitch/core';
import { expect } from 'vitest';

/** The KeyswitchError a promise rejects with (fails the test when it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<KeyswitchError> {
  try {
    await promise;
  } catch (error) {
    expect(isKeyswitchError(error), `expected a KeyswitchError, got ${String(error)}`).toBe(true);
    return error as KeyswitchError;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Asserts that a promise rejects with a KeyswitchError of `code`, and returns it. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<KeyswitchError> {
  const error = await rejection(promise);
  expect(error.code, error.message).toBe(code);
  return error;
}
