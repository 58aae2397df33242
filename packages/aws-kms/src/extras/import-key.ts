import type { ImportKeyInput, KeyDescription } from '@keyswitch/core';
import { qualifiedAliasName } from '../lib/alias-name.js';
import { CREATION_TOKEN_TAG, type CreationRecovery, createKeyOnce } from '../lib/create-key-once.js';
import { keyDescription } from '../lib/key-description.js';
import type { KmsRequests } from '../lib/kms-requests.js';
import { keyMaterial, wrapKeyMaterial, wrappingAlgorithmFor } from '../lib/wrap-key-material.js';

/**
 * CreateKey with `Origin: EXTERNAL`, GetParametersForImport, the material wrapped here, ImportKeyMaterial
 * without expiry, then the alias. If a step after CreateKey fails, the new key is scheduled for deletion.
 */
export async function importKmsKey(
  requests: KmsRequests,
  request: ImportKeyInput,
  recovery: CreationRecovery,
): Promise<KeyDescription> {
  const material = keyMaterial(request.key);
  const algorithm = wrappingAlgorithmFor(request.key);
  const { metadata, creationToken } = await createKeyOnce(
    requests,
    {
      KeySpec: request.spec,
      KeyUsage: request.usage,
      Origin: 'EXTERNAL',
      ...(request.description === undefined ? {} : { Description: request.description }),
      tags: request.tags,
    },
    recovery,
  );
  const keyArn = metadata.Arn!;
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
    return keyDescription(imported!, {
      aliases,
      tags: { ...request.tags, [CREATION_TOKEN_TAG]: creationToken },
    });
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
