import type { DataKeySpec, EncryptionContext, KeyFacts } from '@keyswitch/core';
import type { KmsRequests } from './kms-requests.js';

/** What the core asks of a data key: its spec, context, and whether the plaintext copy is wanted. */
export interface DataKeyInput {
  readonly dataKeySpec: DataKeySpec;
  readonly context: EncryptionContext | undefined;
  readonly withPlaintext: boolean;
}

/**
 * A data key from KMS under a SYMMETRIC_DEFAULT key: GenerateDataKey, or GenerateDataKeyWithoutPlaintext
 * when no plaintext copy is wanted (the key then never leaves KMS in clear).
 *
 * @example
 * ```ts
 * const { ciphertextBlob } = await generateDataKeyInKms(requests, key, { dataKeySpec: 'AES_256', context: undefined, withPlaintext: false });
 * ```
 */
export async function generateDataKeyInKms(
  requests: KmsRequests,
  key: KeyFacts,
  input: DataKeyInput,
): Promise<{ plaintext?: Uint8Array; ciphertextBlob: Uint8Array }> {
  const request = {
    KeyId: key.ref,
    KeySpec: input.dataKeySpec,
    ...(input.context === undefined ? {} : { EncryptionContext: { ...input.context } }),
  };
  if (!input.withPlaintext) {
    const { CiphertextBlob } = await requests.send(
      'GenerateDataKeyWithoutPlaintext',
      'symmetric',
      (sdk, client) => client.send(new sdk.GenerateDataKeyWithoutPlaintextCommand(request)),
    );
    return { ciphertextBlob: CiphertextBlob! };
  }
  const { Plaintext, CiphertextBlob } = await requests.send('GenerateDataKey', 'symmetric', (sdk, client) =>
    client.send(new sdk.GenerateDataKeyCommand(request)),
  );
  return { plaintext: Plaintext!, ciphertextBlob: CiphertextBlob! };
}
