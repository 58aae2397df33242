import { describe, expect, it } from 'vitest';
import { isKeyswitchError, requireObject, requireString } from '../src/index.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isKeyswitchError(error, 'INVALID_INPUT')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected INVALID_INPUT');
}

describe('argument shape checks', () => {
  it('requireObject passes objects through and names the argument and the type of anything else', () => {
    const options = { signer: 'x' };
    expect(requireObject(options, 'createCsr options')).toBe(options);
    expect(messageOf(() => requireObject(undefined, 'createCsr options'))).toMatch(
      /createCsr options must be an object, got undefined$/,
    );
    expect(messageOf(() => requireObject(null, 'o'))).toMatch(/got null$/);
    expect(messageOf(() => requireObject([], 'o'))).toMatch(/got an array$/);
    expect(messageOf(() => requireObject('secret-pin-1234', 'o'))).toMatch(/got a string$/);
    expect(messageOf(() => requireObject('secret-pin-1234', 'o'))).not.toContain('1234');
  });

  it('requireString accepts non-empty strings only', () => {
    expect(requireString('audit.jsonl', 'the audit file path')).toBe('audit.jsonl');
    expect(messageOf(() => requireString('', 'the audit file path'))).toMatch(/got an empty string$/);
    expect(messageOf(() => requireString(42, 'the audit file path'))).toMatch(
      /the audit file path must be a non-empty string, got a number$/,
    );
  });
});
