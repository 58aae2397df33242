import { createHash } from 'node:crypto';
import type { KeyDescription, KeyProvider } from '@keyswitch/core';
import type { KeyRegistry, KmsKeyState } from './key-registry.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALIAS_NAME = /^[a-zA-Z0-9/_-]+$/;
const STATES: Readonly<Record<KeyDescription['state'], KmsKeyState>> = {
  ENABLED: 'Enabled',
  DISABLED: 'Disabled',
  PENDING_DELETION: 'PendingDeletion',
};

/**
 * Registers the keys a provider already holds (a persistent software-HSM keystore, a PKCS#11 token), so
 * that kms-local serves them. A key kms-local created keeps its key id (its label is `kms/<key id>`);
 * another key gets a key id derived from its reference, stable across restarts, and its labels become
 * aliases (`acs-signing` answers as `alias/acs-signing`).
 *
 * @returns how many keys were registered
 */
export async function adoptProviderKeys(
  provider: KeyProvider,
  registry: KeyRegistry,
  accountId: string,
): Promise<number> {
  const capabilities = await provider.capabilities();
  if (!capabilities.operations.listKeys) return 0;
  let count = 0;
  let nextToken: string | undefined;
  do {
    const page = await provider.listKeys(
      nextToken === undefined ? { limit: 1000 } : { limit: 1000, nextToken },
    );
    for (const description of page.keys) {
      const ownId = description.aliases
        .map((alias) => /^kms\/(.+)$/.exec(alias)?.[1])
        .find((id): id is string => id !== undefined && UUID.test(id));
      const keyId =
        ownId ?? (UUID.test(description.keyId) ? description.keyId : derivedKeyId(description.ref));
      if (registry.byKeyId(keyId)) continue;
      registry.add({
        keyId,
        accountId,
        providerRef: description.ref,
        origin: 'AWS_KMS',
        spec: description.spec,
        usage: description.usage,
        createdAt: description.createdAt ?? new Date(),
        description: description.description ?? '',
        state: STATES[description.state],
        deletionDate: description.deletionDate,
        tags: new Map(Object.entries(description.tags ?? {})),
        rotation: { enabled: false, periodDays: 365 },
      });
      for (const label of description.aliases) {
        const aliasName = `alias/${label}`;
        if (!label.startsWith('kms/') && ALIAS_NAME.test(label) && !registry.alias(accountId, aliasName)) {
          registry.putAlias(accountId, aliasName, keyId);
        }
      }
      count += 1;
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return count;
}

/** A UUID-shaped key id derived from a provider reference (SHA-256, version nibble 4 and RFC 4122 variant). */
function derivedKeyId(ref: string): string {
  const hex = createHash('sha256').update(ref).digest('hex').slice(0, 32).split('');
  hex[12] = '4';
  hex[16] = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const text = hex.join('');
  return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`;
}
