import type { Keyswitch } from '@keyswitch/core';
import { type InventoryEntry, inventory, Keyring } from '@keyswitch/envelope';
import type { Command } from 'commander';
import { EXIT } from '../lib/cli-error.js';
import type { CommandContext } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { JSON_OPTION } from '../lib/output.js';
import { openReadOnly } from '../lib/read-only-keyswitch.js';
import { textTable } from '../lib/text-table.js';

interface KeysInventoryOptions {
  readonly json?: boolean;
}

/**
 * `keyswitch keys inventory`: every configured key and key version with spec, usage, backend, state,
 * creation and expiry dates (PCI DSS 3.6.1.1). Never key material.
 */
export function registerKeysInventory(keys: Command, context: CommandContext): void {
  keys
    .command('inventory')
    .description(
      'every configured key and version with spec, usage, backend, state, creation and expiry dates (PCI DSS 3.6.1.1); never material',
    )
    .option(...JSON_OPTION)
    .action(async (options: KeysInventoryOptions) => {
      // Read-only: no keystore or audit-file lock, so the inventory works while the application runs.
      const keyswitch = await openReadOnly(context);
      try {
        context.exitCode = await printInventory(keyswitch, context, options);
      } finally {
        await keyswitch.close().catch(() => undefined);
      }
    });
}

async function printInventory(
  keyswitch: Keyswitch,
  context: CommandContext,
  options: KeysInventoryOptions,
): Promise<number> {
  // Open each provider first: a configuration error there (an unset PIN variable) is the answer, exit 2.
  await Promise.all(
    keyswitch.providerNames().map((name) =>
      keyswitch.provider(name).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'CONFIG_INVALID') throw error;
      }),
    ),
  );
  const keyring = Keyring.create(keyswitch, { cache: false });
  let rows: InventoryEntry[];
  try {
    rows = await inventory(keyring);
  } finally {
    await keyring.close();
  }
  const { stdout } = context.io;
  if (options.json) {
    writeLine(stdout, JSON.stringify(rows.map(jsonRow), null, 2));
  } else if (rows.length === 0) {
    writeLine(stdout, 'no keys are configured');
  } else {
    writeLine(
      stdout,
      textTable(
        ['key', 'version', 'status', 'provider', 'ref', 'spec', 'usage', 'state', 'created', 'expires'],
        rows.map((row) => [
          row.keyName,
          row.version,
          row.status,
          row.providerType ? `${row.provider} (${row.providerType})` : row.provider,
          row.ref,
          row.spec ?? '-',
          row.usage ?? '-',
          row.error && row.state === 'UNKNOWN' ? `UNKNOWN ${row.error.code}` : row.state,
          day(row.createdAt),
          row.expiresAt ? `${day(row.expiresAt)}${row.expired ? ' EXPIRED' : ''}` : '-',
        ]),
      ),
    );
  }
  // A backend that could not be asked is a failure; a key not created yet is information.
  return rows.some((row) => row.state === 'UNKNOWN' && row.error !== undefined) ? EXIT.failure : EXIT.ok;
}

/** An entry as JSON: dates as ISO strings, absent fields left out. */
function jsonRow(row: InventoryEntry) {
  return {
    keyName: row.keyName,
    version: row.version,
    status: row.status,
    provider: row.provider,
    providerType: row.providerType,
    ref: row.ref,
    configKey: row.configKey,
    spec: row.spec,
    usage: row.usage,
    algorithm: row.algorithm,
    state: row.state,
    backendKeyId: row.backendKeyId,
    backendVersion: row.backendVersion,
    createdAt: row.createdAt?.toISOString(),
    cryptoperiodDays: row.cryptoperiodDays,
    expiresAt: row.expiresAt?.toISOString(),
    expired: row.expired,
    deletionDate: row.deletionDate?.toISOString(),
    description: row.description,
    error: row.error,
  };
}

function day(date: Date | undefined): string {
  return date ? date.toISOString().slice(0, 10) : '-';
}
