import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTokens, type TestTokens } from '../../pkcs11/test/support/tokens.js';
import { createWorkspace, type Workspace } from './cli-harness.js';

// `keyswitch conformance --import-keys` on a SoftHSM2 token: the suite's key material goes through the
// provider's importKey (C_CreateObject on its worker threads), so the checks that need both halves of a
// key run (an HMAC equal to node:crypto's with the same key). The MAC group is the quickest such group;
// the whole suite imports through the contract in pkcs11's own conformance tests.
interface JsonReport {
  summary: { failed: number; ok: boolean };
  results: { name: string; status: string; reason?: string }[];
  cleanup: { keys: { action: string }[] };
}

const tokens = createTestTokens();
const skip = 'skip' in tokens;
let workspace: Workspace;

beforeAll(async () => {
  if (skip) return;
  workspace = await createWorkspace({
    providers: {
      softhsm: {
        type: 'pkcs11',
        profile: 'softhsm',
        module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
        token: { label: 'keyswitch' },
        pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
      },
    },
    keys: {},
  });
  Object.assign(workspace.env, (tokens as TestTokens).env);
});

afterAll(async () => {
  await workspace?.remove();
  if (!skip) (tokens as TestTokens).remove();
});

async function report(directory: string): Promise<JsonReport> {
  const files = await readdir(join(workspace.dir, directory));
  const json = files.find((file) => file.endsWith('.json'));
  return JSON.parse(await readFile(join(workspace.dir, directory, json!), 'utf8')) as JsonReport;
}

describe.skipIf(skip)('keyswitch conformance --import-keys on PKCS#11 (SoftHSM2)', () => {
  it('imports through the provider, runs the checks that need both halves of a key, passes, and cleans up', async () => {
    const run = await workspace.run([
      'conformance',
      '--provider',
      'softhsm',
      '--groups',
      'mac',
      '--import-keys',
      '--report-dir',
      'imported',
    ]);
    const json = await report('imported');
    const failed = json.results.filter((result) => result.status === 'failed');
    expect(failed.map((result) => `${result.name}: ${result.reason}`)).toEqual([]);
    expect(run.exitCode, run.stderr).toBe(0);
    const imported = json.results.filter((result) => /imported/.test(result.name));
    expect(imported.length).toBeGreaterThan(0);
    expect(imported.every((result) => result.status === 'passed')).toBe(true);
    // PKCS#11 has no deletion schedule: every key the run created or imported ends disabled.
    expect(json.cleanup.keys.length).toBeGreaterThan(0);
    expect(json.cleanup.keys.every((key) => key.action === 'disabled')).toBe(true);
  });
});
