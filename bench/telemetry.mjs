#!/usr/bin/env node
/**
 * `pnpm bench:telemetry`: what telemetry costs per call. ECDSA P-256 signatures through a signer, on
 * the software HSM and on PKCS#11 (a SoftHSM2 token made by scripts/test-tokens.sh), each backend in a
 * process of its own. Every cell is a ratio against telemetry off in the same process and run,
 * measured in alternating segments; the first row, telemetry off against itself, is the noise.
 *   node bench/telemetry.mjs [--backends soft-hsm,pkcs11] [--concurrency 1,16] [--duration SECONDS]
 *                            [--baseline GIT_REF]   # also: telemetry off against the core at GIT_REF
 * Prints a Markdown table (docs/performance.md, "Telemetry"); writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBaselineCore } from './lib/baseline-core.mjs';
import { createTestTokens } from './lib/tokens.mjs';
import { missingBuilds, ROOT } from './lib/workspace.mjs';

const argument = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
};
const backends = argument('backends', 'soft-hsm,pkcs11').split(',');
const options = {
  concurrencies: argument('concurrency', '1,16').split(',').map(Number),
  durationMs: Number(argument('duration', '2')) * 1000,
  warmupMs: 200,
};
const say = (line) => process.stderr.write(`[bench] ${line}\n`);
if (missingBuilds().length > 0) {
  say(`no build of ${missingBuilds().join(', ')}: run pnpm build first`);
  process.exit(1);
}

const baselineRef = argument('baseline', undefined);
const baseline = baselineRef === undefined ? undefined : await buildBaselineCore(baselineRef);
if (baseline) options.baseline = { file: baseline.file, commit: baseline.commit };
const scratch = mkdtempSync(join(tmpdir(), 'keyswitch-bench-telemetry-'));
const cells = [];
const load = loadavg()[0];
let failed = false;
try {
  for (const backend of backends) {
    let env = { ...process.env };
    let cleanup = () => undefined;
    if (backend === 'pkcs11') {
      const tokens = createTestTokens();
      if (!tokens.ok) {
        say(`pkcs11: NOT RUN: ${tokens.reason}`);
        failed = process.env.CI === 'true';
        continue;
      }
      env = { ...env, ...tokens.env };
      cleanup = tokens.remove;
    }
    const resultFile = join(scratch, `${backend}.json`);
    const child = spawnSync(
      process.execPath,
      [join(ROOT, 'bench', 'lib', 'telemetry-cells.mjs'), backend, JSON.stringify(options), resultFile],
      { cwd: ROOT, env, stdio: 'inherit' },
    );
    cleanup();
    if (child.status !== 0 || !existsSync(resultFile)) {
      say(`${backend}: the benchmark process failed (exit ${child.status ?? child.signal})`);
      failed = true;
      continue;
    }
    cells.push(...JSON.parse(readFileSync(resultFile, 'utf8')));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
  baseline?.remove();
}

const rows = [
  `ECDSA P-256 sign, ${options.durationMs / 1000} s a side per cell, load average ${load.toFixed(2)} at the start; ratio = calls/s of the setting / calls/s of what it is measured against:`,
  '',
  '| backend | setting | against | in flight | calls/s | against calls/s | ratio |',
  '|---|---|---|---:|---:|---:|---:|',
  ...cells.map(
    (cell) =>
      `| ${cell.backend} | ${cell.label} | ${cell.against} | ${cell.concurrency} | ${Math.round(cell.opsPerSecond).toLocaleString('en')} | ${Math.round(cell.againstOpsPerSecond).toLocaleString('en')} | ${cell.ratio.toFixed(2)} |`,
  ),
];
process.stdout.write(`${rows.join('\n')}\n`);
process.exit(failed ? 1 : 0);
