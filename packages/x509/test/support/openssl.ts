import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The openssl binary's version line, or `undefined` when there is none on PATH. */
function findOpenssl(): string | undefined {
  const result = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export const opensslVersion = findOpenssl();

/**
 * Whether the OpenSSL checks run. Under CI=true a missing openssl fails the suite (DESIGN: never a silent
 * skip in CI); elsewhere the checks are skipped with a warning.
 */
export const opensslAvailable = (() => {
  if (opensslVersion !== undefined) return true;
  if (process.env['CI'] === 'true') {
    throw new Error('[keyswitch] openssl is not on PATH; CI needs it to verify CSRs and certificates');
  }
  console.warn('[keyswitch] openssl not found: OpenSSL cross-checks are skipped (they fail under CI=true)');
  return false;
})();

/** Runs openssl in a temporary directory holding `files`; returns stdout, throws with stderr on failure. */
export function openssl(args: readonly string[], files: Readonly<Record<string, string>> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyswitch-x509-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string };
    throw new Error(`openssl ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? ''}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
