import { type CipherInput, isKeyswitchError, type KeyFacts } from '@keyswitch/core';
import type { KeyCache } from './key-cache.js';
import type { KmsRequests } from './kms-requests.js';
import { rateClassFor } from './rate-class.js';

/**
 * Decrypt in KMS. When the reference is an alias that has moved, ciphertext made under a key it pointed to
 * before fails as INVALID_CIPHERTEXT; then the keys this process saw the alias point to are tried, most
 * recent first, so that the application can always decrypt what it encrypted.
 */
export async function decryptInKms(
  requests: KmsRequests,
  cache: KeyCache,
  key: KeyFacts,
  input: CipherInput,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const decryptWith = async (keyId: string) => {
    const { Plaintext } = await requests.send(
      'Decrypt',
      rateClassFor(key.spec),
      (sdk, client) =>
        client.send(
          new sdk.DecryptCommand({
            KeyId: keyId,
            CiphertextBlob: input.data,
            EncryptionAlgorithm: input.algorithm,
            ...(input.context === undefined ? {} : { EncryptionContext: { ...input.context } }),
          }),
        ),
      { signal },
    );
    return Plaintext!;
  };
  try {
    return await decryptWith(key.ref);
  } catch (error) {
    if (!isKeyswitchError(error, 'INVALID_CIPHERTEXT')) throw error;
    for (const earlier of cache.previousTargets(key.ref)) {
      try {
        return await decryptWith(earlier);
      } catch {
        // Not this one either; the original error stands.
      }
    }
    throw error;
  }
}
