import { randomUUID } from 'node:crypto';
import type { KeySpec, KeyUsage } from '@keyswitch/core';
import { KmsException, keyNotFound } from './kms-exception.js';

/** A KMS key state, in KMS's names. */
export type KmsKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport';

/** What kms-local keeps about a key; the key material stays in the backing provider. */
export interface LocalKey {
  readonly keyId: string;
  readonly accountId: string;
  readonly arn: string;
  /** The key's reference in the backing provider; empty while an EXTERNAL key awaits its material. */
  providerRef: string;
  /** `AWS_KMS` for keys made here, `EXTERNAL` for keys whose material is imported. */
  readonly origin: 'AWS_KMS' | 'EXTERNAL';
  /** When imported key material expires (KEY_MATERIAL_EXPIRES); then the key is PendingImport again. */
  materialValidTo?: Date | undefined;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly createdAt: Date;
  description: string;
  state: KmsKeyState;
  deletionDate?: Date | undefined;
  pendingWindowDays?: number | undefined;
  readonly tags: Map<string, string>;
  rotation: { enabled: boolean; periodDays: number; nextRotation?: Date | undefined };
}

/** An alias, per account. */
export interface LocalAlias {
  readonly aliasName: string;
  readonly accountId: string;
  keyId: string;
  readonly createdAt: Date;
  updatedAt: Date;
}

/** Where a key reference may point: any key (crypto operations) or only the caller's own keys by id or ARN. */
export type ReferenceRules = 'any-form' | 'id-or-arn';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/;
const ALIAS_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(alias\/.+)$/;

/** Keys and aliases by account, and the rules that turn a KMS `KeyId` into a key. */
export class KeyRegistry {
  readonly region: string;
  readonly #keys = new Map<string, LocalKey>();
  readonly #aliases = new Map<string, LocalAlias>();
  readonly #now: () => Date;

  constructor(region: string, now: () => Date = () => new Date()) {
    this.region = region;
    this.#now = now;
  }

  /** A fresh key id, as KMS makes them. */
  static newKeyId(): string {
    return randomUUID();
  }

  keyArn(accountId: string, keyId: string): string {
    return `arn:aws:kms:${this.region}:${accountId}:key/${keyId}`;
  }

  aliasArn(accountId: string, aliasName: string): string {
    return `arn:aws:kms:${this.region}:${accountId}:${aliasName}`;
  }

  add(key: Omit<LocalKey, 'arn'>): LocalKey {
    const record: LocalKey = { ...key, arn: this.keyArn(key.accountId, key.keyId) };
    this.#keys.set(key.keyId, record);
    return record;
  }

  /**
   * The key a `KeyId` names, for a caller in `callerAccount`: a key id or alias name in the caller's
   * account, or a key ARN or alias ARN in any account. With `'id-or-arn'` aliases are refused, as KMS
   * refuses them for key management operations.
   *
   * @throws `NotFoundException` for unknown keys and aliases and malformed references
   */
  resolve(reference: unknown, callerAccount: string, rules: ReferenceRules = 'any-form'): LocalKey {
    if (typeof reference !== 'string' || reference.length === 0 || reference.length > 2048) {
      throw new KmsException('ValidationException', 'KeyId must be a string of 1 to 2048 characters');
    }
    let accountId = callerAccount;
    let keyId: string | undefined;
    let aliasName: string | undefined;
    const keyArn = KEY_ARN.exec(reference);
    const aliasArn = ALIAS_ARN.exec(reference);
    if (keyArn) {
      if (keyArn[1] !== this.region) throw keyNotFound(`Invalid arn ${reference}`);
      accountId = keyArn[2]!;
      keyId = keyArn[3]!;
    } else if (aliasArn) {
      if (aliasArn[1] !== this.region) throw keyNotFound(`Invalid arn ${reference}`);
      accountId = aliasArn[2]!;
      aliasName = aliasArn[3]!;
    } else if (reference.startsWith('alias/')) {
      aliasName = reference;
    } else if (UUID.test(reference)) {
      keyId = reference;
    } else {
      throw keyNotFound(`Invalid keyId '${reference}'`);
    }
    if (aliasName !== undefined) {
      if (rules === 'id-or-arn') throw keyNotFound(`Invalid keyId '${reference}': use the key id or key ARN`);
      const alias = this.#aliases.get(aliasKey(accountId, aliasName));
      if (!alias) throw keyNotFound(`Alias ${this.aliasArn(accountId, aliasName)} is not found.`);
      keyId = alias.keyId;
    }
    const key = this.#live(keyId!);
    if (!key || key.accountId !== accountId) {
      throw keyNotFound(`Key '${this.keyArn(accountId, keyId!)}' does not exist`);
    }
    return key;
  }

  /** The key with this id in any account, if it exists (used for ciphertext blobs). */
  byKeyId(keyId: string): LocalKey | undefined {
    return this.#live(keyId);
  }

  /** The caller's keys, in creation order. */
  keysOf(accountId: string): LocalKey[] {
    return [...this.#keys.values()].filter((key) => this.#live(key.keyId) && key.accountId === accountId);
  }

  alias(accountId: string, aliasName: string): LocalAlias | undefined {
    const alias = this.#aliases.get(aliasKey(accountId, aliasName));
    return alias && this.#live(alias.keyId) ? alias : undefined;
  }

  aliasesOf(accountId: string, keyId?: string): LocalAlias[] {
    return [...this.#aliases.values()].filter(
      (alias) =>
        alias.accountId === accountId &&
        (keyId === undefined || alias.keyId === keyId) &&
        this.#live(alias.keyId),
    );
  }

  /** Every live alias, in every account. */
  allAliases(): LocalAlias[] {
    return [...this.#aliases.values()].filter((alias) => this.#live(alias.keyId));
  }

  aliasNamesOf(key: LocalKey): string[] {
    return this.aliasesOf(key.accountId, key.keyId).map((alias) => alias.aliasName);
  }

  putAlias(accountId: string, aliasName: string, keyId: string): LocalAlias {
    const now = this.#now();
    const existing = this.#aliases.get(aliasKey(accountId, aliasName));
    if (existing) {
      existing.keyId = keyId;
      existing.updatedAt = now;
      return existing;
    }
    const alias: LocalAlias = { aliasName, accountId, keyId, createdAt: now, updatedAt: now };
    this.#aliases.set(aliasKey(accountId, aliasName), alias);
    return alias;
  }

  deleteAlias(accountId: string, aliasName: string): boolean {
    return this.#aliases.delete(aliasKey(accountId, aliasName));
  }

  /** The key, unless its deletion date has passed (then it is forgotten, with its aliases). */
  #live(keyId: string): LocalKey | undefined {
    const key = this.#keys.get(keyId);
    if (
      key?.state === 'PendingDeletion' &&
      key.deletionDate !== undefined &&
      key.deletionDate <= this.#now()
    ) {
      this.#keys.delete(keyId);
      for (const [name, alias] of this.#aliases) if (alias.keyId === keyId) this.#aliases.delete(name);
      return undefined;
    }
    return key;
  }
}

function aliasKey(accountId: string, aliasName: string): string {
  return `${accountId}\u0000${aliasName}`;
}
