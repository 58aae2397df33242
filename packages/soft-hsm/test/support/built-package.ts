import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const workspaceDir = join(packageDir, '../..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Child processes import the built package (dist), as an application would. `pnpm test` builds first;
 * when the build is missing (or older than the sources, while developing), build it and its
 * dependencies here.
 */
export function ensureBuiltPackage(): void {
  const dist = join(packageDir, 'dist/index.js');
  const coreDist = join(workspaceDir, 'packages/core/dist/index.js');
  const stale =
    !existsSync(dist) ||
    !existsSync(coreDist) ||
    statSync(dist).mtimeMs < newestSource(join(packageDir, 'src'));
  if (!stale) return;
  execFileSync('pnpm', ['--filter', '@keyswitch/soft-hsm...', 'run', 'build'], {
    cwd: workspaceDir,
    stdio: 'pipe',
  });
}

/** The child-process script's path. */
export const childScript = join(packageDir, 'test/fixtures/keystore-child.mjs');
