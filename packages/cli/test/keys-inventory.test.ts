import { Keyswitch } from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, PASSPHRASE, testConfig, type Workspace } from './cli-harness.js';

let workspace: Workspace;

beforeAll(async () => {
  workspace = await createWorkspace({
    ...testConfig(),
    versions: {
      'card-data': {
        cryptoperiodDays: 365,
        description: 'PANs in the cards table',
        versions: [
          { id: '2024', key: 'pan-kek', createdAt: '2024-01-15' },
          { id: '2025', provider: 'other', ref: 'pan-kek-2025', createdAt: '2099-01-15' },
        ],
        active: '2025',
      },
    },
  });
  for (const name of ['pan-kek', 'pan-hmac'])
    expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
});

afterAll(async () => {
  await workspace?.remove();
});

describe('keyswitch keys inventory', () => {
  it('lists every key and version with spec, usage, backend, state and dates as JSON, never material', async () => {
    const result = await workspace.run(['keys', 'inventory', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(rows.map((row) => `${row.keyName}@${row.version}`)).toEqual([
      'card-data@2024',
      'card-data@2025',
      'acs-signing@1',
      'ds-signing@1',
      'pan-hmac@1',
    ]);
    expect(rows[0]).toMatchObject({
      status: 'retired',
      provider: 'dev',
      providerType: 'soft-hsm',
      ref: 'pan-kek',
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      state: 'ENABLED',
      createdAt: '2024-01-15T00:00:00.000Z',
      expiresAt: '2025-01-14T00:00:00.000Z',
      expired: true,
      description: 'PANs in the cards table',
    });
    expect(rows[1]).toMatchObject({
      status: 'active',
      provider: 'other',
      state: 'NOT_FOUND',
      expired: false,
    });
    expect(rows[4]).toMatchObject({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', state: 'ENABLED' });
    expect(rows[4]!.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/); // the backend's creation date
    expect(result.stdout).not.toMatch(/material|plaintext|privateKey|"d":|"k":/);
    expect(result.stdout).not.toContain(PASSPHRASE);
  });

  it('prints a table with a row per version', async () => {
    const result = await workspace.run(['keys', 'inventory']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^key\s+version\s+status\s+provider\s+ref\s+spec\s+usage\s+state\s+created\s+expires$/,
    );
    expect(lines).toHaveLength(7);
    expect(lines[2]).toMatch(
      /^card-data\s+2024\s+retired\s+dev \(soft-hsm\)\s+pan-kek\s+SYMMETRIC_DEFAULT\s+ENCRYPT_DECRYPT\s+ENABLED\s+2024-01-15\s+2025-01-14 EXPIRED$/,
    );
    expect(lines[3]).toMatch(
      /^card-data\s+2025\s+active\s+other \(soft-hsm\)\s+pan-kek-2025\s+-\s+-\s+NOT_FOUND\s+2099-01-15\s+2100-01-15$/,
    );
  });

  it('exits 2 on a configuration error', async () => {
    const result = await workspace.run(['keys', 'inventory'], { env: {} });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^keyswitch: CONFIG_INVALID: .*KEYSWITCH_CLI_TEST_PASSPHRASE/);
  });

  it('reads while the application holds the keystore, without taking its lock', async () => {
    const app = await Keyswitch.fromConfig(workspace.config, { env: workspace.env });
    try {
      await app.provider('dev'); // the application's open keystore, locked
      const locked = await workspace.run(['keys', 'describe', 'pan-kek']);
      expect(locked.stderr).toMatch(/LOCKED/);
      const result = await workspace.run(['keys', 'inventory', '--json']);
      expect(result.stderr).toBe('');
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).length).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });
});
