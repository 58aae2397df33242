import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `keyswitch conformance` on a third real token, the opencryptoki soft token, made and run by
 * scripts/with-opencryptoki.sh in private namespaces. The command runs as a user would run it (the built
 * bin, in a child process, since the token exists only inside the namespace): the whole suite, then the
 * configured keys alone. Under CI=true a missing opencryptoki fails; elsewhere the tests skip loudly.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = join(root, 'scripts/with-opencryptoki.sh');
const bin = join(root, 'packages/cli/bin/keyswitch.mjs');
const exampleConfig = join(root, 'examples/configs/opencryptoki.json');

interface Report {
  summary: { total: number; passed: number; failed: number; ok: boolean };
  results: { group: string; name: string; status: string; reason?: string }[];
}

interface Run {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

function plainEnvironment(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG'] as const;
  return Object.fromEntries(keep.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
}

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      // A plain environment: nothing of the test runner's (its module conditions, its variables).
      { cwd, env: plainEnvironment(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ exitCode, stdout, stderr });
      },
    );
  });
}

/** Why the token cannot run here, or undefined when it can (CI=true turns a reason into a failure). */
async function unavailable(cwd: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (private mount and IPC namespaces)';
  const probe = await run('bash', [script, '--', 'true'], cwd);
  if (probe.exitCode === 0) return undefined;
  return `scripts/with-opencryptoki.sh failed: ${probe.stderr.trim().split('\n').slice(-3).join(' | ')}`;
}

async function readReport(directory: string): Promise<Report> {
  const file = (await readdir(directory)).find((name) => name.endsWith('.json'));
  expect(file, `a JSON report in ${directory}`).toBeDefined();
  return JSON.parse(await readFile(join(directory, file!), 'utf8')) as Report;
}

/** The lines of a run's progress that are not passes: the message of a failed exit-code assertion. */
function problems(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.includes('FAIL') || line.startsWith('keyswitch:') || line.includes('error'))
    .join('\n');
}

const statuses = (report: Report, pattern: RegExp) =>
  new Set(report.results.filter((result) => pattern.test(result.name)).map((result) => result.status));

let dir: string;
let skip: string | undefined;
let full: Run;
let provisioned: Run;
let lifecycleState: string;
let signingState: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyswitch-cli-opencryptoki-'));
  skip = await unavailable(dir);
  if (skip !== undefined) {
    if (process.env.CI === 'true') throw new Error(`${skip} (CI=true: a missing token is a failure)`);
    console.warn(`\n[keyswitch cli tests] SKIPPING opencryptoki: ${skip}\n`);
    return;
  }
  expect(existsSync(join(root, 'packages/cli/dist/index.js')), 'build the packages first (pnpm build)').toBe(
    true,
  );
  // The example configuration, plus a key the lifecycle checks may disable and delete.
  const config = JSON.parse(await readFile(exampleConfig, 'utf8'));
  config.keys.lifecycle = {
    provider: 'ock',
    ref: 'pkcs11:object=lifecycle;type=secret-key',
    spec: 'HMAC_256',
    algorithm: 'HMAC_SHA_256',
  };
  await writeFile(join(dir, 'keyswitch.json'), JSON.stringify(config, null, 2));
  // One token for both runs: the whole suite, then configured keys created by `keyswitch keys create`.
  const steps = [
    'set -u',
    'k() { node "$BIN" --config keyswitch.json "$@"; }',
    // The command of docs/guides/new-hsm.md, on the example configuration as it is in the repository.
    'node "$BIN" --config "$EXAMPLE" conformance --provider ock --report-dir full >full.out 2>full.err',
    'echo $? >full.status',
    'for name in ds-signing ds-decrypt pan-hmac lifecycle; do k keys create "$name" >/dev/null || exit 90; done',
    'k conformance --provider ock --keys-from-config --report-dir provisioned >provisioned.out 2>provisioned.err',
    'echo $? >provisioned.status',
    'k keys describe lifecycle --json >lifecycle.json',
    'k keys describe ds-signing --json >ds-signing.json',
  ].join('\n');
  const session = await run(
    'bash',
    [script, '--', 'env', `BIN=${bin}`, `EXAMPLE=${exampleConfig}`, 'bash', '-c', steps],
    dir,
  );
  expect(session.exitCode, session.stderr).toBe(0);
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  full = {
    exitCode: Number(await read('full.status')),
    stdout: await read('full.out'),
    stderr: await read('full.err'),
  };
  provisioned = {
    exitCode: Number(await read('provisioned.status')),
    stdout: await read('provisioned.out'),
    stderr: await read('provisioned.err'),
  };
  lifecycleState = (JSON.parse(await read('lifecycle.json')) as { state: string }).state;
  signingState = (JSON.parse(await read('ds-signing.json')) as { state: string }).state;
}, 900_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('keyswitch conformance on the opencryptoki soft token', () => {
  it('is the run docs/guides/new-hsm.md shows', async () => {
    const guide = await readFile(join(root, 'docs/guides/new-hsm.md'), 'utf8');
    expect(guide).toContain(
      'scripts/with-opencryptoki.sh -- node packages/cli/bin/keyswitch.mjs --config examples/configs/opencryptoki.json conformance --provider ock\n',
    );
  });

  it('passes the whole suite, with what the token lacks found by probing and declared unsupported', async (context) => {
    if (skip !== undefined) context.skip();
    expect(full.exitCode, problems(full.stderr)).toBe(0);
    const report = await readReport(join(dir, 'full'));
    expect(report.summary).toMatchObject({ failed: 0, ok: true });
    // The token has RSA-OAEP with SHA-256 and HMAC: those checks run and pass.
    expect(statuses(report, /^RSAES_OAEP_SHA_256 with RSA_2048 › /)).toEqual(new Set(['passed']));
    expect(
      statuses(report, /^RSAES_OAEP_SHA_256 with RSA_2048 › a ciphertext not below the modulus/),
    ).toEqual(new Set(['passed']));
    expect(statuses(report, /^HMAC_SHA_256 /).has('passed')).toBe(true);
    // No EC at all, and no AES-GCM: unsupported after checking each fails with UNSUPPORTED_ALGORITHM.
    expect(statuses(report, /^ECDSA_SHA_256 with ECC_NIST_P256 › /)).toEqual(new Set(['unsupported']));
    expect(
      report.results.filter((result) => result.group === 'key-agreement').map((result) => result.status),
    ).not.toContain('passed');
    expect(statuses(report, /^SYMMETRIC_DEFAULT › /)).toEqual(new Set(['unsupported']));
  });

  it('passes on configured keys alone, and disables or deletes only the key named lifecycle', async (context) => {
    if (skip !== undefined) context.skip();
    expect(provisioned.exitCode, problems(provisioned.stderr)).toBe(0);
    expect(provisioned.stderr).toMatch(/using 4 configured keys; the run creates none and changes none/);
    expect(provisioned.stderr).toMatch(/lifecycle \(pkcs11:object=lifecycle;type=secret-key\) for lifecycle/);
    const report = await readReport(join(dir, 'provisioned'));
    expect(report.summary.ok).toBe(true);
    // The disable checks (by this provider, and by another instance) ran on the key named lifecycle.
    const lifecycle = report.results.filter((result) => /^disableKey( elsewhere)?: /.test(result.name));
    expect(lifecycle.map((result) => result.status)).toEqual(['passed', 'passed']);
    // PKCS#11 has no deletion schedule: the checks disable the key and enable it again.
    expect(lifecycleState).toBe('ENABLED');
    expect(signingState).toBe('ENABLED');
  });
});
