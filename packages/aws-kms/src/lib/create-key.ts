import type { CreateKeyRequest, KeyDescription } from '@keyswitch/core';
import { qualifiedAliasName } from './alias-name.js';
import { keyDescription } from './key-description.js';
import type { KmsRequests } from './kms-requests.js';

/** CreateKey, then the alias; if the alias fails, the new key is scheduled for deletion. */
export async function createKmsKey(
  requests: KmsRequests,
  request: CreateKeyRequest,
): Promise<KeyDescription> {
  const tags = Object.entries(request.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
  const { KeyMetadata } = await requests.send('CreateKey', 'management', (sdk, client) =>
    client.send(
      new sdk.CreateKeyCommand({
        KeySpec: request.spec,
        KeyUsage: request.usage,
        ...(request.description === undefined ? {} : { Description: request.description }),
        ...(tags.length > 0 ? { Tags: tags } : {}),
      }),
    ),
  );
  const aliases: string[] = [];
  if (request.label !== undefined) {
    const alias = qualifiedAliasName(request.label);
    try {
      await requests.send('CreateAlias', 'management', (sdk, client) =>
        client.send(new sdk.CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId })),
      );
    } catch (error) {
      // Do not leave an unnamed key behind: schedule it for deletion with the shortest window.
      await requests
        .send('ScheduleKeyDeletion', 'management', (sdk, client) =>
          client.send(
            new sdk.ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.Arn, PendingWindowInDays: 7 }),
          ),
        )
        .catch(() => undefined);
      throw error;
    }
    aliases.push(alias);
  }
  return keyDescription(KeyMetadata!, { aliases, ...(request.tags ? { tags: request.tags } : {}) });
}
