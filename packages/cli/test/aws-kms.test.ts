import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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

describe("the AWS SDK's Node.js version notice", () => {
  const bin = fileURLToPath(new URL('../bin/keyswitch.mjs', import.meta.url));
  const run = promisify(execFile);
  /** The notice's first line, as the SDK words it (and the switch that turns it off, which the child lacks). */
  const NOTICE = /NodeVersionSupportWarning|AWS SDK for JavaScript \(v3\)/;

  it('does not reach the output of a command run against kms-local', async () => {
    if (!existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url))))
      throw new Error('packages/cli/dist is missing: run `pnpm build` first (the root test command does)');
    // The child's environment is the workspace's alone: not this process's, where in-process runs have set
    // the SDK's switch.
    expect(workspace.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBeUndefined();
    const listed = await run(
      process.execPath,
      [bin, '--config', workspace.config, 'keys', 'list', '--provider', 'kms'],
      {
        env: workspace.env,
        cwd: workspace.dir,
      },
    );
    // A ListKeys answer from kms-local: the keys (when an earlier test made one), or none.
    expect(listed.stdout).toMatch(/alias\/|provider kms has no keys/);
    expect(listed.stderr).not.toMatch(NOTICE);
    expect(listed.stderr).toBe('');
  });

  // Without the switch the SDK prints the notice on Node.js before 22: the assertion above can fail.
  it.runIf(Number(process.versions.node.split('.')[0]) < 22)(
    'is printed by the SDK itself on this Node.js, so the check above is a real one',
    async () => {
      const clientKms = createRequire(join(import.meta.dirname, '../../aws-kms/package.json')).resolve(
        '@aws-sdk/client-kms',
      );
      const script = `const { KMSClient, ListKeysCommand } = require(${JSON.stringify(clientKms)});
new KMSClient({ region: ${JSON.stringify(server.region)}, endpoint: ${JSON.stringify(server.endpoint)},
  credentials: { accessKeyId: ${JSON.stringify(KMS_LOCAL_DEFAULT_CREDENTIALS.accessKeyId)}, secretAccessKey: process.env.KMS_LOCAL_SECRET_ACCESS_KEY } })
  .send(new ListKeysCommand({})).then((answer) => console.log(answer.Keys.length));`;
      const direct = await run(process.execPath, ['-e', script], { env: workspace.env, cwd: workspace.dir });
      expect(direct.stdout).toMatch(/^\d+\n$/);
      expect(direct.stderr).toMatch(NOTICE);
    },
  );
});
