import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, PASSPHRASE, type Workspace } from './cli-harness.js';

const bin = fileURLToPath(new URL('../bin/keyswitch.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const built = existsSync(dist);
const inCi = process.env.CI === 'true';

let workspace: Workspace;

beforeAll(async () => {
  workspace = await createWorkspace();
});

afterAll(async () => {
  await workspace?.remove();
});

describe('the keyswitch bin', () => {
  if (!built && !inCi) {
    console.warn(
      `SKIPPED: the keyswitch bin test needs ${dist}; run \`pnpm build\` first (the root test command does)`,
    );
  }

  it.skipIf(!built && !inCi)(
    'runs `keyswitch keys list` as a child process and sets the exit code',
    async () => {
      if (!built) {
        throw new Error(
          `packages/cli/dist is missing: the root test command runs \`pnpm build\` before the tests; run it (${dist})`,
        );
      }
      const run = promisify(execFile);
      const { stdout, stderr } = await run(
        process.execPath,
        [bin, 'keys', 'list', '--config', workspace.config, '--json'],
        {
          env: workspace.env,
          cwd: workspace.dir,
        },
      );
      expect(stderr).toBe('');
      expect((JSON.parse(stdout) as { state: string }[]).map((key) => key.state)).toEqual(
        Array(4).fill('NOT_FOUND'),
      );
      const failed = await run(
        process.execPath,
        [bin, 'keys', 'describe', 'nope', '--config', workspace.config],
        {
          env: workspace.env,
          cwd: workspace.dir,
        },
      ).catch((error: { code: number; stderr: string }) => error);
      expect(failed).toMatchObject({ code: 2 });
      expect((failed as { stderr: string }).stderr).toMatch(/^keyswitch: CONFIG_INVALID: at keys\.nope: /);
      expect((failed as { stderr: string }).stderr).not.toContain(PASSPHRASE);
    },
  );

  /**
   * Runs the bin with one of its output pipes closed by the reader before the command writes (what `| head`
   * does once it has its lines): the pipe is closed at once, and node takes far longer to start than that.
   */
  const withClosedPipe = (args: readonly string[], closed: 'stdout' | 'stderr') =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; other: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env: workspace.env, cwd: workspace.dir });
      child[closed].destroy();
      let other = '';
      child[closed === 'stdout' ? 'stderr' : 'stdout'].on('data', (chunk: Buffer) => {
        other += chunk.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, other }));
    });

  it('exits quietly with its own exit code when the reader of its output has gone (| head)', async () => {
    if (!built) throw new Error(`packages/cli/dist is missing: run \`pnpm build\` first (${dist})`);
    // Help on stdout: before, an unhandled EPIPE stack trace on stderr and exit code 1.
    for (const args of [
      ['kms-local', '--help'],
      ['--help'],
      ['keys', 'list', '--config', workspace.config],
    ]) {
      const run = await withClosedPipe(args, 'stdout');
      expect(run, args.join(' ')).toEqual({ code: 0, signal: null, other: '' });
    }
    // A configuration error on stderr: still exit code 2, not a crash.
    const failed = await withClosedPipe(['keys', 'describe', 'nope', '--config', workspace.config], 'stderr');
    expect(failed).toEqual({ code: 2, signal: null, other: '' });
  });
});
