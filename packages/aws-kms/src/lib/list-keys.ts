import { type KeyDescription, type KeyList, KeyswitchError } from '@keyswitch/core';
import { keyDescription } from './key-description.js';
import type { KmsRequests } from './kms-requests.js';
import { mapConcurrently } from './map-concurrently.js';

/**
 * One page of ListKeys, each key described with its aliases and tags; keys keyswitch cannot use, or
 * deleted meanwhile, left out. Aliases come from one paged ListAliases, tags from ListResourceTags.
 */
export async function listKmsKeys(
  requests: KmsRequests,
  options: { limit: number; nextToken?: string },
): Promise<KeyList> {
  const listed = await requests.send('ListKeys', 'list', (sdk, client) =>
    client.send(
      new sdk.ListKeysCommand({
        Limit: options.limit,
        ...(options.nextToken === undefined ? {} : { Marker: options.nextToken }),
      }),
    ),
  );
  const entries = listed.Keys ?? [];
  const aliases = entries.length === 0 ? new Map<string, string[]>() : await aliasesByKeyId(requests);
  const descriptions = await mapConcurrently(entries, 8, async (entry) => {
    try {
      const keyId = entry.KeyArn ?? entry.KeyId!;
      const { KeyMetadata } = await requests.send('DescribeKey', 'describeKey', (sdk, client) =>
        client.send(new sdk.DescribeKeyCommand({ KeyId: keyId })),
      );
      const tags = await tagsOf(requests, keyId);
      return keyDescription(KeyMetadata!, { aliases: aliases.get(KeyMetadata!.KeyId!) ?? [], tags });
    } catch (error) {
      // Keys keyswitch cannot use (other specs) and keys deleted meanwhile are left out of the list.
      if (
        error instanceof KeyswitchError &&
        (error.code === 'UNSUPPORTED_ALGORITHM' ||
          error.code === 'UNSUPPORTED_OPERATION' ||
          error.code === 'KEY_NOT_FOUND')
      ) {
        return undefined;
      }
      throw error;
    }
  });
  const keys = descriptions.filter((description): description is KeyDescription => description !== undefined);
  return listed.Truncated && listed.NextMarker ? { keys, nextToken: listed.NextMarker } : { keys };
}

/** Every alias of the account, by the key id it points to. */
async function aliasesByKeyId(requests: KmsRequests): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>();
  let marker: string | undefined;
  do {
    const page = await requests.send('ListAliases', 'list', (sdk, client) =>
      client.send(
        new sdk.ListAliasesCommand({ Limit: 100, ...(marker === undefined ? {} : { Marker: marker }) }),
      ),
    );
    for (const alias of page.Aliases ?? []) {
      if (alias.TargetKeyId === undefined || alias.AliasName === undefined) continue;
      byKey.set(alias.TargetKeyId, [...(byKey.get(alias.TargetKeyId) ?? []), alias.AliasName]);
    }
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker !== undefined);
  return byKey;
}

/** A key's tags; none where they cannot be read (AWS managed keys, a missing permission). */
async function tagsOf(requests: KmsRequests, keyId: string): Promise<Record<string, string>> {
  try {
    const { Tags } = await requests.send('ListResourceTags', 'list', (sdk, client) =>
      client.send(new sdk.ListResourceTagsCommand({ KeyId: keyId })),
    );
    return Object.fromEntries((Tags ?? []).map((tag) => [tag.TagKey!, tag.TagValue ?? '']));
  } catch (error) {
    if (
      error instanceof KeyswitchError &&
      (error.code === 'ACCESS_DENIED' || error.code === 'KEY_NOT_FOUND')
    ) {
      return {};
    }
    throw error;
  }
}
