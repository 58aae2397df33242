import { isKeySpec, KEY_SPECS, type KeySpec, type KeyUsage, keySpecInfo } from '@keyswitch/core';
import { KeyRegistry, type LocalKey } from '../key-registry.js';
import { KmsException, validation } from '../kms-exception.js';
import {
  epochSeconds,
  keyFor,
  keyMetadata,
  type OperationContext,
  type OperationHandler,
  page,
  provider,
  requireEnabled,
  requireMaterial,
  requireNotPendingDeletion,
} from '../operation-context.js';
import type { RequestFields } from '../request-fields.js';

const DAY_MS = 86_400_000;
const MAX_TAGS = 50;

/** Key specs KMS has that keyswitch does not: refused as unsupported rather than as invalid. */
const OTHER_KMS_KEY_SPECS = ['ECC_SECG_P256K1', 'HMAC_224', 'SM2', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87'];
const KEY_USAGES_KMS = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;

/** The label kms-local gives a key in the backing provider, so that a persistent provider keeps the key id. */
export function providerLabel(keyId: string): string {
  return `kms/${keyId}`;
}

const createKey: OperationHandler = async (fields, context) => {
  if (fields.has('KeySpec') && fields.has('CustomerMasterKeySpec')) {
    throw validation(
      'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.',
    );
  }
  const specName =
    fields.enumeration('KeySpec', [...KEY_SPECS, ...OTHER_KMS_KEY_SPECS]) ??
    fields.enumeration('CustomerMasterKeySpec', [...KEY_SPECS, ...OTHER_KMS_KEY_SPECS]) ??
    'SYMMETRIC_DEFAULT';
  const usage: KeyUsage = fields.enumeration('KeyUsage', KEY_USAGES_KMS) ?? 'ENCRYPT_DECRYPT';
  const description = fields.string('Description', { max: 8192 }) ?? '';
  const origin =
    fields.enumeration('Origin', ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']) ?? 'AWS_KMS';
  fields.string('Policy', { max: 32768 });
  const tags = fields.tags('Tags');
  if (tags.length > MAX_TAGS)
    throw new KmsException('TagException', `A key can have at most ${MAX_TAGS} tags.`);
  if (!isKeySpec(specName))
    throw new KmsException('UnsupportedOperationException', `kms-local does not support ${specName} keys.`);
  if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') {
    throw new KmsException('UnsupportedOperationException', `kms-local does not support Origin ${origin}.`);
  }
  if (fields.boolean('MultiRegion') === true) {
    throw new KmsException('UnsupportedOperationException', 'kms-local does not support multi-Region keys.');
  }
  if (fields.has('CustomKeyStoreId') || fields.has('XksKeyId')) {
    throw new KmsException('UnsupportedOperationException', 'kms-local does not support custom key stores.');
  }
  const spec: KeySpec = specName;
  if (!keySpecInfo(spec).usages.includes(usage)) {
    throw validation(`KeyUsage ${usage} is not compatible with KeySpec ${spec}.`);
  }
  const keyId = KeyRegistry.newKeyId();
  // An EXTERNAL key waits for ImportKeyMaterial; the provider makes the others now.
  const created =
    origin === 'EXTERNAL'
      ? undefined
      : await provider(() =>
          context.provider.createKey({
            spec,
            usage,
            label: providerLabel(keyId),
            ...(description ? { description } : {}),
          }),
        );
  const key = context.registry.add({
    keyId,
    accountId: context.callerAccount,
    providerRef: created?.ref ?? '',
    origin,
    spec,
    usage,
    createdAt: context.now(),
    description,
    state: created ? 'Enabled' : 'PendingImport',
    tags: new Map(tags.map((tag) => [tag.key, tag.value])),
    rotation: { enabled: false, periodDays: 365 },
  });
  return { KeyMetadata: keyMetadata(key) };
};

const describeKey: OperationHandler = async (fields, context) => ({
  KeyMetadata: keyMetadata(keyFor('DescribeKey', fields, context)),
});

const listKeys: OperationHandler = async (fields, context) => {
  const { items, truncated, nextMarker } = page(context.registry.keysOf(context.callerAccount), fields, {
    max: 1000,
    default: 100,
  });
  return {
    Keys: items.map((key) => ({ KeyId: key.keyId, KeyArn: key.arn })),
    Truncated: truncated,
    ...(nextMarker === undefined ? {} : { NextMarker: nextMarker }),
  };
};

const enableKey: OperationHandler = async (fields, context) => {
  const key = keyFor('EnableKey', fields, context);
  requireNotPendingDeletion(key);
  requireMaterial(key);
  key.state = 'Enabled';
  return {};
};

const disableKey: OperationHandler = async (fields, context) => {
  const key = keyFor('DisableKey', fields, context);
  requireNotPendingDeletion(key);
  requireMaterial(key);
  key.state = 'Disabled';
  return {};
};

const scheduleKeyDeletion: OperationHandler = async (fields, context) => {
  const key = keyFor('ScheduleKeyDeletion', fields, context);
  const days = fields.integer('PendingWindowInDays', { min: 7, max: 30 }) ?? 30;
  requireNotPendingDeletion(key);
  key.state = 'PendingDeletion';
  key.pendingWindowDays = days;
  key.deletionDate = new Date(context.now().getTime() + days * DAY_MS);
  return {
    KeyId: key.arn,
    DeletionDate: epochSeconds(key.deletionDate),
    KeyState: key.state,
    PendingWindowInDays: days,
  };
};

const cancelKeyDeletion: OperationHandler = async (fields, context) => {
  const key = keyFor('CancelKeyDeletion', fields, context);
  if (key.state !== 'PendingDeletion') {
    throw new KmsException('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
  }
  key.state = key.providerRef === '' ? 'PendingImport' : 'Disabled';
  key.deletionDate = undefined;
  key.pendingWindowDays = undefined;
  return { KeyId: key.arn };
};

const updateKeyDescription: OperationHandler = async (fields, context) => {
  const key = keyFor('UpdateKeyDescription', fields, context);
  const description = fields.string('Description', { required: true, min: 0, max: 8192 });
  requireNotPendingDeletion(key);
  key.description = description;
  return {};
};

function rotatableKey(operation: string, fields: RequestFields, context: OperationContext): LocalKey {
  const key = keyFor(operation, fields, context);
  if (key.spec !== 'SYMMETRIC_DEFAULT' || key.origin !== 'AWS_KMS') {
    throw new KmsException(
      'UnsupportedOperationException',
      `${key.arn} is a ${key.spec} key; automatic rotation is supported only for symmetric encryption keys with KMS-made material.`,
    );
  }
  return key;
}

const enableKeyRotation: OperationHandler = async (fields, context) => {
  const key = rotatableKey('EnableKeyRotation', fields, context);
  const periodDays =
    fields.integer('RotationPeriodInDays', { min: 90, max: 2560 }) ?? key.rotation.periodDays;
  requireEnabled(key);
  key.rotation = {
    enabled: true,
    periodDays,
    nextRotation: new Date(context.now().getTime() + periodDays * DAY_MS),
  };
  return {};
};

const disableKeyRotation: OperationHandler = async (fields, context) => {
  const key = rotatableKey('DisableKeyRotation', fields, context);
  requireEnabled(key);
  key.rotation = { enabled: false, periodDays: key.rotation.periodDays };
  return {};
};

const getKeyRotationStatus: OperationHandler = async (fields, context) => {
  const key = rotatableKey('GetKeyRotationStatus', fields, context);
  requireNotPendingDeletion(key);
  return {
    KeyRotationEnabled: key.rotation.enabled,
    KeyId: key.arn,
    ...(key.rotation.enabled
      ? {
          RotationPeriodInDays: key.rotation.periodDays,
          ...(key.rotation.nextRotation ? { NextRotationDate: epochSeconds(key.rotation.nextRotation) } : {}),
        }
      : {}),
  };
};

const tagResource: OperationHandler = async (fields, context) => {
  const key = keyFor('TagResource', fields, context);
  const tags = fields.tags('Tags');
  requireNotPendingDeletion(key);
  const merged = new Map(key.tags);
  for (const tag of tags) merged.set(tag.key, tag.value);
  if (merged.size > MAX_TAGS)
    throw new KmsException('TagException', `A key can have at most ${MAX_TAGS} tags.`);
  for (const tag of tags) key.tags.set(tag.key, tag.value);
  return {};
};

const untagResource: OperationHandler = async (fields, context) => {
  const key = keyFor('UntagResource', fields, context);
  const names = fields.strings('TagKeys');
  requireNotPendingDeletion(key);
  for (const name of names) key.tags.delete(name);
  return {};
};

const listResourceTags: OperationHandler = async (fields, context) => {
  const key = keyFor('ListResourceTags', fields, context);
  const { items, truncated, nextMarker } = page([...key.tags], fields, { max: 50, default: 50 });
  return {
    Tags: items.map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
    Truncated: truncated,
    ...(nextMarker === undefined ? {} : { NextMarker: nextMarker }),
  };
};

/** CreateKey, DescribeKey, ListKeys, key state, rotation, description and tag operations. */
export const keyManagementOperations: Readonly<Record<string, OperationHandler>> = {
  CreateKey: createKey,
  DescribeKey: describeKey,
  ListKeys: listKeys,
  EnableKey: enableKey,
  DisableKey: disableKey,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  CancelKeyDeletion: cancelKeyDeletion,
  UpdateKeyDescription: updateKeyDescription,
  EnableKeyRotation: enableKeyRotation,
  DisableKeyRotation: disableKeyRotation,
  GetKeyRotationStatus: getKeyRotationStatus,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListResourceTags: listResourceTags,
};
