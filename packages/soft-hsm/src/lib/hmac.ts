import { createHmac } from 'node:crypto';
import { constantTimeEqual, type HashName } from '@keyswitch/core';

/** HMAC of `message` under `key` with `hash`. */
export function computeHmac(key: Buffer, hash: HashName, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(hash, key).update(message).digest());
}

/** Whether `mac` is the HMAC of `message`, compared in constant time. */
export function checkHmac(key: Buffer, hash: HashName, message: Uint8Array, mac: Uint8Array): boolean {
  const expected = createHmac(hash, key).update(message).digest();
  return constantTimeEqual(expected, mac);
}
