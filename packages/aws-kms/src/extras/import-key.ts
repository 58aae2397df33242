import type { KeyObject } from 'node:crypto';
import type { KeyDescription, KeySpec, KeyUsage } from '@keyswitch/core';
import { qualifiedAliasName } from '../lib/alias-name.js';
import { keyDescription } from '../lib/key-description.js';
import type { KmsRequests } from '../lib/kms-requests.js';
import { keyMaterial, wrapKeyMaterial, wrappingAlgorithmFor } from '../lib/wrap-key-material.js';

/**
 * Key material to import into KMS (BYOK): a key created with `Origin: EXTERNAL`, then its material.
 *
 * @example
 * ```ts
 * const request: KmsImportKeyRequest = { spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', key: createSecretKey(randomBytes(32)), label: 'pan-kek-test' };
 * ```
 */
export interface KmsImportKeyRequest {
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** The material: a node:crypto private key (RSA, EC) or secret key (SYMMETRIC_DEFAULT: 32 bytes; HMAC). */
  readonly key: KeyObject;
  /** An alias for the key, without `alias/`. */
  readonly label?: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * CreateKey with `Origin: EXTERNAL`, GetParametersForImport, the material wrapped here, ImportKeyMaterial
 * without expiry, then the alias. If a step after CreateKey fails, the new key is scheduled for deletion.
 */
export async function importKmsKey(
  requests: KmsRequests,
  request: KmsImportKeyRequest,
): Promise<KeyDescription> {
  const material = keyMaterial(request.key);
  const algorithm = wrappingAlgorithmFor(request.key);
  const tags = Object.entries(request.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
  const { KeyMetadata } = await requests.send('CreateKey', 'management', (sdk, client) =>
    client.send(
      new sdk.CreateKeyCommand({
        KeySpec: request.spec,
        KeyUsage: request.usage,
        Origin: 'EXTERNAL',
        ...(request.description === undefined ? {} : { Description: request.description }),
        ...(tags.length > 0 ? { Tags: tags } : {}),
      }),
    ),
  );
  const keyArn = KeyMetadata!.Arn!;
  try {
    const parameters = await requests.send('GetParametersForImport', 'management', (sdk, client) =>
      client.send(
        new sdk.GetParametersForImportCommand({
          KeyId: keyArn,
          WrappingAlgorithm: algorithm,
          WrappingKeySpec: 'RSA_2048',
        }),
      ),
    );
    const wrapped = wrapKeyMaterial(material, parameters.PublicKey!, algorithm);
    await requests.send('ImportKeyMaterial', 'management', (sdk, client) =>
      client.send(
        new sdk.ImportKeyMaterialCommand({
          KeyId: keyArn,
          ImportToken: parameters.ImportToken!,
          EncryptedKeyMaterial: wrapped,
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        }),
      ),
    );
    const aliases: string[] = [];
    if (request.label !== undefined) {
      const alias = qualifiedAliasName(request.label);
      await requests.send('CreateAlias', 'management', (sdk, client) =>
        client.send(new sdk.CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn })),
      );
      aliases.push(alias);
    }
    const { KeyMetadata: imported } = await requests.send('DescribeKey', 'describeKey', (sdk, client) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: keyArn })),
    );
    return keyDescription(imported!, { aliases, ...(request.tags ? { tags: request.tags } : {}) });
  } catch (error) {
    await requests
      .send('ScheduleKeyDeletion', 'management', (sdk, client) =>
        client.send(new sdk.ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: 7 })),
      )
      .catch(() => undefined);
    throw error;
  } finally {
    material.fill(0);
  }
}
