import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALFORMED } from '../../core/test/support/malformed-configs.js';
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
