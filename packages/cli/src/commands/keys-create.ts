import {
  type CreateKeyRequest,
  isKeySpec,
  isKeyswitchError,
  isKeyUsage,
  KEY_SPECS,
  KEY_USAGES,
  type KeyDescription,
  type Keyswitch,
  keySpecInfo,
  withArticle,
} from '@keyswitch/core';
import type { Command } from 'commander';
import { CliError, EXIT, usageError } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { labelFromRef } from '../lib/label-from-ref.js';
import { JSON_OPTION } from '../lib/output.js';
import { createVersions } from './keys-create-versions.js';

interface KeysCreateOptions {
  readonly provider?: string;
  readonly spec?: string;
  readonly usage?: string;
  readonly label?: string;
  readonly description?: string;
  readonly json?: boolean;
}

/**
 * `keyswitch keys create NAME` creates a configured logical key in its provider (spec and usage from the
 * configuration, its ref as the label); `keyswitch keys create --provider P --spec S --usage U --label L`
 * creates any key.
 */
export function registerKeysCreate(keys: Command, context: CommandContext): void {
  keys
    .command('create')
    .description('create a configured key in its provider, or any key with --provider --spec --usage --label')
    .argument('[name]', 'logical key name from the configuration (under keys or versions)')
    .option('--provider <name>', 'provider to create the key in')
    .option('--spec <spec>', `key spec: ${KEY_SPECS.join(', ')}`)
    .option('--usage <usage>', `key usage: ${KEY_USAGES.join(', ')} (optional when the spec allows one)`)
    .option('--label <label>', 'label or alias (a KMS alias without alias/, a PKCS#11 CKA_LABEL)')
    .option('--description <text>', 'description stored with the key, where the backend keeps one')
    .option(...JSON_OPTION)
    .action(async (name: string | undefined, options: KeysCreateOptions) => {
      context.exitCode = await withKeyswitch(context, async (keyswitch) => {
        if (
          name !== undefined &&
          !keyswitch.keyNames().includes(name) &&
          Object.hasOwn(keyswitch.keyVersions(), name)
        )
          return createVersions(keyswitch, name, context, options.json === true);
        const { providerName, request, keyName } =
          name === undefined ? fromOptions(options) : await fromConfiguration(keyswitch, name, options);
        const provider = await keyswitch.provider(providerName);
        const created = await provider.createKey(request, keyName === undefined ? {} : { keyName });
        print(context, providerName, created, options.json === true);
        return EXIT.ok;
      });
    });
}

function fromOptions(options: KeysCreateOptions) {
  const missing = (['provider', 'spec', 'label'] as const).filter((field) => options[field] === undefined);
  if (missing.length) {
    throw usageError(
      `keys create needs a logical key name, or ${missing.map((field) => `--${field}`).join(', ')} (with --usage where the spec allows several)`,
    );
  }
  if (!isKeySpec(options.spec)) throw usageError(`--spec must be one of ${KEY_SPECS.join(', ')}`);
  const usages = keySpecInfo(options.spec).usages;
  const usage = options.usage ?? (usages.length === 1 ? usages[0] : undefined);
  if (usage === undefined)
    throw usageError(`${withArticle(options.spec)} key needs --usage: ${usages.join(' or ')}`);
  if (!isKeyUsage(usage) || !usages.includes(usage)) {
    throw usageError(`--usage for ${withArticle(options.spec)} key must be one of ${usages.join(', ')}`);
  }
  const request: CreateKeyRequest = {
    spec: options.spec,
    usage,
    label: options.label!,
    ...(options.description === undefined ? {} : { description: options.description }),
  };
  return { providerName: options.provider!, request, keyName: undefined };
}

async function fromConfiguration(keyswitch: Keyswitch, name: string, options: KeysCreateOptions) {
  const conflicting = (['provider', 'spec', 'usage', 'label'] as const).filter(
    (field) => options[field] !== undefined,
  );
  if (conflicting.length) {
    throw usageError(
      `keys create ${name} takes the provider, spec, usage and label from the configuration; drop ${conflicting.map((f) => `--${f}`).join(', ')}`,
    );
  }
  const config = keyswitch.keyConfig(name);
  const label = labelFromRef(config.ref);
  if (label === undefined) {
    throw new CliError(
      'CONFIG_INVALID',
      `key "${name}" has ref ${config.ref}, an id the backend assigns; use an alias or label ref (keys.${name}.ref) to create it by name`,
    );
  }
  const provider = await keyswitch.provider(config.provider);
  try {
    const existing = await provider.describeKey(config.ref, { keyName: name });
    throw new CliError(
      'KEY_EXISTS',
      `key "${name}" (${config.ref}) already exists in provider ${config.provider} as ${existing.spec} ${existing.usage}, ${existing.state}`,
      EXIT.failure,
    );
  } catch (error) {
    if (!isKeyswitchError(error, 'KEY_NOT_FOUND')) throw error;
  }
  const request: CreateKeyRequest = {
    spec: config.spec,
    usage: config.usage,
    label,
    description: options.description ?? `keyswitch logical key ${name}`,
  };
  return { providerName: config.provider, request, keyName: name };
}

function print(context: CommandContext, providerName: string, created: KeyDescription, json: boolean): void {
  if (json) {
    writeLine(context.io.stdout, JSON.stringify({ provider: providerName, ...created }, null, 2));
    return;
  }
  writeLine(
    context.io.stdout,
    `created ${created.spec} ${created.usage} key in provider ${providerName}: ref ${created.ref}, key id ${created.keyId}` +
      (created.aliases.length ? `, aliases ${created.aliases.join(', ')}` : ''),
  );
}
