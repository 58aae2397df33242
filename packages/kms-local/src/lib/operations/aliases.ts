import { KmsException, validation } from '../kms-exception.js';
import {
  epochSeconds,
  keyFor,
  type OperationHandler,
  page,
  requireNotPendingDeletion,
} from '../operation-context.js';
import type { RequestFields } from '../request-fields.js';

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

function aliasName(fields: RequestFields): string {
  const name = fields.string('AliasName', { required: true, max: 256 });
  if (!ALIAS_NAME.test(name)) {
    throw validation(
      `1 validation error detected: Value '${name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$`,
    );
  }
  return name;
}

const createAlias: OperationHandler = async (fields, context) => {
  const name = aliasName(fields);
  if (name.startsWith('alias/aws/')) {
    throw new KmsException(
      'InvalidAliasNameException',
      'Alias must not begin with alias/aws/ (reserved for AWS managed keys).',
    );
  }
  const key = keyFor('CreateAlias', fields, context, 'TargetKeyId');
  requireNotPendingDeletion(key);
  if (context.registry.alias(context.callerAccount, name)) {
    throw new KmsException(
      'AlreadyExistsException',
      `An alias with the name ${context.registry.aliasArn(context.callerAccount, name)} already exists`,
    );
  }
  context.registry.putAlias(context.callerAccount, name, key.keyId);
  return {};
};

const updateAlias: OperationHandler = async (fields, context) => {
  const name = aliasName(fields);
  const existing = context.registry.alias(context.callerAccount, name);
  if (!existing) {
    throw new KmsException(
      'NotFoundException',
      `Alias ${context.registry.aliasArn(context.callerAccount, name)} is not found.`,
    );
  }
  const key = keyFor('UpdateAlias', fields, context, 'TargetKeyId');
  requireNotPendingDeletion(key);
  const current = context.registry.byKeyId(existing.keyId);
  if (
    current &&
    (current.usage !== key.usage ||
      (current.spec === 'SYMMETRIC_DEFAULT') !== (key.spec === 'SYMMETRIC_DEFAULT'))
  ) {
    throw validation(
      'The new target key must have the same key type and key usage as the current target key.',
    );
  }
  context.registry.putAlias(context.callerAccount, name, key.keyId);
  return {};
};

const deleteAlias: OperationHandler = async (fields, context) => {
  const name = aliasName(fields);
  if (!context.registry.deleteAlias(context.callerAccount, name)) {
    throw new KmsException(
      'NotFoundException',
      `Alias ${context.registry.aliasArn(context.callerAccount, name)} is not found.`,
    );
  }
  return {};
};

const listAliases: OperationHandler = async (fields, context) => {
  const keyId = fields.has('KeyId') ? keyFor('ListAliases', fields, context).keyId : undefined;
  const aliases = context.registry.aliasesOf(context.callerAccount, keyId);
  const { items, truncated, nextMarker } = page(aliases, fields, { max: 100, default: 50 });
  return {
    Aliases: items.map((alias) => ({
      AliasName: alias.aliasName,
      AliasArn: context.registry.aliasArn(alias.accountId, alias.aliasName),
      TargetKeyId: alias.keyId,
      CreationDate: epochSeconds(alias.createdAt),
      LastUpdatedDate: epochSeconds(alias.updatedAt),
    })),
    Truncated: truncated,
    ...(nextMarker === undefined ? {} : { NextMarker: nextMarker }),
  };
};

/** CreateAlias, UpdateAlias, DeleteAlias and ListAliases. */
export const aliasOperations: Readonly<Record<string, OperationHandler>> = {
  CreateAlias: createAlias,
  UpdateAlias: updateAlias,
  DeleteAlias: deleteAlias,
  ListAliases: listAliases,
};
