import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALFORMED, MISTYPED_REFERENCES } from '../../core/test/support/malformed-configs.js';
import { createWorkspace, runCli, type Workspace } from './cli-harness.js';

let workspace: Workspace;
beforeAll(async () => {
  workspace = await createWorkspace();
});
afterAll(async () => {
  await workspace?.remove();
});

describe('the CLI never prints a malformed configuration', () => {
  it.each(MALFORMED)(
    '$name: CONFIG_INVALID with line and column; no secret on stdout or stderr',
    async (bad) => {
      const file = join(workspace.dir, 'malformed.json');
      await writeFile(file, bad.text);
      for (const run of [
        () => workspace.run(['--config', file, 'keys', 'list']),
        () => workspace.run(['--config', file, 'keys', 'list', '--json']),
        () =>
          runCli(['keys', 'list'], { env: { ...workspace.env, KEYSWITCH_CONFIG: file }, cwd: workspace.dir }),
      ]) {
        const result = await run();
        expect(result.exitCode).toBe(2);
        const printed = result.stdout + result.stderr;
        expect(printed).toContain('CONFIG_INVALID');
        expect(printed).toContain(bad.at);
        for (const secret of bad.secrets) expect(printed).not.toContain(secret);
      }
    },
  );
});

describe('the CLI never prints a secret typed where its reference goes', () => {
  it.each(MISTYPED_REFERENCES)('$name: CONFIG_INVALID naming the path, never the value', async (mistyped) => {
    const file = join(workspace.dir, 'mistyped.json');
    await writeFile(
      file,
      JSON.stringify({
        environment: 'test',
        providers: {
          dev: { type: 'soft-hsm', keystore: 'mistyped.keystore', passphrase: mistyped.passphrase },
        },
        keys: {},
      }),
    );
    for (const args of [
      ['--config', file, 'keys', 'list'],
      ['--config', file, 'keys', 'list', '--json'],
    ]) {
      const result = await runCli(args, { env: {}, cwd: workspace.dir });
      expect(result.exitCode).toBe(2);
      const printed = result.stdout + result.stderr;
      expect(printed).toContain('CONFIG_INVALID');
      expect(printed).toContain(mistyped.path);
      for (const secret of mistyped.secrets) expect(printed).not.toContain(secret);
    }
  });
});
