/**
 * A throwaway SoftHSM2 token for the PKCS#11 benchmark, made by the project's own scripts/test-tokens.sh
 * in a temporary directory that is removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './workspace.mjs';

/**
 * Creates the tokens. Returns the environment the script exports (SOFTHSM2_CONF, KEYSWITCH_SOFTHSM2_*),
 * or the reason they could not be made.
 *
 * @returns {{ ok: true, env: Record<string, string>, dir: string, remove: () => void } | { ok: false, reason: string }}
 */
export function createTestTokens() {
  const dir = mkdtempSync(join(tmpdir(), 'keyswitch-bench-tokens-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'test-tokens.sh'), dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.status !== 0) {
    remove();
    const why = (result.stderr || result.error?.message || '').trim().split('\n').at(-1);
    return { ok: false, reason: `scripts/test-tokens.sh failed: ${why}` };
  }
  /** @type {Record<string, string>} */
  const env = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) env[match[1]] = unquote(match[2]);
  }
  if (!env.SOFTHSM2_CONF || !env.KEYSWITCH_SOFTHSM2_MODULE || !env.KEYSWITCH_SOFTHSM2_PIN) {
    remove();
    return { ok: false, reason: 'scripts/test-tokens.sh did not export the SoftHSM2 token' };
  }
  return { ok: true, env, dir, remove };
}

/** Undoes bash's `printf %q` for the values the script prints (paths, hex PINs, labels). */
function unquote(value) {
  if (value.startsWith("$'")) return value.slice(2, -1).replace(/\\(.)/g, '$1');
  if (value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  return value.replace(/\\(.)/g, '$1');
}
