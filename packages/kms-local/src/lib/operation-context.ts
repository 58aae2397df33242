import { type Algorithm, algorithmsFor, type KeyProvider, type KeyUsage, keySpecInfo } from '@keyswitch/core';
import type { KeyRegistry, LocalKey } from './key-registry.js';
import { fromProviderError, KmsException } from './kms-exception.js';
import type { RequestFields } from './request-fields.js';

/** What every operation handler works with. */
export interface OperationContext {
  readonly registry: KeyRegistry;
  readonly provider: KeyProvider;
  /** The caller's account, from the credentials that signed the request. */
  readonly callerAccount: string;
  readonly now: () => Date;
}

/** One KMS operation: request fields in, the response's JSON object out. */
export type OperationHandler = (
  fields: RequestFields,
  context: OperationContext,
) => Promise<Record<string, unknown>>;

/** The operations KMS lets a caller perform on another account's key (when the key policy allows). */
const CROSS_ACCOUNT = new Set([
  'Decrypt',
  'DeriveSharedSecret',
  'DescribeKey',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GetKeyRotationStatus',
  'GetPublicKey',
  'ReEncrypt',
  'Sign',
  'Verify',
  'VerifyMac',
]);

/**
 * The key a request's `field` names. The cryptographic operations, DescribeKey and GetPublicKey take a
 * key id, key ARN, alias name or alias ARN, including another account's ARNs; key-management operations
 * take only a key id or key ARN of the caller's own account (another account's key: AccessDenied).
 */
export function keyFor(
  operation: string,
  fields: RequestFields,
  context: OperationContext,
  field = 'KeyId',
): LocalKey {
  const reference = fields.string(field, { required: true, max: 2048 });
  const crossAccount = CROSS_ACCOUNT.has(operation);
  const aliases = crossAccount && operation !== 'GetKeyRotationStatus';
  const key = context.registry.resolve(reference, context.callerAccount, aliases ? 'any-form' : 'id-or-arn');
  if (key.accountId !== context.callerAccount && !crossAccount) {
    throw new KmsException(
      'AccessDeniedException',
      `User: arn:aws:iam::${context.callerAccount}:root is not authorized to perform: kms:${operation} on resource: ${key.arn} because no resource-based policy allows the kms:${operation} action`,
    );
  }
  return key;
}

/** Refuses a disabled key (`DisabledException`) or one pending deletion (`KMSInvalidStateException`). */
export function requireEnabled(key: LocalKey): void {
  if (key.state === 'Disabled') throw new KmsException('DisabledException', `${key.arn} is disabled.`);
  requireNotPendingDeletion(key);
  requireMaterial(key);
}

/** Refuses a key whose imported material is missing or expired with `KMSInvalidStateException`. */
export function requireMaterial(key: LocalKey): void {
  if (key.materialValidTo !== undefined && key.materialValidTo <= new Date()) {
    key.state = 'PendingImport';
    key.providerRef = '';
    key.materialValidTo = undefined;
  }
  if (key.state === 'PendingImport') {
    throw new KmsException('KMSInvalidStateException', `${key.arn} is pending import.`);
  }
}

/** Refuses a key pending deletion with `KMSInvalidStateException`. */
export function requireNotPendingDeletion(key: LocalKey): void {
  if (key.state === 'PendingDeletion') {
    throw new KmsException('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  }
}

/** Refuses a key of another usage, or an algorithm the key's spec and usage do not allow (`InvalidKeyUsageException`). */
export function requireUsage(key: LocalKey, usage: KeyUsage, operation: string, algorithm?: string): void {
  if (key.usage !== usage) {
    throw new KmsException(
      'InvalidKeyUsageException',
      `${key.arn} key usage is ${key.usage} which is not valid for ${operation}.`,
    );
  }
  if (
    algorithm !== undefined &&
    !(algorithmsFor(key.spec, key.usage) as readonly string[]).includes(algorithm)
  ) {
    throw new KmsException(
      'InvalidKeyUsageException',
      `Algorithm ${algorithm} is incompatible with key spec ${key.spec}.`,
    );
  }
}

/** Runs a call to the backing provider, turning its errors into KMS exceptions. */
export async function provider<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromProviderError(error);
  }
}

/** Answers a request with `DryRun: true` that would have succeeded. */
export function dryRunCheck(fields: RequestFields): void {
  if (fields.boolean('DryRun') === true) {
    throw new KmsException(
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
      412,
    );
  }
}

/** A blob for the JSON response. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A timestamp for the JSON response: epoch seconds. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** The algorithm lists KMS puts in KeyMetadata and GetPublicKey responses. */
export function algorithmFields(key: LocalKey): Record<string, readonly Algorithm[]> {
  const algorithms = algorithmsFor(key.spec, key.usage);
  switch (key.usage) {
    case 'ENCRYPT_DECRYPT':
      return { EncryptionAlgorithms: algorithms };
    case 'SIGN_VERIFY':
      return { SigningAlgorithms: algorithms };
    case 'GENERATE_VERIFY_MAC':
      return { MacAlgorithms: algorithms };
    case 'KEY_AGREEMENT':
      return { KeyAgreementAlgorithms: algorithms };
  }
}

/** KMS's KeyMetadata for a key. */
export function keyMetadata(key: LocalKey): Record<string, unknown> {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: epochSeconds(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.usage,
    KeyState: key.state,
    ...(key.deletionDate === undefined ? {} : { DeletionDate: epochSeconds(key.deletionDate) }),
    ...(key.pendingWindowDays === undefined ? {} : { PendingDeletionWindowInDays: key.pendingWindowDays }),
    Origin: key.origin,
    ...(key.origin === 'EXTERNAL'
      ? {
          ExpirationModel:
            key.materialValidTo === undefined ? 'KEY_MATERIAL_DOES_NOT_EXPIRE' : 'KEY_MATERIAL_EXPIRES',
          ...(key.materialValidTo === undefined ? {} : { ValidTo: epochSeconds(key.materialValidTo) }),
        }
      : {}),
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.spec,
    KeySpec: key.spec,
    ...algorithmFields(key),
    MultiRegion: false,
  };
}

/** Whether a key is asymmetric (has a public key). */
export function isAsymmetric(key: LocalKey): boolean {
  const family = keySpecInfo(key.spec).family;
  return family === 'RSA' || family === 'EC';
}

/** Pages a list with KMS's `Limit` and opaque `Marker`. */
export function page<T>(
  items: readonly T[],
  fields: RequestFields,
  limits: { max: number; default: number },
): { items: T[]; truncated: boolean; nextMarker?: string } {
  const limit = fields.integer('Limit', { min: 1, max: limits.max }) ?? limits.default;
  const marker = fields.string('Marker', { max: 1024 });
  let start = 0;
  if (marker !== undefined) {
    const decoded = /^kms-local:(\d+)$/.exec(Buffer.from(marker, 'base64').toString('utf8'));
    if (!decoded) throw new KmsException('InvalidMarkerException', 'The marker is not valid.');
    start = Number(decoded[1]);
  }
  const end = start + limit;
  const slice = items.slice(start, end);
  return end < items.length
    ? { items: slice, truncated: true, nextMarker: Buffer.from(`kms-local:${end}`).toString('base64') }
    : { items: slice, truncated: false };
}
