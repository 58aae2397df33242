import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli, testConfig, type Workspace } from './cli-harness.js';

let workspace: Workspace;

beforeAll(async () => {
  workspace = await createWorkspace();
});

afterAll(async () => {
  await workspace?.remove();
});

async function writeConfig(name: string, config: unknown): Promise<string> {
  const file = join(workspace.dir, name);
  await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

describe('configuration errors', () => {
  it('prints CONFIG_INVALID with the JSON path and exits 2', async () => {
    const config = testConfig();
    (config.keys['acs-signing'] as Record<string, unknown>).spec = 'ECC_NIST_P999';
    const file = await writeConfig('bad-spec.json', config);
    const result = await workspace.run(['--config', file, 'keys', 'list']);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^keyswitch: CONFIG_INVALID: at keys\.acs-signing\.spec: .*bad-spec\.json: expected one of /,
    );
  });

  it('names an unset passphrase variable without printing any secret', async () => {
    const result = await runCli(['--config', workspace.config, 'keys', 'list'], {
      env: {},
      cwd: workspace.dir,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      /^keyswitch: CONFIG_INVALID: .*providers\.dev\.passphrase: environment variable KEYSWITCH_CLI_TEST_PASSPHRASE is not set/,
    );
  });

  it('reports a missing file and invalid JSON', async () => {
    const missing = await workspace.run(['--config', join(workspace.dir, 'absent.json'), 'keys', 'list']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^keyswitch: CONFIG_INVALID: configuration file .*absent\.json not found/);
    const file = await writeConfig('broken.json', '{ "providers": ');
    const broken = await workspace.run(['--config', file, 'keys', 'list']);
    expect(broken.stderr).toMatch(
      /^keyswitch: CONFIG_INVALID: at providers: configuration file .*broken\.json is not valid JSON at line 1, column 16: expected a value/,
    );
  });

  it('reads KEYSWITCH_CONFIG, then ./keyswitch.json', async () => {
    const fromEnv = await runCli(['keys', 'list', '--json'], {
      env: { ...workspace.env, KEYSWITCH_CONFIG: workspace.config },
      cwd: '/',
    });
    expect(fromEnv.exitCode).toBe(0);
    const fromCwd = await runCli(['keys', 'list', '--json'], { env: workspace.env, cwd: workspace.dir });
    expect(fromCwd.exitCode).toBe(0);
    expect(JSON.parse(fromCwd.stdout)).toHaveLength(4);
  });

  it('prints help (exit 0) and a usage error for no command (exit 2)', async () => {
    const help = await runCli(['--help']);
    expect(help.exitCode).toBe(0);
    for (const command of ['keys', 'sign', 'verify', 'conformance', 'kms-local'])
      expect(help.stdout).toContain(command);
    expect((await runCli([])).exitCode).toBe(2);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/^keyswitch: USAGE: unknown command 'frobnicate'/);
  });
});
