import type { KeyDescription, Keyswitch } from '@keyswitch/core';
import type { Command } from 'commander';
import { EXIT } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { type ConfiguredKeyState, configuredKeyState } from '../lib/key-state.js';
import { JSON_OPTION } from '../lib/output.js';
import { textTable } from '../lib/text-table.js';

interface KeysListOptions {
  readonly provider?: string;
  readonly json?: boolean;
}

/** `keyswitch keys list`: the configured logical keys and their backend state, or a backend's own keys. */
export function registerKeysList(keys: Command, context: CommandContext): void {
  keys
    .command('list')
    .description(
      "list the configured keys with their backend state, or with --provider the backend's own keys",
    )
    .option('--provider <name>', "list this provider's keys as the backend sees them")
    .option(...JSON_OPTION)
    .action(async (options: KeysListOptions) => {
      context.exitCode = await withKeyswitch(context, (keyswitch) =>
        options.provider === undefined
          ? listConfiguredKeys(keyswitch, context, options)
          : listBackendKeys(keyswitch, context, options.provider, options),
      );
    });
}

async function listConfiguredKeys(keyswitch: Keyswitch, context: CommandContext, options: KeysListOptions) {
  // Open each provider first: a configuration error there (an unset passphrase variable) is the answer.
  const providers = new Set(keyswitch.keyNames().map((name) => keyswitch.keyConfig(name).provider));
  await Promise.all([...providers].map((name) => keyswitch.provider(name).catch(rethrowConfigError)));
  const states = await Promise.all(keyswitch.keyNames().map((name) => configuredKeyState(keyswitch, name)));
  const { stdout } = context.io;
  if (options.json) {
    writeLine(
      stdout,
      JSON.stringify(
        states.map(({ description: _, error: __, ...state }) => state),
        null,
        2,
      ),
    );
  } else if (states.length === 0) {
    writeLine(stdout, 'no keys are configured');
  } else {
    writeLine(
      stdout,
      textTable(
        ['name', 'provider', 'ref', 'spec', 'usage', 'algorithm', 'state'],
        states.map((key) => [
          key.name,
          key.provider,
          key.ref,
          key.spec,
          key.usage,
          key.algorithm,
          stateText(key),
        ]),
      ),
    );
  }
  return states.some((key) => key.state === 'ERROR') ? EXIT.failure : EXIT.ok;
}

function rethrowConfigError(error: unknown): void {
  if ((error as { code?: string }).code === 'CONFIG_INVALID') throw error;
}

function stateText(key: ConfiguredKeyState): string {
  if (key.state === 'ERROR') return `ERROR ${key.errorCode}: ${key.problem}`;
  if (key.state === 'NOT_FOUND') return 'NOT_FOUND';
  return key.problem ? `${key.state} (MISMATCH: ${key.problem})` : key.state;
}

async function listBackendKeys(
  keyswitch: Keyswitch,
  context: CommandContext,
  providerName: string,
  options: KeysListOptions,
) {
  const provider = await keyswitch.provider(providerName);
  const keys: KeyDescription[] = [];
  let nextToken: string | undefined;
  do {
    const page = await provider.listKeys(
      nextToken === undefined ? { limit: 100 } : { limit: 100, nextToken },
    );
    keys.push(...page.keys);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  // Which logical names point at each backend key.
  const names = (key: KeyDescription) =>
    keyswitch.keyNames().filter((name) => {
      const config = keyswitch.keyConfig(name);
      if (config.provider !== providerName) return false;
      // By reference, key id or alias; an alias ARN names the alias at its end (`…:alias/acs-signing`).
      return (
        [key.ref, key.keyId, ...key.aliases].includes(config.ref) ||
        key.aliases.some((alias) => config.ref.endsWith(`:${alias}`))
      );
    });
  const { stdout } = context.io;
  if (options.json) {
    writeLine(
      stdout,
      JSON.stringify(
        keys.map((key) => ({ ...key, configuredAs: names(key) })),
        null,
        2,
      ),
    );
  } else if (keys.length === 0) {
    writeLine(stdout, `provider ${providerName} has no keys`);
  } else {
    writeLine(
      stdout,
      textTable(
        ['ref', 'key id', 'spec', 'usage', 'state', 'aliases', 'configured as'],
        keys.map((key) => [
          key.ref,
          key.keyId,
          key.spec,
          key.usage,
          key.state,
          key.aliases.join(',') || '-',
          names(key).join(',') || '-',
        ]),
      ),
    );
  }
  return EXIT.ok;
}
