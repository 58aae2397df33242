import { type KeyDescription, type KeyList, KeyswitchError } from '@keyswitch/core';
import { keyDescription } from './key-description.js';
import type { KmsRequests } from './kms-requests.js';
import { mapConcurrently } from './map-concurrently.js';

/** One page of ListKeys, each key described; keys keyswitch cannot use, or deleted meanwhile, left out. */
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
  const descriptions = await mapConcurrently(listed.Keys ?? [], 8, async (entry) => {
    try {
      const { KeyMetadata } = await requests.send('DescribeKey', 'describeKey', (sdk, client) =>
        client.send(new sdk.DescribeKeyCommand({ KeyId: entry.KeyArn ?? entry.KeyId! })),
      );
      return keyDescription(KeyMetadata!);
    } catch (error) {
      // Keys keyswitch cannot use (other specs) and keys deleted meanwhile are left out of the list.
      if (
        error instanceof KeyswitchError &&
        (error.code === 'UNSUPPORTED_ALGORITHM' || error.code === 'KEY_NOT_FOUND')
      ) {
        return undefined;
      }
      throw error;
    }
  });
  const keys = descriptions.filter((description): description is KeyDescription => description !== undefined);
  return listed.Truncated && listed.NextMarker ? { keys, nextToken: listed.NextMarker } : { keys };
}
