import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProviderFactory } from '@keyswitch/core';
import { providerFactory as softHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, testConfig, type Workspace } from './cli-harness.js';
import { parseXml } from './well-formed-xml.js';

interface JsonReport {
  runId: string;
  label: string;
  aborted: boolean;
  provider: { name: string; type: string };
  groups: string[];
  summary: { total: number; passed: number; failed: number; skipped: number; ok: boolean };
  results: { group: string; name: string; status: string; reason?: string }[];
  cleanup: { keys: { ref: string; label: string; action: string }[] };
}

interface BackendKey {
  ref: string;
  aliases: string[];
  state: string;
}

let workspace: Workspace;

/** A software HSM whose signatures are wrong: the suite must catch it, and the command exit 1. */
const brokenHsm: ProviderFactory<never> = {
  type: 'broken-hsm',
  parseConfig: (raw, path) => softHsm.parseConfig({ ...(raw as object), type: 'soft-hsm' }, path) as never,
  async create(config, context) {
    const hsm = await softHsm.create(config, context);
    const sign = hsm.sign.bind(hsm);
    hsm.sign = async (...args) => {
      const signature = await sign(...args);
      signature[signature.length - 1]! ^= 1;
      return signature;
    };
    return hsm;
  },
};

beforeAll(async () => {
  workspace = await createWorkspace(testConfig());
  const config = JSON.parse(await readFile(workspace.config, 'utf8'));
  config.providers.memory = { type: 'soft-hsm' };
  await writeFile(workspace.config, JSON.stringify(config, null, 2));
  const broken = { providers: { broken: { type: 'broken-hsm' } }, keys: {} };
  await writeFile(join(workspace.dir, 'broken.json'), JSON.stringify(broken));
});

afterAll(async () => {
  await workspace?.remove();
});

async function readReports(directory: string, runId?: string) {
  const files = (await readdir(join(workspace.dir, directory))).filter(
    (file) => !runId || file.includes(runId),
  );
  const json = files.find((file) => file.endsWith('.json'));
  const junit = files.find((file) => file.endsWith('.junit.xml'));
  expect(json, `a JSON report in ${files.join(', ')}`).toBeDefined();
  expect(junit).toBeDefined();
  expect(files.some((file) => file.endsWith('.txt'))).toBe(true);
  return {
    files,
    json: JSON.parse(await readFile(join(workspace.dir, directory, json!), 'utf8')) as JsonReport,
    junit: parseXml(await readFile(join(workspace.dir, directory, junit!), 'utf8')),
  };
}

async function backendKeys(provider = 'dev'): Promise<BackendKey[]> {
  const listed = await workspace.run(['keys', 'list', '--provider', provider, '--json']);
  expect(listed.exitCode).toBe(0);
  return JSON.parse(listed.stdout) as BackendKey[];
}

/** The lines of a run's progress that are not passes: the message of a failed exit-code assertion. */
function problems(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.includes('FAIL') || line.startsWith('keyswitch:'))
    .join('\n');
}

function keysOfRun(keys: readonly BackendKey[], runId: string): BackendKey[] {
  return keys.filter((key) => JSON.stringify(key).includes(runId));
}

