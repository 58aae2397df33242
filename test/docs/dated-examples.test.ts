// Dated examples cannot expire: every example configuration with key versions (examples/, and the JSON
// blocks of README.md, docs/ and the package READMEs) is evaluated by the library itself — a Keyring whose
// clock is set three years ahead — and no active version may be past its cryptoperiod then. A version
// without `createdAt` starts its cryptoperiod when its backend key is created, that is when the reader
// runs the example: only a date written into the example can expire with the calendar.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Keyswitch } from '@keyswitch/core';
import { inventory, Keyring } from '@keyswitch/envelope';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../support/softhsm2-tokens.js';
import { documentationFiles, snippetsOf } from './markdown-snippets.js';

const THREE_YEARS_MS = 3 * 366 * 24 * 3600 * 1000;

interface Version {
  readonly id: string;
  readonly key?: string;
  readonly provider?: string;
  readonly ref?: string;
  readonly createdAt?: string;
}
interface ExampleConfig {
  providers?: Record<string, unknown>;
  keys?: Record<string, { provider?: string; ref?: string; spec?: string }>;
  versions?: Record<string, { versions?: Version[] }>;
  [field: string]: unknown;
}

/** Files under `dir` (relative to the root) whose name passes `keep`, node_modules left out. */
function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(repositoryRoot, dir), { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path, keep));
    else if (keep(entry.name)) found.push(path);
  }
  return found;
}

/** A JSON block as an object: whole documents, and fragments such as `"versions": {…}`. */
function parseBlock(code: string): ExampleConfig | undefined {
  for (const text of [code, `{${code}}`]) {
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as ExampleConfig;
    } catch {
      // not this form
    }
  }
  return undefined;
}

/** Every example configuration that has key versions, with where it is. */
function examplesWithVersions(): { where: string; config: ExampleConfig }[] {
  const examples: { where: string; config: ExampleConfig }[] = [];
  for (const file of filesUnder('examples', (name) => name.endsWith('.json') && name !== 'package.json')) {
    const config = JSON.parse(readFileSync(join(repositoryRoot, file), 'utf8')) as ExampleConfig;
    if (config.versions) examples.push({ where: file, config });
  }
  // README.md, docs/, and the package and example READMEs.
  for (const file of documentationFiles(repositoryRoot)) {
    const text = readFileSync(join(repositoryRoot, file), 'utf8');
    for (const snippet of snippetsOf(relative(repositoryRoot, join(repositoryRoot, file)), text)) {
      if (snippet.lang !== 'json' || !snippet.code.includes('"versions"')) continue;
      const config = parseBlock(snippet.code);
      if (config?.versions) examples.push({ where: `${file}:${snippet.line}`, config });
    }
  }
  return examples;
}

/**
 * The example with every provider an in-memory software HSM (the backends are not asked: only the dates
 * matter) and every key a version names declared, so that a fragment loads as a whole configuration.
 */
function standIn(config: ExampleConfig): ExampleConfig {
  const keys: NonNullable<ExampleConfig['keys']> = { ...config.keys };
  const providerNames = new Set(Object.keys(config.providers ?? {}));
  for (const key of Object.values(config.keys ?? {})) if (key.provider) providerNames.add(key.provider);
  for (const entry of Object.values(config.versions ?? {})) {
    for (const version of entry.versions ?? []) {
      if (version.provider) providerNames.add(version.provider);
      if (version.key && !(version.key in keys))
        keys[version.key] = { provider: 'stand-in', ref: version.key, spec: 'SYMMETRIC_DEFAULT' };
    }
  }
  providerNames.add('stand-in');
  const providers = Object.fromEntries([...providerNames].map((name) => [name, { type: 'soft-hsm' }]));
  const { audit: _audit, $schema: _schema, ...rest } = config;
  return { ...rest, providers, keys };
}

/** The active versions that are past their cryptoperiod at `when`, as the library computes it. */
async function expiredActiveVersions(config: ExampleConfig, when: Date): Promise<string[]> {
  const ks = await Keyswitch.fromConfig(standIn(config) as never, { env: {} });
  const keyring = Keyring.create(ks, { clock: () => when });
  try {
    const rows = await inventory(keyring, { describe: false });
    return rows
      .filter((row) => row.status === 'active' && row.expired)
      .map((row) => `${row.keyName}@${row.version} expires ${row.expiresAt?.toISOString().slice(0, 10)}`);
  } finally {
    await keyring.close();
    await ks.close();
  }
}

describe('dated examples', () => {
  const examples = examplesWithVersions();

  it('finds the example configurations with key versions', () => {
    const places = examples.map((example) => example.where);
    expect(places).toContainEqual(expect.stringMatching(/^docs\/guides\/pci-dss\.md:\d+$/));
    expect(places).toContainEqual(expect.stringMatching(/^docs\/configuration\.md:\d+$/));
    expect(places).toContain('examples/pci-pan-vault/configs/soft-hsm.json');
  });

  it('the check catches a version whose written date ends its cryptoperiod', async () => {
    const dated: ExampleConfig = {
      keys: { 'pan-kek-1': { provider: 'kms', ref: 'pan-kek-1', spec: 'SYMMETRIC_DEFAULT' } },
      versions: {
        'pan-kek': {
          cryptoperiodDays: 365,
          versions: [{ id: '1', key: 'pan-kek-1', createdAt: '2025-01-15' }],
        },
      },
    } as ExampleConfig;
    expect(await expiredActiveVersions(dated, new Date('2026-06-01T00:00:00Z'))).toEqual([
      'pan-kek@1 expires 2026-01-15',
    ]);
    expect(await expiredActiveVersions(dated, new Date('2025-06-01T00:00:00Z'))).toEqual([]);
  });

  it('no active version of any example is past its cryptoperiod three years from now', async () => {
    const later = new Date(Date.now() + THREE_YEARS_MS);
    const problems: string[] = [];
    for (const { where, config } of examples)
      for (const expired of await expiredActiveVersions(config, later)) problems.push(`${where}: ${expired}`);
    expect(problems).toEqual([]);
  });
});
