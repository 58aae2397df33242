import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Where the repository's root is, for scripts and examples. */
export const repositoryRoot = join(import.meta.dirname, '..', '..');

const CI = process.env.CI === 'true';

/**
 * A throwaway SoftHSM2 token made by the project's own `scripts/test-tokens.sh` in `dir`, and the
 * environment the example configurations read (`SOFTHSM2_CONF`, `KEYSWITCH_SOFTHSM2_*`). Returns a skip
 * reason when the token cannot be made — except under CI=true, where that is a failure.
 */
export function softHsm2Tokens(dir: string, who: string): { env: Record<string, string> } | { skip: string } {
  try {
    const output = execFileSync(
      'bash',
      ['-c', 'eval "$("$0" "$1")" && env -0', join(repositoryRoot, 'scripts/test-tokens.sh'), dir],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
    );
    const env: Record<string, string> = {};
    for (const entry of output.split('\0')) {
      const equals = entry.indexOf('=');
      const name = entry.slice(0, equals);
      if (name.startsWith('KEYSWITCH_SOFTHSM2_') || name === 'SOFTHSM2_CONF')
        env[name] = entry.slice(equals + 1);
    }
    return { env };
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? error);
    const reason = `scripts/test-tokens.sh failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
    if (CI) throw new Error(`${reason} (CI=true: a missing SoftHSM2 token or module is a failure)`);
    console.warn(`\n[${who}] SKIPPING SoftHSM2: ${reason}\n`);
    return { skip: reason };
  }
}
