import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type Workspace } from './cli-harness.js';

interface JsonReport {
  summary: { total: number; passed: number; failed: number; ok: boolean };
  results: { group: string; name: string; status: string; reason?: string }[];
  cleanup: { keys: { action: string }[] };
}

let server: KmsLocalServer;
let workspace: Workspace;

beforeAll(async () => {
  server = await startKmsLocal();
  workspace = await createWorkspace({
    providers: {
      kms: {
        type: 'aws-kms',
        region: server.region,
        endpoint: server.endpoint,
        credentials: {
          accessKeyId: KMS_LOCAL_DEFAULT_CREDENTIALS.accessKeyId,
          secretAccessKey: { env: 'KMS_LOCAL_SECRET_ACCESS_KEY' },
        },
      },
    },
    keys: {
      'acs-signing': {
        provider: 'kms',
        ref: 'alias/acs-signing',
        spec: 'ECC_NIST_P256',
        algorithm: 'ECDSA_SHA_256',
      },
    },
  });
  workspace.env.KMS_LOCAL_SECRET_ACCESS_KEY = KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey;
});

afterAll(async () => {
  await workspace?.remove();
  await server?.close();
});

async function report(directory: string): Promise<JsonReport> {
  const files = await readdir(join(workspace.dir, directory));
  const json = files.find((file) => file.endsWith('.json'));
  return JSON.parse(await readFile(join(workspace.dir, directory, json!), 'utf8')) as JsonReport;
}

function failures(json: JsonReport): string[] {
  return json.results
    .filter((result) => result.status === 'failed')
    .map((result) => `${result.name}: ${result.reason}`);
}

describe('keyswitch conformance on aws-kms (kms-local)', () => {
  // The MAC group is the quickest that needs both halves of a key; the whole suite runs in aws-kms's own tests.
  it('--import-keys: imports through KMS (GetParametersForImport, ImportKeyMaterial), passes, and cleans up', async () => {
    const run = await workspace.run([
      'conformance',
      '--provider',
      'kms',
      '--groups',
      'mac',
      '--import-keys',
      '--report-dir',
      'imported',
    ]);
    const json = await report('imported');
    expect(failures(json)).toEqual([]);
    expect(run.exitCode).toBe(0);
    const importedChecks = json.results.filter((result) => /imported/.test(result.name));
    expect(importedChecks.length).toBeGreaterThan(0);
    expect(importedChecks.every((result) => result.status === 'passed')).toBe(true);
    expect(
      json.cleanup.keys.every(
        (key) => key.action === 'scheduled-deletion' || key.action === 'already-scheduled',
      ),
    ).toBe(true);
  });

  it('without --import-keys: passes, and the checks that need both halves of a key are not run', async () => {
    const run = await workspace.run([
      'conformance',
      '--provider',
      'kms',
      '--groups',
      'mac',
      '--report-dir',
      'plain',
    ]);
    const json = await report('plain');
    expect(failures(json)).toEqual([]);
    expect(run.exitCode).toBe(0);
    const importedChecks = json.results.filter((result) => /imported/.test(result.name));
    expect(importedChecks.length).toBeGreaterThan(0);
    expect(importedChecks.every((result) => result.status !== 'passed')).toBe(true);
  });
});

describe('keyswitch keys list --provider on aws-kms', () => {
  it("shows each key's aliases and the logical name it is configured as", async () => {
    expect((await workspace.run(['keys', 'create', 'acs-signing'])).exitCode).toBe(0);
    const listed = await workspace.run(['keys', 'list', '--provider', 'kms', '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    const keys = JSON.parse(listed.stdout) as { aliases: string[]; configuredAs: string[] }[];
    const signing = keys.find((key) => key.aliases.includes('alias/acs-signing'));
    expect(signing?.configuredAs).toEqual(['acs-signing']);
    const table = await workspace.run(['keys', 'list', '--provider', 'kms']);
    const row = table.stdout.split('\n').find((line) => line.includes('alias/acs-signing'));
    expect(row).toMatch(/alias\/acs-signing\s+acs-signing\s*$/);
  });
});
