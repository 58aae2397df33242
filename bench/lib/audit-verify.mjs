/**
 * The audit-verify cell (run by bench/run.mjs in a process of its own): writes an audit file of N lines
 * with the real AuditFileSink, then times `verifyAuditFile` on it intact and with every other line removed
 * (the shape that was quadratic), against a raw baseline that reads the same file and hashes each line
 * (the least work any verifier must do). Usage:
 *   node --expose-gc bench/lib/audit-verify.mjs LINES RESULT_FILE
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { importPackage } from './workspace.mjs';

const [linesText, resultFile] = process.argv.slice(2);
const lines = Number(linesText);
if (!Number.isSafeInteger(lines) || lines < 1 || !resultFile) {
  process.stderr.write('usage: node bench/lib/audit-verify.mjs LINES RESULT_FILE\n');
  process.exit(2);
}
const { AuditFileSink, verifyAuditFile } = await importPackage('core');
const dir = mkdtempSync(join(tmpdir(), 'keyswitch-bench-audit-'));
try {
  const intact = join(dir, 'intact.jsonl');
  const sink = await AuditFileSink.open(intact, { fsync: 'never' });
  const writeStarted = performance.now();
  for (let i = 0; i < lines; i++) {
    sink.append({
      time: new Date(1_750_000_000_000 + i).toISOString(),
      operation: i % 2 === 0 ? 'sign' : 'encrypt',
      keyName: 'acs-signing',
      provider: 'hsm',
      providerType: 'pkcs11',
      keyRef: 'pkcs11:object=acs-signing;type=private',
      algorithm: 'ECDSA_SHA_256',
      outcome: 'success',
      durationMs: (i % 997) / 8,
    });
    if (i % 10_000 === 9_999) await sink.flush();
  }
  await sink.close();
  const writeSeconds = (performance.now() - writeStarted) / 1000;

  const halved = join(dir, 'every-other-line-removed.jsonl');
  await new Promise((resolve, reject) => {
    const out = createWriteStream(halved);
    let index = 0;
    const input = createInterface({ input: createReadStream(intact), crlfDelay: Number.POSITIVE_INFINITY });
    input.on('line', (line) => {
      if (index++ % 2 === 0) out.write(`${line}\n`);
    });
    input.on('close', () => out.end(resolve));
    input.on('error', reject);
  });

  const raw = await timed(async () => {
    let count = 0;
    const input = createInterface({ input: createReadStream(intact), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of input) {
      createHash('sha256')
        .update(JSON.stringify(JSON.parse(line).event))
        .digest('hex');
      count++;
    }
    return count;
  });
  const verified = await timed(() => verifyAuditFile(intact));
  const broken = await timed(() => verifyAuditFile(halved));
  if (!verified.value.ok || verified.value.records !== lines)
    throw new Error('the intact file did not verify');
  if (broken.value.ok) throw new Error('the file with lines removed verified');
  await writeFile(
    resultFile,
    JSON.stringify({
      lines,
      writeSeconds: round(writeSeconds),
      rawSeconds: round(raw.seconds),
      intactSeconds: round(verified.seconds),
      intactRatio: round(verified.seconds / raw.seconds),
      brokenLines: Math.ceil(lines / 2),
      brokenSeconds: round(broken.seconds),
      brokenIssues: broken.value.issues.length,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function timed(body) {
  globalThis.gc?.();
  const started = performance.now();
  const value = await body();
  return { value, seconds: (performance.now() - started) / 1000 };
}

function round(value) {
  return Math.round(value * 100) / 100;
}
