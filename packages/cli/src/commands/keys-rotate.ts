import {
  activeVersionId,
  isKeyswitchError,
  type Keyswitch,
  type KeyVersionConfig,
  specTemplateKey,
  type VersionedKeyConfig,
} from '@keyswitch/core';
import type { Command } from 'commander';
import { CliError, EXIT } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { labelFromRef } from '../lib/label-from-ref.js';
import { JSON_OPTION, writeJson } from '../lib/output.js';
import { refWithLabel } from '../lib/ref-with-label.js';

interface KeysRotateOptions {
  readonly id?: string;
  readonly label?: string;
  readonly json?: boolean;
}

/** The configuration change a rotation needs: what to add under `keys` and under `versions.NAME`. */
interface ConfigChange {
  readonly keys: Record<string, Record<string, unknown>>;
  readonly versions: Record<string, { active: string; versions: unknown[] }>;
}

/**
 * `keyswitch keys rotate NAME` creates the next version of a logical key on the backend of its active
 * version (same provider, spec, usage and algorithm) and prints the configuration change that adds it. The
 * change keeps the current version active, so that the new public key can be published first; making the
 * new version active is the second, separate step. A plain key of `keys` becomes a key with versions: it is
 * version "1", the new key version "2". Nothing is written to the configuration file.
 */
export function registerKeysRotate(keys: Command, context: CommandContext): void {
  keys
    .command('rotate')
    .description('create the next version of a key on its backend and print the configuration change')
    .argument('<name>', 'logical key name (under versions, or a plain key under keys)')
    .option('--id <id>', 'the new version id (default: the last id plus one)')
    .option('--label <label>', 'label or alias of the new backend key (default: derived from the active one)')
    .option(...JSON_OPTION)
    .action(async (name: string, options: KeysRotateOptions) => {
      context.exitCode = await withKeyswitch(context, (keyswitch) =>
        rotate(keyswitch, name, options, context),
      );
    });
}

async function rotate(
  keyswitch: Keyswitch,
  name: string,
  options: KeysRotateOptions,
  context: CommandContext,
): Promise<number> {
  const declared = keyswitch.keyVersions();
  const versioned = Object.hasOwn(declared, name) ? declared[name] : undefined;
  if (versioned === undefined && !keyswitch.keyNames().includes(name)) {
    throw new CliError(
      'CONFIG_INVALID',
      `no key named "${name}" under versions or keys; configured: ${[...Object.keys(declared), ...keyswitch.keyNames()].join(', ') || '(none)'}`,
    );
  }
  const entry: VersionedKeyConfig = versioned ?? { versions: [{ id: '1', key: name }] };
  const versions = entry.versions;
  const activeId = activeVersionId(entry);
  const active = versions.find((version) => version.id === activeId)!;
  const template = templateKey(keyswitch, name, entry);
  const id = options.id ?? nextId(versions.map((version) => version.id));
  if (versions.some((version) => version.id === id)) {
    throw new CliError(
      'CONFIG_INVALID',
      `"${name}" already has a version "${id}"; version ids are never reused`,
    );
  }
  const activeRef = active.key === undefined ? active.ref! : keyswitch.keyConfig(active.key).ref;
  const providerName = active.key === undefined ? active.provider! : template.provider;
  const label = options.label ?? nextLabel(labelFromRef(activeRef), activeId, id, name);
  const ref = refWithLabel(activeRef, label);
  const provider = await keyswitch.provider(providerName);
  try {
    await provider.describeKey(ref, { keyName: name });
    throw new CliError(
      'KEY_EXISTS',
      `a key ${ref} already exists in provider ${providerName}; choose another --label`,
      EXIT.failure,
    );
  } catch (error) {
    if (!isKeyswitchError(error, 'KEY_NOT_FOUND')) throw error;
  }
  const created = await provider.createKey(
    {
      spec: template.spec,
      usage: template.usage,
      label,
      description: `keyswitch logical key ${name}, version ${id}`,
    },
    { keyName: name },
  );
  const createdAt = new Date().toISOString().slice(0, 10);
  const change = configChange(name, versioned === undefined, versions, activeId, {
    id,
    keyName: active.key === undefined ? undefined : `${name}-${id}`,
    providerName,
    ref,
    createdAt,
    template,
  });
  if (options.json === true) {
    writeJson(context.io.stdout, {
      key: name,
      version: { id, provider: providerName, ref, keyId: created.keyId, createdAt },
      active: activeId,
      configChange: change,
    });
    return EXIT.ok;
  }
  writeLine(
    context.io.stdout,
    `${name}: created version ${id}, ${created.spec} ${created.usage}, in provider ${providerName}: ref ${ref}\n` +
      `Add this to the configuration (version ${activeId} stays active: publish the new public key first,\n` +
      `then set versions.${name}.active to "${id}"):\n${JSON.stringify(change, null, 2)}`,
  );
  return EXIT.ok;
}

/** The `keys` entry whose spec, usage and algorithm the new version takes. */
function templateKey(keyswitch: Keyswitch, name: string, entry: VersionedKeyConfig) {
  const keyName = specTemplateKey(entry);
  if (keyName === undefined) {
    throw new CliError(
      'CONFIG_INVALID',
      `versions.${name}: no version names a key in "keys", so the spec of a new version is unknown; add one with "key"`,
    );
  }
  return keyswitch.keyConfig(keyName);
}

/** The last numeric id plus one ("2025" → "2026", "v2" → "v3"), else the last id with "-2". */
function nextId(ids: readonly string[]): string {
  const numbered = ids
    .map((id) => /^(.*?)(\d+)$/.exec(id))
    .filter((match): match is RegExpExecArray => match !== null);
  const last = numbered.at(-1);
  if (last === undefined) return `${ids.at(-1)}-2`;
  const prefix = last[1]!;
  const highest = Math.max(
    ...numbered.filter((match) => match[1] === prefix).map((match) => Number.parseInt(match[2]!, 10)),
  );
  return `${prefix}${String(highest + 1).padStart(last[2]!.length, '0')}`;
}

/** The active label with its version id replaced by the new one, else `NAME-ID`. */
function nextLabel(activeLabel: string | undefined, activeId: string, id: string, name: string): string {
  if (activeLabel?.endsWith(activeId)) {
    return `${activeLabel.slice(0, activeLabel.length - activeId.length)}${id}`;
  }
  return `${activeLabel ?? name}-${id}`;
}

function configChange(
  name: string,
  wasPlain: boolean,
  versions: readonly KeyVersionConfig[],
  activeId: string,
  added: {
    id: string;
    keyName: string | undefined;
    providerName: string;
    ref: string;
    createdAt: string;
    template: ReturnType<Keyswitch['keyConfig']>;
  },
): ConfigChange {
  const keys: ConfigChange['keys'] = {};
  let entry: Record<string, unknown>;
  if (added.keyName === undefined) {
    entry = { id: added.id, provider: added.providerName, ref: added.ref, createdAt: added.createdAt };
  } else {
    const { spec, usage, algorithm } = added.template;
    keys[added.keyName] = { provider: added.providerName, ref: added.ref, spec, usage, algorithm };
    entry = { id: added.id, key: added.keyName, createdAt: added.createdAt };
  }
  // A plain key keeps its entry under keys, and is version "1" of the new versions entry.
  const listed = wasPlain ? [{ id: '1', key: name }] : versions.map((version) => ({ ...version }));
  return { keys, versions: { [name]: { active: activeId, versions: [...listed, entry] } } };
}
