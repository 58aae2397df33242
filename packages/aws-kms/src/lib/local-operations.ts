import type { CipherInput, SignInput } from '@keyswitch/core';
import type { KeyCache } from './key-cache.js';
import { isAliasReference } from './key-description.js';
import { encryptLocally, verifyLocally } from './local-public-key.js';

/**
 * Verifies with the cached public key of the key the reference names now. When that fails and the
 * reference is an alias, asks KMS where the alias points (at most once a second) and, if it moved, tries
 * the new key: a signature made after the alias moved verifies at once.
 *
 * @throws KEY_DISABLED when the key is not enabled (as far as the key-state TTL allows knowing)
 */
export async function verifyWithCachedKey(
  cache: KeyCache,
  ref: string,
  input: SignInput & { readonly signature: Uint8Array },
): Promise<boolean> {
  const keyArn = await cache.usable(ref);
  const verifyWith = async (arn: string) =>
    verifyLocally(await cache.keyObjectOf(arn), input.algorithm, input.message, input.signature);
  if (await verifyWith(keyArn)) return true;
  if (!isAliasReference(ref)) return false;
  const now = await cache.usable(ref, { force: true });
  return now !== keyArn && verifyWith(now);
}

/**
 * Encrypts to the cached public key of the key the reference names now.
 *
 * @throws KEY_DISABLED when the key is not enabled (as far as the key-state TTL allows knowing)
 */
export async function encryptWithCachedKey(
  cache: KeyCache,
  ref: string,
  input: CipherInput,
): Promise<Uint8Array> {
  const keyArn = await cache.usable(ref);
  return encryptLocally(await cache.keyObjectOf(keyArn), input.algorithm, input.data);
}
