// Runs examples/pci-pan-vault (PANs in SQLite, keyed-hash lookups, rotation and re-wrap, a move to another
// backend by configuration) on each backend, as child processes on the BUILT packages (`pnpm test` builds
// first): the software HSM, kms-local through the real AWS SDK, and SoftHSM2 over PKCS#11. Under CI=true
// a SoftHSM2 token that cannot be made is a failure, never a skip.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softHsm2Tokens } from './support/softhsm2-tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const example = join(root, 'examples/pci-pan-vault/main.mjs');
const PACKAGES = ['core', 'envelope', 'soft-hsm', 'pkcs11', 'aws-kms', 'kms-local'];

interface ExampleRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runExample(backend: string, env: NodeJS.ProcessEnv = {}): Promise<ExampleRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [example, '--backend', backend, '--records', '40'],
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The example's own verdict, and the checks it must have made. */
function expectAllChecksPassed(run: ExampleRun, backend: string): void {
  if (run.code !== 0) throw new Error(`the example failed on ${backend}:\n${run.stdout}\n${run.stderr}`);
  expect(run.stdout).toMatch(new RegExp(`^all 18 checks passed on ${backend}$`, 'm'));
  expect(run.stdout).not.toMatch(/^ {3}FAIL /m);
  for (const step of [
    /ok {3}every PAN decrypts to itself \(40\/40\)/,
    /ok {3}every PAN finds exactly its card \(40\/40\)/,
    /ok {3}a PAN that is not stored finds nothing/,
    /ok {3}every record under v1 was re-wrapped to v2 \(40\/40\)/,
    /ok {3}re-wrapping changed only the wrapped data keys/,
    /ok {3}every record decrypts with version v3-[a-z-]+ alone configured \(41\/41\)/,
    /ok {3}audit file intact \(PCI DSS 10\.3\.4\)/,
  ]) {
    expect(run.stdout).toMatch(step);
  }
}

let tokens: { env: Record<string, string> } | { skip: string } | undefined;
const tokenDir = mkdtempSync(join(tmpdir(), 'keyswitch-pan-vault-tokens-'));

beforeAll(() => {
  const missing = PACKAGES.filter((name) => !existsSync(join(root, 'packages', name, 'dist/index.js')));
  if (missing.length > 0) {
    throw new Error(
      `the example runs on the built packages; run pnpm build first (no dist: ${missing.join(', ')})`,
    );
  }
});

afterAll(() => {
  rmSync(tokenDir, { recursive: true, force: true });
});

describe('examples/pci-pan-vault', () => {
  it('runs on the software HSM', async () => {
    expectAllChecksPassed(await runExample('soft-hsm'), 'soft-hsm');
  });

  it('runs on kms-local through the AWS SDK', async () => {
    const run = await runExample('kms-local');
    expectAllChecksPassed(run, 'kms-local');
    // The AWS SDK's Node-version notice does not reach the example's output: the example silences it.
    expect(run.stderr).not.toMatch(/NodeVersionSupportWarning/);
  });

  it('runs on SoftHSM2 over PKCS#11', async (context) => {
    tokens = softHsm2Tokens(tokenDir, 'pci-pan-vault');
    if ('skip' in tokens) {
      context.skip();
      return;
    }
    const run = await runExample('softhsm2', tokens.env);
    expectAllChecksPassed(run, 'softhsm2');
    expect(run.stdout).toMatch(/vault \(pkcs11\)/);
  });

  it('says how to set SoftHSM2 up when its environment is missing, and exits 2', async () => {
    const run = await runExample('softhsm2', { KEYSWITCH_SOFTHSM2_MODULE: '', KEYSWITCH_SOFTHSM2_PIN: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/SoftHSM2 is not set up: run {2}eval "\$\(scripts\/test-tokens\.sh\)"/);
  });
});
