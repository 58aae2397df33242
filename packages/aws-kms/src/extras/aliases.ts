import { qualifiedAliasName } from '../lib/alias-name.js';
import type { KmsRequests, SendOptions } from '../lib/kms-requests.js';

/**
 * A KMS alias.
 *
 * @example
 * ```ts
 * const { aliases } = await kms.listAliases();
 * const names = aliases.map((alias: KmsAlias) => alias.aliasName);
 * ```
 */
export interface KmsAlias {
  readonly aliasName: string;
  readonly aliasArn: string;
  /** The key id it points to (absent for AWS managed aliases not yet in use). */
  readonly targetKeyId?: string;
}

/**
 * CreateAlias for the key a reference names; returns the full alias name. `send` says how the CreateAlias
 * request goes (`once`: no SDK retry, since a repeat after a lost answer would report the alias as taken).
 */
export async function createKmsAlias(
  requests: KmsRequests,
  alias: string,
  ref: string,
  send: SendOptions = {},
): Promise<string> {
  const name = qualifiedAliasName(alias);
  const keyId = await requests.keyIdOrArn(ref);
  await requests.send(
    'CreateAlias',
    'management',
    (sdk, client) => client.send(new sdk.CreateAliasCommand({ AliasName: name, TargetKeyId: keyId })),
    send,
  );
  return name;
}

/** UpdateAlias to the key a reference names, sent as `send` says; returns the full alias name. */
export async function updateKmsAlias(
  requests: KmsRequests,
  alias: string,
  ref: string,
  send: SendOptions = {},
): Promise<string> {
  const name = qualifiedAliasName(alias);
  const keyId = await requests.keyIdOrArn(ref);
  await requests.send(
    'UpdateAlias',
    'management',
    (sdk, client) => client.send(new sdk.UpdateAliasCommand({ AliasName: name, TargetKeyId: keyId })),
    send,
  );
  return name;
}

/**
 * DeleteAlias, sent as `send` says (`once`: a repeat after a lost answer would report the alias missing);
 * returns the full alias name.
 */
export async function deleteKmsAlias(
  requests: KmsRequests,
  alias: string,
  send: SendOptions = {},
): Promise<string> {
  const name = qualifiedAliasName(alias);
  await requests.send(
    'DeleteAlias',
    'management',
    (sdk, client) => client.send(new sdk.DeleteAliasCommand({ AliasName: name })),
    send,
  );
  return name;
}

/** One page of ListAliases, for one key when `ref` is given. */
export async function listKmsAliases(
  requests: KmsRequests,
  options: { ref?: string; limit?: number; nextToken?: string },
): Promise<{ aliases: KmsAlias[]; nextToken?: string }> {
  const keyId = options.ref === undefined ? undefined : await requests.keyIdOrArn(options.ref);
  const listed = await requests.send('ListAliases', 'list', (sdk, client) =>
    client.send(
      new sdk.ListAliasesCommand({
        ...(keyId === undefined ? {} : { KeyId: keyId }),
        ...(options.limit === undefined ? {} : { Limit: options.limit }),
        ...(options.nextToken === undefined ? {} : { Marker: options.nextToken }),
      }),
    ),
  );
  const aliases = (listed.Aliases ?? []).map((alias) => ({
    aliasName: alias.AliasName!,
    aliasArn: alias.AliasArn!,
    ...(alias.TargetKeyId === undefined ? {} : { targetKeyId: alias.TargetKeyId }),
  }));
  return listed.Truncated && listed.NextMarker ? { aliases, nextToken: listed.NextMarker } : { aliases };
}
