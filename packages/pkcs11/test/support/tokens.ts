import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The environment scripts/test-tokens.sh prints, for one run. */
export interface TestTokens {
  readonly dir: string;
  readonly env: Readonly<Record<string, string>>;
  /** Removes the token directory. */
  readonly remove: () => void;
}

const script = fileURLToPath(new URL('../../../../scripts/test-tokens.sh', import.meta.url));

/**
 * Creates throwaway SoftHSM2 and NSS tokens for this test file with the project's own script, in a fresh
 * temporary directory, and exports their environment into this process (SoftHSM2 reads SOFTHSM2_CONF at
 * C_Initialize; vitest runs each test file in its own process). Returns a skip reason instead when the
 * tokens cannot be made; under CI=true that is a failure, never a skip.
 */
export function createTestTokens(): TestTokens | { readonly skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'keyswitch-pkcs11-test-'));
  let output: string;
  try {
    // eval the script's output in bash, as a user would, then print the environment NUL-separated.
    output = execFileSync('bash', ['-c', 'eval "$("$0" "$1")" && env -0', script, dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const reason = `scripts/test-tokens.sh failed: ${stderr.trim().split('\n').slice(-3).join(' | ') || String(error)}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: a missing token is a failure)`);
    console.warn(`\n[keyswitch pkcs11 tests] SKIPPING: ${reason}\n`);
    return { skip: reason };
  }
  const env: Record<string, string> = {};
  for (const entry of output.split('\0')) {
    const equals = entry.indexOf('=');
    const name = entry.slice(0, equals);
    if (name.startsWith('KEYSWITCH_') || name === 'SOFTHSM2_CONF') env[name] = entry.slice(equals + 1);
  }
  Object.assign(process.env, env);
  return { dir, env, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