describe('keyswitch conformance', () => {
  it('runs the suite, writes JSON and well-formed JUnit reports, and leaves every key it made scheduled for deletion', async () => {
    const result = await workspace.run([
      'conformance',
      '--provider',
      'dev',
      '--groups',
      'mac,random',
      '--report-dir',
      'reports',
      '--label-prefix',
      'cli-test',
    ]);
    expect(result.stderr).toMatch(/conformance run \S+ against dev \(soft-hsm\): \d+ checks in mac, random/);
    expect(result.stderr).toMatch(/^\[\s*1\/\d+\] PASS mac › /m);
    expect(result.exitCode, problems(result.stderr)).toBe(0);
    expect(result.stdout).toMatch(/^group\s+passed\s+failed/m);
    const { files, json, junit } = await readReports('reports');
    expect(files.sort()).toEqual(
      ['json', 'junit.xml', 'txt'].map((extension) => `conformance-${json.runId}.${extension}`).sort(),
    );
    expect(result.stdout).toContain(`conformance-${json.runId}.junit.xml`);
    expect(json).toMatchObject({
      provider: { name: 'dev', type: 'soft-hsm' },
      groups: ['mac', 'random'],
      aborted: false,
    });
    expect(json.label).toBe(`cli-test-${json.runId}`);
    expect(json.summary.ok).toBe(true);
    expect(json.results.length).toBe(json.summary.total);
    expect(junit.name).toBe('testsuites');
    expect(junit.attributes.tests).toBe(String(json.summary.total));
    expect(junit.children.map((suite) => suite.attributes.name)).toEqual(['mac', 'random']);
    const cases = junit.children.flatMap((suite) =>
      suite.children.filter((child) => child.name === 'testcase'),
    );
    expect(cases).toHaveLength(json.summary.total);
    // Every key the run created carries the run id and ends pending deletion.
    const created = keysOfRun(await backendKeys(), json.runId);
    expect(created.length).toBeGreaterThan(0);
    expect(created.length).toBe(json.cleanup.keys.length);
    expect(created.every((key) => key.state === 'PENDING_DELETION')).toBe(true);
    expect(json.cleanup.keys.every((key) => key.label.startsWith(`cli-test-${json.runId}`))).toBe(true);
  });

  it('gives each group a fresh provider where the backend allows it, so the close checks run too', async () => {
    const result = await workspace.run([
      'conformance',
      '--provider',
      'memory',
      '--groups',
      'errors,concurrency',
      '--report-dir',
      'memory',
    ]);
    expect(result.exitCode).toBe(0);
    const { json } = await readReports('memory');
    expect(json.results.filter((test) => test.status === 'skipped')).toEqual([]);
  });

  it('with --keys-from-config, uses only the configured keys and creates or changes none', async () => {
    for (const name of ['acs-signing', 'ds-signing', 'pan-kek', 'pan-hmac']) {
      expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
    }
    const before = await backendKeys();
    const result = await workspace.run([
      'conformance',
      '--provider',
      'dev',
      '--keys-from-config',
      '--groups',
      'keys,signing,encryption,mac',
      '--report-dir',
      'provisioned',
    ]);
    expect(result.stderr).toMatch(/using 4 configured keys; the run creates none and changes none/);
    expect(result.stderr).toMatch(/acs-signing \(acs-signing\) for ECC_NIST_P256:SIGN_VERIFY/);
    expect(result.exitCode, problems(result.stderr)).toBe(0);
    const { json } = await readReports('provisioned');
    expect(json.cleanup.keys).toEqual([]);
    expect(
      json.results.some(
        (test) => test.group === 'signing' && test.status === 'passed' && test.name.includes('ECDSA_SHA_256'),
      ),
    ).toBe(true);
    expect(json.results.some((test) => test.status === 'skipped')).toBe(true);
    const after = await backendKeys();
    expect(after).toEqual(before);
  });

  it('stops on an abort (Ctrl-C), still cleans up and writes the reports, and exits 130', async () => {
    const controller = new AbortController();
    let checks = 0;
    const result = await workspace.run(
      ['conformance', '--provider', 'dev', '--groups', 'signing', '--report-dir', 'aborted'],
      {
        signal: controller.signal,
        onStderr: (text) => {
          checks += text.match(/^\[\s*\d+\/\d+\]/gm)?.length ?? 0;
          if (checks >= 5) controller.abort();
        },
      },
    );
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toMatch(
      /keyswitch: interrupted; stopping after the check in progress, then cleaning up/,
    );
    expect(result.stderr).toMatch(/^keyswitch: INTERRUPTED: /m);
    const { json } = await readReports('aborted');
    expect(json.aborted).toBe(true);
    expect(
      json.results.filter((test) => test.status === 'skipped' && test.reason === 'the run was aborted')
        .length,
    ).toBeGreaterThan(0);
    const created = keysOfRun(await backendKeys(), json.runId);
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((key) => key.state === 'PENDING_DELETION')).toBe(true);
  });

  it('exits 1 when the backend fails checks, with the failures in the JUnit report', async () => {
    const result = await workspace.run(
      [
        '--config',
        'broken.json',
        'conformance',
        '--provider',
        'broken',
        '--groups',
        'signing',
        '--report-dir',
        'broken',
      ],
      {
        providerFactories: { 'broken-hsm': brokenHsm },
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^keyswitch: CONFORMANCE_FAILED: \d+ of \d+ checks failed$/m);
    expect(result.stderr).toMatch(/FAIL signing › ECDSA_SHA_256 with ECC_NIST_P256 › /);
    const { json, junit } = await readReports('broken');
    expect(json.summary.failed).toBeGreaterThan(0);
    const failures = junit.children.flatMap((suite) =>
      suite.children.flatMap((testcase) => testcase.children.filter((child) => child.name === 'failure')),
    );
    expect(failures).toHaveLength(json.summary.failed);
  });

  it('refuses an unknown provider, group or label prefix with exit 2', async () => {
    const provider = await workspace.run(['conformance', '--provider', 'nope']);
    expect(provider.exitCode).toBe(2);
    expect(provider.stderr).toMatch(/^keyswitch: CONFIG_INVALID: .*no provider named "nope"/);
    const group = await workspace.run(['conformance', '--provider', 'dev', '--groups', 'signing,astrology']);
    expect(group.exitCode).toBe(2);
    expect(group.stderr).toMatch(
      /^keyswitch: USAGE: unknown group astrology in --groups; the groups are keys, signing,/,
    );
    const label = await workspace.run(['conformance', '--provider', 'dev', '--label-prefix', 'has space']);
    expect(label).toMatchObject({
      exitCode: 2,
      stderr: 'keyswitch: USAGE: --label-prefix must be 1 to 100 letters, digits, _ or -\n',
    });
    expect((await workspace.run(['conformance'])).stderr).toBe(
      'keyswitch: USAGE: conformance needs --provider NAME\n',
    );
  });

  describe('--compare', () => {
    interface Comparison {
      runId: string;
      a: { name: string };
      b: { name: string };
      differences: { area: string; check: string; fact: string; severity: string }[];
      summary: { checks: number; differences: number; breaking: number; ok: boolean };
    }

    async function readComparison(directory: string): Promise<Comparison> {
      const files = await readdir(join(workspace.dir, directory));
      const file = files.find((name) => /^compare-.*\.json$/.test(name));
      expect(file, files.join(', ')).toBeDefined();
      expect(files.some((name) => /^compare-.*\.txt$/.test(name))).toBe(true);
      return JSON.parse(await readFile(join(workspace.dir, directory, file!), 'utf8')) as Comparison;
    }

    it('finds no breaking difference between two software HSMs, and cleans up both sides', async () => {
      const result = await workspace.run([
        'conformance',
        '--provider',
        'dev',
        '--compare',
        'memory',
        '--report-dir',
        'compare',
      ]);
      expect(result.stderr).toMatch(/^comparing a = dev \(soft-hsm\) with b = memory \(soft-hsm\)$/m);
      expect(result.exitCode).toBe(0);
      const report = await readComparison('compare');
      expect(report).toMatchObject({
        a: { name: 'dev' },
        b: { name: 'memory' },
        summary: { breaking: 0, ok: true },
      });
      expect(report.summary.checks).toBeGreaterThan(5);
      expect(result.stdout).toContain(`compare-${report.runId}.json`);
      const created = keysOfRun(await backendKeys(), report.runId);
      expect(created.length).toBeGreaterThan(0);
      expect(created.every((key) => key.state === 'PENDING_DELETION')).toBe(true);
    });

    it('prints every difference with a provider from another configuration, and exits 1 on a breaking one', async () => {
      const result = await workspace.run(
        [
          'conformance',
          '--provider',
          'memory',
          '--compare-config',
          'broken.json',
          '--compare-provider',
          'broken',
          '--report-dir',
          'compare-broken',
        ],
        { providerFactories: { 'broken-hsm': brokenHsm } },
      );
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(
        /^keyswitch: DIFFERENCES: \d+ differences between memory and broken, [1-9]\d* breaking$/m,
      );
      const report = await readComparison('compare-broken');
      expect(report.summary.breaking).toBeGreaterThan(0);
      for (const difference of report.differences) {
        expect(result.stdout).toContain(`${difference.area} › ${difference.check} › ${difference.fact}`);
      }
    });

    it('refuses contradictory or incomplete comparison options with exit 2', async () => {
      const itself = await workspace.run(['conformance', '--provider', 'dev', '--compare', 'dev']);
      expect(itself).toMatchObject({
        exitCode: 2,
        stderr: 'keyswitch: USAGE: --compare: provider dev compared with itself\n',
      });
      const half = await workspace.run([
        'conformance',
        '--provider',
        'dev',
        '--compare-config',
        'broken.json',
      ]);
      expect(half).toMatchObject({
        exitCode: 2,
        stderr: 'keyswitch: USAGE: --compare-config needs --compare-provider NAME\n',
      });
    });
  });
});
