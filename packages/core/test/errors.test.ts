import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isKeyswitchError, KeyswitchError } from '../src/index.js';

describe('KeyswitchError', () => {
  it('names where it came from in its message', () => {
    const error = new KeyswitchError('KEY_NOT_FOUND', 'not found', {
      provider: 'pkcs11',
      keyName: 'acs-signing',
      keyRef: 'pkcs11:object=acs',
    });
    expect(error.message).toBe('[keyswitch] [pkcs11] key "acs-signing" (pkcs11:object=acs): not found');
    expect(error.name).toBe('KeyswitchError');
    expect(error.detail).toBe('not found');
    expect(error).toBeInstanceOf(Error);
    expect(new KeyswitchError('INVALID_INPUT', 'bad', { keyRef: 'alias/x' }).message).toBe(
      '[keyswitch] key alias/x: bad',
    );
    expect(new KeyswitchError('CONFIG_INVALID', 'bad', { path: 'keys.a' }).message).toBe(
      '[keyswitch] at keys.a: bad',
    );
    expect(new KeyswitchError('INTERNAL', 'bad', { keyName: 'k' }).message).toBe('[keyswitch] key "k": bad');
  });

  it('is retryable for THROTTLED, UNAVAILABLE and AUDIT_UNAVAILABLE only, unless told otherwise', () => {
    for (const code of ERROR_CODES) {
      expect(new KeyswitchError(code, 'x').retryable).toBe(
        code === 'THROTTLED' || code === 'UNAVAILABLE' || code === 'AUDIT_UNAVAILABLE',
      );
    }
    expect(new KeyswitchError('INTERNAL', 'x', { retryable: true }).retryable).toBe(true);
    expect(new KeyswitchError('UNAVAILABLE', 'x', { retryable: false }).retryable).toBe(false);
  });

  it('keeps the backend error as cause and leaves it out of JSON', () => {
    const cause = new Error('CKR_DEVICE_ERROR');
    const error = new KeyswitchError('UNAVAILABLE', 'token gone', { cause, provider: 'hsm' });
    expect(error.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'KeyswitchError',
      code: 'UNAVAILABLE',
      message: '[keyswitch] [hsm]: token gone',
      retryable: true,
      provider: 'hsm',
    });
  });

  it('adds context it lacked and keeps what it had', () => {
    const error = new KeyswitchError('KEY_DISABLED', 'disabled', { keyRef: 'k1', retryable: false });
    const named = error.withContext({ provider: 'dev', keyName: 'pan-kek', keyRef: 'other' });
    expect(named).not.toBe(error);
    expect(named).toMatchObject({ provider: 'dev', keyName: 'pan-kek', keyRef: 'k1', code: 'KEY_DISABLED' });
    expect(named.message).toBe('[keyswitch] [dev] key "pan-kek" (k1): disabled');
    expect(named.withContext({ provider: 'x' })).toBe(named);
  });

  it('is recognised by shape and code', () => {
    const error = new KeyswitchError('THROTTLED', 'slow down');
    expect(isKeyswitchError(error)).toBe(true);
    expect(isKeyswitchError(error, 'THROTTLED', 'UNAVAILABLE')).toBe(true);
    expect(isKeyswitchError(error, 'KEY_NOT_FOUND')).toBe(false);
    expect(isKeyswitchError(new Error('x'))).toBe(false);
    expect(isKeyswitchError({ name: 'KeyswitchError', code: 'THROTTLED' })).toBe(false);
    const lookalike = Object.assign(new Error('x'), { name: 'KeyswitchError', code: 'NOT_A_CODE' });
    expect(isKeyswitchError(lookalike)).toBe(false);
    const other = Object.assign(new Error('x'), { name: 'OtherError', code: 'THROTTLED' });
    expect(isKeyswitchError(other)).toBe(false);
  });
});

describe('KeyswitchError redaction', () => {
  it('never shows a pin-value from a pkcs11 URI', () => {
    const error = new KeyswitchError('KEY_NOT_FOUND', 'not found', {
      keyRef: 'pkcs11:token=t;object=acs?pin-value=123456&module-name=x',
    });
    expect(error.message).not.toContain('123456');
    expect(error.keyRef).toBe('pkcs11:token=t;object=acs?pin-value=[redacted]&module-name=x');
    expect(JSON.stringify(error)).not.toContain('123456');
  });
});
