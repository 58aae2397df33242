import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli, testConfig, type Workspace } from './cli-harness.js';

// Functional tests of `keyswitch bench`: the shape of what it prints, never how fast anything is.
const SHORT = ['--duration', '0.1', '--warmup', '0'];

interface BenchJson {
  key: string;
  provider: string;
  providerType: string;
  ref: string;
  algorithm: string;
  operation: string;
  payloadBytes: number;
  eventLoopResolutionMs: number;
  results: {
    operation: string;
    concurrency: number;
    operations: number;
    errors: number;
    seconds: number;
    opsPerSecond: number;
    p50Ms: number | null;
    p99Ms: number | null;
    eventLoopMaxMs: number;
    eventLoopP99Ms: number;
  }[];
}

let workspace: Workspace;

beforeAll(async () => {
  workspace = await createWorkspace(
    testConfig({
      'acs-ecdh': { provider: 'dev', ref: 'acs-ecdh', spec: 'ECC_NIST_P256', usage: 'KEY_AGREEMENT' },
      'ds-decrypt': { provider: 'dev', ref: 'ds-decrypt', spec: 'RSA_2048', algorithm: 'RSAES_OAEP_SHA_256' },
    }),
  );
  // ds-signing stays uncreated: bench must refuse it rather than create it.
  for (const name of ['acs-signing', 'pan-kek', 'pan-hmac', 'acs-ecdh', 'ds-decrypt']) {
    expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
  }
});

afterAll(async () => {
  await workspace?.remove();
});

async function backendKeys(): Promise<{ aliases: string[]; state: string; ref: string }[]> {
  const listed = await workspace.run(['keys', 'list', '--provider', 'dev', '--json']);
  expect(listed.exitCode).toBe(0);
  return JSON.parse(listed.stdout);
}

describe('keyswitch bench', () => {
  it('measures a signing key at each concurrency and prints a table, with a progress line per run', async () => {
    const result = await workspace.run(['bench', '--key', 'acs-signing', '--concurrency', '1,4', ...SHORT]);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^operation\s+in flight\s+ops\s+ops\/s\s+p50 ms\s+p99 ms\s+errors\s+loop max ms\s+loop p99 ms$/,
    );
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^sign\s+1\s+[\d,]+\s+[\d,]+\s+[\d.]+\s+[\d.]+\s+0\s+[\d.]+\s+[\d.]+$/);
    expect(lines[3]).toMatch(/^sign\s+4\s/);
    // Not a terminal: plain lines instead of a bar.
    expect(result.stderr).toMatch(/keyswitch bench: sign with acs-signing \(ECDSA_SHA_256, ECC_NIST_P256\)/);
    expect(result.stderr).toMatch(/^1 in flight: [\d,]+ ops\/s, p99 [\d.]+ ms, event loop max [\d.]+ ms$/m);
    expect(result.stderr).toMatch(/^4 in flight: /m);
  });

  it('prints JSON with every field, for each operation a key can do', async () => {
    const cases: [string, string | undefined, string][] = [
      ['acs-signing', 'verify', 'verify'],
      ['pan-kek', undefined, 'encrypt'],
      ['pan-kek', 'decrypt', 'decrypt'],
      ['pan-kek', 'data-key', 'data-key'],
      ['pan-hmac', undefined, 'mac'],
      ['acs-ecdh', undefined, 'derive'],
      ['ds-decrypt', undefined, 'decrypt'],
    ];
    for (const [key, operation, expected] of cases) {
      const result = await workspace.run([
        'bench',
        '--key',
        key,
        ...(operation ? ['--operation', operation] : []),
        '--concurrency',
        '2',
        '--json',
        ...SHORT,
      ]);
      expect(result.exitCode, `${key} ${expected}: ${result.stderr}`).toBe(0);
      const json = JSON.parse(result.stdout) as BenchJson;
      expect(json).toMatchObject({ key, provider: 'dev', providerType: 'soft-hsm', operation: expected });
      expect(json.eventLoopResolutionMs).toBe(1);
      expect(json.results).toHaveLength(1);
      const [run] = json.results;
      expect(run).toMatchObject({ operation: expected, concurrency: 2, errors: 0 });
      expect(run!.operations).toBeGreaterThan(0);
      for (const field of [
        'seconds',
        'opsPerSecond',
        'p50Ms',
        'p99Ms',
        'eventLoopMaxMs',
        'eventLoopP99Ms',
      ] as const) {
        expect(typeof run![field], `${key} ${field}`).toBe('number');
      }
    }
  });

  it('takes --config after the subcommand too, as documented', async () => {
    const result = await runCli(
      ['bench', '--config', workspace.config, '--key', 'pan-hmac', '--concurrency', '1', '--json', ...SHORT],
      { env: workspace.env, cwd: workspace.dir },
    );
    expect(result.exitCode).toBe(0);
    expect((JSON.parse(result.stdout) as BenchJson).operation).toBe('mac');
  });

  it('never creates a key: a configured key missing from the backend is KEY_NOT_FOUND, exit 1', async () => {
    const before = await backendKeys();
    const result = await workspace.run(['bench', '--key', 'ds-signing', ...SHORT]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /keyswitch: KEY_NOT_FOUND: .*bench never creates keys.*--create-temporary-key/,
    );
    expect(result.stdout).toBe('');
    expect(await backendKeys()).toEqual(before);
  });

  it('with --create-temporary-key, measures a new key labelled with the run id and schedules its deletion', async () => {
    const result = await workspace.run([
      'bench',
      '--key',
      'ds-signing',
      '--create-temporary-key',
      '--concurrency',
      '1',
      '--json',
      ...SHORT,
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as BenchJson;
    expect(json.ref).toMatch(/^keyswitch-bench-[a-z0-9]+-[0-9a-f]{6}$/);
    expect(json.algorithm).toBe('RSASSA_PSS_SHA_256');
    expect(result.stderr).toMatch(/created temporary RSA_2048 key keyswitch-bench-/);
    expect(result.stderr).toMatch(/temporary key keyswitch-bench-\S+: scheduled for deletion on \d{4}-/);
    const temporary = (await backendKeys()).filter((key) => key.aliases.includes(json.ref));
    expect(temporary).toHaveLength(1);
    expect(temporary[0]!.state).toBe('PENDING_DELETION');
    // The configured key is still absent: only the temporary one was made.
    expect((await workspace.run(['bench', '--key', 'ds-signing', ...SHORT])).exitCode).toBe(1);
  });

  it('refuses bad arguments with exit 2 before touching the backend', async () => {
    const cases: [string[], RegExp][] = [
      [[], /bench needs --key NAME/],
      [['--key', 'acs-signing', '--operation', 'mac'], /a SIGN_VERIFY key cannot mac; it can: sign, verify/],
      [['--key', 'acs-signing', '--operation', 'teleport'], /--operation must be one of/],
      [['--key', 'acs-signing', '--concurrency', '0'], /--concurrency must be a comma-separated list/],
      [['--key', 'acs-signing', '--duration', 'soon'], /--duration must be a number of seconds/],
      [['--key', 'acs-signing', '--payload', '0'], /--payload must be a number of bytes/],
      [['--key', 'no-such-key'], /no key named "no-such-key"/],
    ];
    for (const [args, message] of cases) {
      const result = await workspace.run(['bench', ...args]);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
