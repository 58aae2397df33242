import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Keyswitch, type ProviderFactory } from '@keyswitch/core';
import { Keyring } from '@keyswitch/envelope';
import { KMS_LOCAL_DEFAULT_CREDENTIALS } from '@keyswitch/kms-local';
import { providerFactory as softHsm } from '@keyswitch/soft-hsm';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/main.js';
import { type CliRun, createWorkspace, testConfig, type Workspace } from './cli-harness.js';

// `--json` on every command: one JSON document on stdout for a result, `{"error":{"code","message"}}` for
// a failure. A command that ran but whose answer is a failure (checks failed, records not re-wrapped, a
// tampered file) prints its result with the same `error` member added.

/** card-data has one version now; the rewrap test adds a second on another provider. */
const config = {
  ...testConfig({ 'pan-kek-2': { provider: 'other', ref: 'pan-kek-2', spec: 'SYMMETRIC_DEFAULT' } }),
  versions: { 'card-data': { versions: [{ id: '1', key: 'pan-kek' }] } },
};
let workspace: Workspace;

/** A software HSM whose random bytes are all zero: the suite's random group must fail it. */
const zeroRandomHsm: ProviderFactory<never> = {
  type: 'zero-random-hsm',
  parseConfig: (raw, path) => softHsm.parseConfig({ ...(raw as object), type: 'soft-hsm' }, path) as never,
  async create(providerConfig, context) {
    const hsm = await softHsm.create(providerConfig, context);
    hsm.generateRandom = async (length) => new Uint8Array(length);
    return hsm;
  },
};

beforeAll(async () => {
  workspace = await createWorkspace(config);
  for (const name of ['acs-signing', 'pan-kek', 'pan-kek-2'])
    expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
});

afterAll(async () => {
  await workspace?.remove();
});

/** The one JSON document a `--json` run printed: stdout must be exactly that, nothing before or after. */
function onlyDocument(run: CliRun): Record<string, unknown> {
  const text = run.stdout.trim();
  expect(text, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).not.toBe('');
  const value = JSON.parse(text) as unknown;
  expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  return value as Record<string, unknown>;
}

/** Every command that does something (not the `keys` and `audit` groups), by its path. */
function leafCommands(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return command.commands.flatMap((sub) =>
    sub.commands.length > 0
      ? leafCommands(sub, [...path, sub.name()])
      : [{ path: [...path, sub.name()], command: sub }],
  );
}

/** For each command, arguments that make it fail: what `--json` must turn into one error document. */
const FAILING: Readonly<Record<string, readonly string[]>> = {
  'keys list': ['--provider', 'no-such-provider'],
  'keys describe': ['no-such-key'],
  'keys create': ['no-such-key'],
  'keys rotate': ['no-such-key'],
  'keys public-key': ['no-such-key'],
  'keys inventory': ['--config', 'missing.json'],
  sign: ['no-such-key', '--in', '-'],
  verify: ['no-such-key', '--in', '-', '--signature', 'missing.sig'],
  csr: ['no-such-key', '--subject', 'CN=x'],
  conformance: ['--provider', 'no-such-provider'],
  bench: ['--key', 'no-such-key'],
  'kms-local': ['--port', 'not-a-port'],
  rewrap: ['--in', 'missing.jsonl', '--out', 'out.jsonl'],
  'audit verify': ['missing.jsonl'],
};

