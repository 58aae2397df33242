import type { KeyMetadata } from '@aws-sdk/client-kms';
import {
  algorithmsFor,
  isKeySpec,
  isKeyUsage,
  type KeyDescription,
  type KeyState,
  KeyswitchError,
} from '@keyswitch/core';

/** Whether a reference is an alias name (`alias/…`) or an alias ARN. */
export function isAliasReference(ref: string): boolean {
  return ref.startsWith('alias/') || /^arn:aws[a-z-]*:kms:[^:]+:\d{12}:alias\//.test(ref);
}

function keyState(state: string | undefined, enabled: boolean | undefined): KeyState {
  if (state === 'Enabled') return 'ENABLED';
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion') return 'PENDING_DELETION';
  if (state === undefined) return enabled ? 'ENABLED' : 'DISABLED';
  // Disabled, PendingImport, Unavailable, Creating, Updating: not usable.
  return 'DISABLED';
}

/**
 * A keyswitch key description for KMS KeyMetadata. The reference is the key ARN; the aliases are those
 * known without another request (the alias the key was asked for by, or created with).
 *
 * @throws UNSUPPORTED_ALGORITHM for key specs keyswitch does not have (ECC_SECG_P256K1, SM2, HMAC_224, ML-DSA)
 */
export function keyDescription(
  metadata: KeyMetadata,
  extra: { aliases?: readonly string[]; tags?: Readonly<Record<string, string>> } = {},
): KeyDescription {
  const spec = metadata.KeySpec ?? metadata.CustomerMasterKeySpec;
  const usage = metadata.KeyUsage;
  if (!isKeySpec(spec) || !isKeyUsage(usage)) {
    throw new KeyswitchError(
      'UNSUPPORTED_ALGORITHM',
      `KMS key ${metadata.KeyId} is ${spec} for ${usage}, which keyswitch does not support`,
    );
  }
  return {
    ref: metadata.Arn ?? metadata.KeyId!,
    keyId: metadata.KeyId!,
    aliases: extra.aliases ?? [],
    spec,
    usage,
    algorithms: algorithmsFor(spec, usage),
    state: keyState(metadata.KeyState, metadata.Enabled),
    ...(metadata.CreationDate ? { createdAt: metadata.CreationDate } : {}),
    ...(metadata.DeletionDate ? { deletionDate: metadata.DeletionDate } : {}),
    ...(metadata.Description ? { description: metadata.Description } : {}),
    ...(extra.tags && Object.keys(extra.tags).length > 0 ? { tags: extra.tags } : {}),
  };
}

/** The alias name (`alias/x`) of an alias reference, or undefined. */
export function aliasName(ref: string): string | undefined {
  if (ref.startsWith('alias/')) return ref;
  const match = /^arn:aws[a-z-]*:kms:[^:]+:\d{12}:(alias\/.+)$/.exec(ref);
  return match?.[1];
}
