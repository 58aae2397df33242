import type { CreateKeyRequest, KeyDescription } from '@keyswitch/core';
import { qualifiedAliasName } from './alias-name.js';
import { CREATION_TOKEN_TAG, type CreationRecovery, createKeyOnce } from './create-key-once.js';
import { keyDescription } from './key-description.js';
import type { KmsRequests } from './kms-requests.js';

/**
 * CreateKey (sent once, tagged with a creation token, found again if its answer is lost), then the alias;
 * if the alias fails, the new key is scheduled for deletion.
 */
export async function createKmsKey(
  requests: KmsRequests,
  request: CreateKeyRequest,
  recovery: CreationRecovery,
): Promise<KeyDescription> {
  const { metadata, creationToken } = await createKeyOnce(
    requests,
    {
      KeySpec: request.spec,
      KeyUsage: request.usage,
      ...(request.description === undefined ? {} : { Description: request.description }),
      tags: request.tags,
    },
    recovery,
  );
  const aliases: string[] = [];
  if (request.label !== undefined) {
    const alias = qualifiedAliasName(request.label);
    try {
      await requests.send('CreateAlias', 'management', (sdk, client) =>
        client.send(new sdk.CreateAliasCommand({ AliasName: alias, TargetKeyId: metadata.KeyId })),
      );
    } catch (error) {
      // Do not leave an unnamed key behind: schedule it for deletion with the shortest window.
      await requests
        .send('ScheduleKeyDeletion', 'management', (sdk, client) =>
          client.send(new sdk.ScheduleKeyDeletionCommand({ KeyId: metadata.Arn, PendingWindowInDays: 7 })),
        )
        .catch(() => undefined);
      throw error;
    }
    aliases.push(alias);
  }
  const tags = { ...request.tags, [CREATION_TOKEN_TAG]: creationToken };
  return keyDescription(metadata, { aliases, tags });
}
