/**
 * kms-local's symmetric ciphertext blob: a header naming the key, then the backing provider's ciphertext
 * (which binds the encryption context). Like a KMS blob it carries its key, so Decrypt needs no KeyId.
 *
 * Layout: `KSL` magic, version 1, key id length (1 byte), key id (UTF-8), provider ciphertext.
 */
const MAGIC = [0x4b, 0x53, 0x4c, 0x01] as const;

/** Wraps a provider ciphertext with the id of the key that made it. */
export function wrapCiphertext(keyId: string, providerCiphertext: Uint8Array): Uint8Array {
  const id = Buffer.from(keyId, 'utf8');
  if (id.byteLength > 255) throw new RangeError('key id too long for a ciphertext blob');
  return new Uint8Array(
    Buffer.concat([Buffer.from(MAGIC), Buffer.from([id.byteLength]), id, providerCiphertext]),
  );
}

/** The key id and provider ciphertext of a blob, or `undefined` when it is not one of kms-local's blobs. */
export function unwrapCiphertext(blob: Uint8Array): { keyId: string; ciphertext: Uint8Array } | undefined {
  if (blob.byteLength < MAGIC.length + 2 || MAGIC.some((byte, index) => blob[index] !== byte))
    return undefined;
  const length = blob[MAGIC.length]!;
  const start = MAGIC.length + 1;
  if (blob.byteLength <= start + length) return undefined;
  const keyId = Buffer.from(blob.subarray(start, start + length)).toString('utf8');
  return { keyId, ciphertext: blob.slice(start + length) };
}