describe('--json on every command', () => {
  const program = buildProgram({
    io: { stdout: { write: () => true }, stderr: { write: () => true } },
    env: {},
    cwd: process.cwd(),
    configPath: () => undefined,
    exitCode: 0,
  });
  const leaves = leafCommands(program);

  it('every command takes --json, and this test knows every command', () => {
    expect(leaves.length).toBeGreaterThanOrEqual(13);
    const names = leaves.map((leaf) => leaf.path.join(' '));
    expect(names.filter((name) => !Object.hasOwn(FAILING, name))).toEqual([]);
    const without = leaves.filter((leaf) => !leaf.command.options.some((option) => option.long === '--json'));
    expect(without.map((leaf) => leaf.path.join(' '))).toEqual([]);
  });

  it('every command prints a failure as one {"error":{"code","message"}} document and nothing on stderr', async () => {
    for (const { path } of leaves) {
      const name = path.join(' ');
      const args = FAILING[name] ?? [];
      // `--config` given last wins: the missing file for inventory, the workspace's file for the others.
      const run = await workspace.run([...path, ...args, '--json'], { stdin: 'message' });
      expect(run.exitCode, name).not.toBe(0);
      expect(run.stderr, name).not.toMatch(/keyswitch: [A-Z_]+:/);
      const document = onlyDocument(run);
      expect(Object.keys(document), name).toEqual(['error']);
      const error = document.error as Record<string, unknown>;
      expect(Object.keys(error), name).toEqual(['code', 'message']);
      expect(error.code, name).toMatch(/^[A-Z_]+$/);
      expect(String(error.message).length, name).toBeGreaterThan(5);
    }
  });

  it('conformance: the run report and where the report files are', async () => {
    const run = await workspace.run([
      'conformance',
      '--provider',
      'dev',
      '--groups',
      'random',
      '--report-dir',
      'reports',
      '--json',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    // Progress still goes to stderr; stdout is the document alone.
    expect(run.stderr).toMatch(/conformance run \S+ against dev/);
    const document = onlyDocument(run);
    expect(document).toMatchObject({ provider: { name: 'dev', type: 'soft-hsm' }, groups: ['random'] });
    expect(document).not.toHaveProperty('error');
    const summary = document.summary as { ok: boolean; total: number };
    expect(summary.ok).toBe(true);
    const files = document.reportFiles as string[];
    expect(files).toHaveLength(3);
    const written = JSON.parse(await readFile(files.find((file) => file.endsWith('.json'))!, 'utf8'));
    expect(written.runId).toBe(document.runId);
    expect(written.summary).toEqual(document.summary);
  });

  it('conformance: a failed run is its report with CONFORMANCE_FAILED added, exit 1', async () => {
    await writeFile(
      join(workspace.dir, 'zero.json'),
      JSON.stringify({ providers: { zero: { type: 'zero-random-hsm' } }, keys: {} }),
    );
    const run = await workspace.run(
      ['--config', 'zero.json', 'conformance', '--provider', 'zero', '--groups', 'random', '--json'],
      { providerFactories: { 'zero-random-hsm': zeroRandomHsm } },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).not.toMatch(/keyswitch: CONFORMANCE_FAILED/);
    const document = onlyDocument(run);
    const summary = document.summary as { ok: boolean; failed: number; total: number };
    expect(summary.ok).toBe(false);
    expect(document.error).toEqual({
      code: 'CONFORMANCE_FAILED',
      message: `${summary.failed} of ${summary.total} checks failed`,
    });
  });

  it('conformance --compare: the comparison report and its files', async () => {
    const run = await workspace.run([
      'conformance',
      '--provider',
      'dev',
      '--compare',
      'other',
      '--report-dir',
      'compare',
      '--json',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const document = onlyDocument(run);
    expect(document).toMatchObject({ a: { name: 'dev' }, b: { name: 'other' }, summary: { breaking: 0 } });
    expect(document).not.toHaveProperty('error');
    expect((document.reportFiles as string[]).map((file) => file.replace(/.*\./, ''))).toEqual([
      'json',
      'txt',
    ]);
  });

  it('csr: the PEM in the document is a request OpenSSL verifies, for the key the CLI prints', async () => {
    const run = await workspace.run([
      'csr',
      'acs-signing',
      '--subject',
      'CN=acs.example.com,O=Example',
      '--san',
      'dns:acs.example.com',
      '--json',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const document = onlyDocument(run);
    expect(document).toMatchObject({
      key: 'acs-signing',
      algorithm: 'ECDSA_SHA_256',
      sans: ['dns:acs.example.com'],
    });
    const file = join(workspace.dir, 'json.csr');
    await writeFile(file, String(document.pem));
    const text = execFileSync('openssl', ['req', '-in', file, '-verify', '-noout', '-pubkey'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const publicKey = onlyDocument(await workspace.run(['keys', 'public-key', 'acs-signing', '--json']));
    expect(createPublicKey(text).equals(createPublicKey(String(publicKey.pem)))).toBe(true);
  });

  it('rewrap: the totals, each move and each failed record, with REWRAP_FAILED when some failed', async () => {
    const context = { table: 'cards' };
    const ks = await Keyswitch.fromConfig(workspace.config, { env: workspace.env });
    const keyring = Keyring.create(ks);
    const records: unknown[] = [];
    for (const id of [1, 2, 3]) {
      const envelope = await keyring
        .envelopes('card-data')
        .encryptToString(new TextEncoder().encode(`record ${id}`), { context });
      records.push({ id, envelope, context });
    }
    records.push({ id: 4, envelope: 'not an envelope', context });
    await keyring.close();
    await ks.close();
    await writeFile(
      join(workspace.dir, 'cards.jsonl'),
      `${records.map((record) => JSON.stringify(record)).join('\n')}\n`,
    );
    const rotated = {
      ...config,
      versions: {
        'card-data': {
          versions: [
            { id: '1', key: 'pan-kek' },
            { id: '2', key: 'pan-kek-2' },
          ],
        },
      },
    };
    await writeFile(workspace.config, JSON.stringify(rotated));
    try {
      const run = await workspace.run([
        'rewrap',
        '--in',
        'cards.jsonl',
        '--out',
        'cards.out.jsonl',
        '--json',
      ]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/^rewrap: 4 records/);
      expect(run.stderr).not.toMatch(/keyswitch: REWRAP_FAILED/);
      const document = onlyDocument(run);
      expect(document).toMatchObject({
        out: 'cards.out.jsonl',
        processed: 4,
        rewrapped: 3,
        unchanged: 0,
        failed: 1,
        moves: [{ key: 'card-data', from: '1', to: '2', count: 3 }],
        error: { code: 'REWRAP_FAILED' },
      });
      expect(document.failures).toEqual([expect.stringMatching(/^line 4 \(id 4\): INVALID_CIPHERTEXT/)]);
      expect(document.backendCalls).toBeGreaterThan(0);
      const out = (await readFile(join(workspace.dir, 'cards.out.jsonl'), 'utf8')).trim().split('\n');
      expect(out).toHaveLength(4);
    } finally {
      await writeFile(workspace.config, JSON.stringify(config));
    }
  });

  it('kms-local: one line once listening (endpoint, port, region, no secret), nothing more on stdout', async () => {
    const controller = new AbortController();
    let announce: (line: string) => void = () => {};
    const firstLine = new Promise<string>((resolve) => {
      announce = resolve;
    });
    let printed = '';
    const running = workspace.run(['kms-local', '--port', '0', '--json'], {
      signal: controller.signal,
      onStdout: (text) => {
        printed += text;
        if (printed.includes('\n')) announce(printed.slice(0, printed.indexOf('\n')));
      },
    });
    const early = running.then((run) => {
      throw new Error(`kms-local exited early with ${run.exitCode}: ${run.stdout}${run.stderr}`);
    });
    let run: CliRun;
    try {
      const line = JSON.parse(await Promise.race([firstLine, early])) as Record<string, unknown>;
      expect(line).toMatchObject({
        listening: true,
        host: '127.0.0.1',
        provider: null,
        anyCredentials: false,
        accessKeyId: KMS_LOCAL_DEFAULT_CREDENTIALS.accessKeyId,
      });
      expect(line.endpoint).toBe(`http://127.0.0.1:${line.port}`);
      expect(typeof line.region).toBe('string');
      // The endpoint it names answers the KMS protocol (an unsigned call is refused the KMS way).
      const response = await fetch(String(line.endpoint), {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
        body: '{}',
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(((await response.json()) as { __type?: string }).__type).toBeTruthy();
    } finally {
      controller.abort();
      run = await running;
    }
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).not.toContain(KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey);
    expect(run.stderr).toContain('kms-local: stopped');
  });

  it('audit verify: a tampered file is the result with AUDIT_TAMPERED added', async () => {
    await writeFile(join(workspace.dir, 'bad.jsonl'), '{"seq":1,"prev":"00","event":{},"hash":"00"}\n');
    const run = await workspace.run(['audit', 'verify', 'bad.jsonl', '--json']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe('');
    const document = onlyDocument(run);
    expect(document).toMatchObject({ file: 'bad.jsonl', intact: false, error: { code: 'AUDIT_TAMPERED' } });
    expect((document.issues as unknown[]).length).toBeGreaterThan(0);
  });
});
