#!/usr/bin/env node
/**
 * `pnpm bench`: every backend on this machine against its raw baseline, and a PKCS#11 head-to-head
 * (keyswitch, raw pkcs11js, graphene-pk11, node-webcrypto-p11, each in a process of its own) with start-up.
 * Writes bench/results/latest.json and the generated section of docs/performance.md. Budgets print PASS
 * or FAIL and never set the exit code (a backend that cannot run does, under CI=true, as tests do).
 *   pnpm bench                                  # everything, about 6 minutes on 2 cores
 *   pnpm bench -- --backends head-to-head --duration 3
 *   pnpm bench -- --quick                       # a smoke run: short cells, writes nothing
 * Options: --backends soft-hsm,pkcs11,aws-kms,head-to-head  --concurrency 1,8,64  --duration SECONDS
 * (per side per cell, default 1.2)  --memory-operations N (default 100000)  --startup-runs N (default 7)
 * --audit-lines N (the audit-verify cell, default 1000000; 0 skips it)  --soak N (aws-kms and pkcs11: N ECDSA signs
 * each, RSS and heap sampled; e.g. 1000000)  --quick  --no-write  --help
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import {
  CONTENDERS,
  runHeadToHead,
  runNssEventLoop,
  runStartup,
  STARTUP_MODES,
} from './lib/head-to-head.mjs';
import { headToHeadBudgets, headToHeadConsole, headToHeadMarkdown } from './lib/head-to-head-report.mjs';
import { EVENT_LOOP_RESOLUTION_MS, SEGMENT_MS } from './lib/measure.mjs';
import { budgetLines, checkBudgets, consoleSummary, MARKERS, markdown } from './lib/report.mjs';
import { createTestTokens } from './lib/tokens.mjs';
import { dependencyVersion, missingBuilds, PACKAGES, ROOT } from './lib/workspace.mjs';

const BACKENDS = ['soft-hsm', 'pkcs11', 'aws-kms', 'head-to-head'];
const RESULTS = join(ROOT, 'bench', 'results', 'latest.json');
const DOCS = join(ROOT, 'docs', 'performance.md');

const options = parseArguments(process.argv.slice(2));
const say = (line) => process.stderr.write(`[bench] ${line}\n`);

// ---- the built packages ----------------------------------------------------------------------------
const missing = missingBuilds();
if (missing.length > 0) {
  say(`no build of ${missing.join(', ')}: running pnpm build first`);
  const build = spawnSync('pnpm', ['build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0 || missingBuilds().length > 0) {
    say('pnpm build failed; the benchmark runs on the built packages');
    process.exit(1);
  }
} else {
  const stale = PACKAGES.filter(isStale);
  if (stale.length > 0)
    say(`note: the build of ${stale.join(', ')} is older than its sources; run pnpm build to measure them`);
}

// ---- each backend in a process of its own ----------------------------------------------------------
const machine = describeMachine();
const backends = [];
const skipped = [];
let headToHead;
let startup;
let nss;
let audit;
const scratch = mkdtempSync(join(tmpdir(), 'keyswitch-bench-'));
const startedAt = Date.now();
try {
  for (const backend of options.backends) {
    let env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    let cleanup = () => undefined;
    if (backend === 'head-to-head') {
      // PKCS#11 against raw pkcs11js, graphene-pk11 and node-webcrypto-p11, each in a process of its own
      // (this process only orchestrates), then start-up in fresh processes.
      const tokens = createTestTokens();
      if (!tokens.ok) {
        skipped.push({ backend, reason: tokens.reason });
        say(`head-to-head: NOT RUN: ${tokens.reason}`);
        continue;
      }
      machine.softhsm2 = softHsmVersion({ ...env, ...tokens.env });
      say('head-to-head: starting');
      try {
        const tokenEnv = { ...env, ...tokens.env };
        headToHead = await runHeadToHead({ env: tokenEnv, ...childOptions(options) });
        for (const [contender, reason] of Object.entries(headToHead.unavailable)) {
          skipped.push({ backend: `head-to-head ${contender}`, reason });
        }
        startup = runStartup({ env: tokenEnv, repeat: options.startupRepeat });
        try {
          nss = runNssEventLoop({ env: tokenEnv });
        } catch (error) {
          skipped.push({ backend: 'head-to-head NSS event loop', reason: String(error?.message ?? error) });
          say(`head-to-head: the NSS event-loop run failed: ${error?.message ?? error}`);
        }
      } catch (error) {
        skipped.push({ backend, reason: `the head-to-head failed: ${error?.message ?? error}` });
        say(`head-to-head: failed: ${error?.stack ?? error}`);
      } finally {
        tokens.remove();
      }
      continue;
    }
    if (backend === 'pkcs11') {
      const tokens = createTestTokens();
      if (!tokens.ok) {
        skipped.push({ backend, reason: tokens.reason });
        say(`pkcs11: NOT RUN: ${tokens.reason}`);
        continue;
      }
      env = { ...env, ...tokens.env };
      cleanup = tokens.remove;
      machine.softhsm2 = softHsmVersion(env);
    }
    say(`${backend}: starting`);
    const resultFile = join(scratch, `${backend}.json`);
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        join(ROOT, 'bench', 'lib', 'child.mjs'),
        backend,
        JSON.stringify(childOptions(options)),
        resultFile,
      ],
      { cwd: ROOT, env, stdio: 'inherit' },
    );
    cleanup();
    if (child.status !== 0 || !existsSync(resultFile)) {
      const reason = `the benchmark process failed (exit ${child.status ?? child.signal})`;
      skipped.push({ backend, reason });
      say(`${backend}: ${reason}`);
      continue;
    }
    backends.push(JSON.parse(readFileSync(resultFile, 'utf8')));
  }
  // The audit-verify cell: no backend, its own process (1M lines by default).
  if (options.auditLines > 0) {
    say(`audit verify: ${options.auditLines.toLocaleString('en')} lines`);
    const auditFile = join(scratch, 'audit-verify.json');
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', join(ROOT, 'bench', 'lib', 'audit-verify.mjs'), String(options.auditLines), auditFile],
      { cwd: ROOT, stdio: 'inherit' },
    );
    if (child.status === 0 && existsSync(auditFile)) audit = JSON.parse(readFileSync(auditFile, 'utf8'));
    else
      skipped.push({
        backend: 'audit-verify',
        reason: `the audit-verify process failed (exit ${child.status ?? child.signal})`,
      });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
machine.loadAverage.after = loadavg().map((value) => Math.round(value * 100) / 100);

// ---- budgets and reports -----------------------------------------------------------------------------
// The PKCS#11 operations the head-to-head measured are judged there, each contender in a process of its
// own; the same-process PKCS#11 cells of those operations are shown for reference.
const judgedElsewhere = new Set((headToHead?.cells ?? []).map((cell) => `pkcs11 ${cell.operation}`));
const budgets = [...checkBudgets(backends, judgedElsewhere), ...headToHeadBudgets(headToHead, startup, nss)];
const run = {
  machine,
  options: {
    ...childOptions(options),
    segmentMs: SEGMENT_MS,
    eventLoopResolutionMs: EVENT_LOOP_RESOLUTION_MS,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  },
  backends,
  headToHead,
  startup,
  nss,
  skipped,
  budgets,
  ...(audit ? { audit } : {}),
};
process.stdout.write(
  `${consoleSummary(run)}${headToHeadConsole(headToHead, CONTENDERS)}\n\nBudgets (timings are noisy: reported, never failing the run)\n`,
);
if (options.memoryOperations < 100_000) {
  process.stdout.write('  (a short run: the envelope and memory budgets need 100,000 operations)\n');
}
for (const line of budgetLines(budgets)) process.stdout.write(`  ${line}\n`);
if (audit) process.stdout.write(`\n${auditSummary(audit)}\n`);
for (const budget of budgets.filter((candidate) => !candidate.pass && candidate.failing.length > 0)) {
  process.stdout.write(
    `\n  ${budget.id} failing:\n${budget.failing.map((line) => `    ${line}`).join('\n')}\n`,
  );
}

if (options.write) {
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(`${RESULTS}.tmp`, `${JSON.stringify(run, null, 2)}\n`);
  await rename(`${RESULTS}.tmp`, RESULTS);
  const written = await updateDocs(
    [
      audit ? `${markdown(run)}\n\n### Audit verification\n\n${auditSummary(audit)}` : markdown(run),
      headToHeadMarkdown(headToHead, startup, CONTENDERS, STARTUP_MODES, nss),
    ]
      .join('\n')
      .trimEnd(),
  );
  say(
    `wrote bench/results/latest.json${written ? ' and docs/performance.md' : ''} (${run.options.seconds} s)`,
  );
} else {
  say(`nothing written (--no-write or --quick) (${run.options.seconds} s)`);
}
if (skipped.length > 0 && process.env.CI === 'true') {
  say(`CI: ${skipped.map((entry) => entry.backend).join(', ')} could not run`);
  process.exitCode = 1;
}

// ---- helpers -----------------------------------------------------------------------------------------

function parseArguments(argv) {
  const parsed = {
    backends: BACKENDS,
    concurrencies: [1, 8, 64],
    durationMs: 1200,
    warmupMs: 150,
    memoryOperations: 100_000,
    startupRepeat: 7,
    auditLines: 1_000_000,
    soakOperations: 0,
    write: true,
  };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    const value = () => {
      const next = argv[++index];
      if (next === undefined) usage(`${argument} needs a value`);
      return next;
    };
    switch (argument) {
      case '--':
        break;
      case '--backends': {
        const list = value()
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean);
        const unknown = list.filter((name) => !BACKENDS.includes(name));
        if (unknown.length > 0 || list.length === 0)
          usage(`--backends takes a list of ${BACKENDS.join(', ')}`);
        parsed.backends = list;
        break;
      }
      case '--concurrency': {
        const list = value().split(',').map(Number);
        if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 1024))
          usage('--concurrency takes a list of integers from 1 to 1024');
        parsed.concurrencies = list;
        break;
      }
      case '--duration': {
        const seconds = Number(value());
        if (!(seconds >= 0.1 && seconds <= 600)) usage('--duration takes seconds from 0.1 to 600');
        parsed.durationMs = Math.round(seconds * 1000);
        break;
      }
      case '--memory-operations': {
        const count = Number(value());
        if (!Number.isInteger(count) || count < 0) usage('--memory-operations takes a whole number');
        parsed.memoryOperations = count;
        break;
      }
      case '--startup-runs': {
        const count = Number(value());
        if (!Number.isInteger(count) || count < 1 || count > 100) usage('--startup-runs takes 1 to 100');
        parsed.startupRepeat = count;
        break;
      }
      case '--audit-lines': {
        const count = Number(value());
        if (!Number.isInteger(count) || count < 0)
          usage('--audit-lines takes a whole number (0 skips the cell)');
        parsed.auditLines = count;
        break;
      }
      case '--soak': {
        const count = Number(value());
        if (!Number.isInteger(count) || count < 0) usage('--soak takes a whole number of operations');
        parsed.soakOperations = count;
        break;
      }
      case '--quick':
        parsed.durationMs = 300;
        parsed.warmupMs = 50;
        parsed.memoryOperations = 2_000;
        parsed.startupRepeat = 2;
        parsed.auditLines = 20_000;
        parsed.write = false;
        break;
      case '--no-write':
        parsed.write = false;
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          `${readFileSync(new URL(import.meta.url), 'utf8')
            .split('\n')
            .slice(
              2,
              readFileSync(new URL(import.meta.url), 'utf8')
                .split('\n')
                .indexOf(' */'),
            )
            .filter((line) => line.startsWith(' *'))
            .map((line) => line.replace(/^ \* ?/, ''))
            .join('\n')}\n`,
        );
        process.exit(0);
        break;
      default:
        usage(`unknown argument ${argument}`);
    }
  }
  return parsed;
}

function usage(message) {
  process.stderr.write(`bench: ${message} (see node bench/run.mjs --help)\n`);
  process.exit(2);
}

/** One paragraph on the audit-verify cell: times, the ratio to the raw read-and-hash, memory. */
function auditSummary(result) {
  return (
    `audit verify: ${result.lines.toLocaleString('en')} lines written by the sink in ${result.writeSeconds} s; ` +
    `verified intact in ${result.intactSeconds} s (raw read + parse + SHA-256 per line: ${result.rawSeconds} s, ratio ${result.intactRatio}); ` +
    `with every other line removed (${result.brokenLines.toLocaleString('en')} lines, ${result.brokenIssues.toLocaleString('en')} findings) in ${result.brokenSeconds} s; ` +
    `peak RSS ${result.peakRssMB} MB.`
  );
}

function childOptions(parsed) {
  return {
    concurrencies: parsed.concurrencies,
    durationMs: parsed.durationMs,
    warmupMs: parsed.warmupMs,
    memoryOperations: parsed.memoryOperations,
    soakOperations: parsed.soakOperations,
  };
}

/** Whether a package's build is older than its newest source file. */
function isStale(name) {
  const built = statSync(join(ROOT, 'packages', name, 'dist', 'index.js')).mtimeMs;
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const path = join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }, 0);
  return newest(join(ROOT, 'packages', name, 'src')) > built;
}

function describeMachine() {
  const git = (args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    commit: `${commit || 'unknown commit'}${dirty ? ' with local changes' : ''}`,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cpus: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.versions.node,
    openssl: process.versions.openssl,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    pkcs11js: dependencyVersion('pkcs11', 'pkcs11js') ?? 'unknown',
    clientKms: dependencyVersion('aws-kms', '@aws-sdk/client-kms') ?? 'unknown',
    softhsm2: 'SoftHSM2 not used',
    loadAverage: { before: loadavg().map((value) => Math.round(value * 100) / 100), after: [] },
  };
}

function softHsmVersion(env) {
  const result = spawnSync('softhsm2-util', ['--version'], { env, encoding: 'utf8' });
  return result.status === 0 ? `SoftHSM2 ${result.stdout.trim()}` : 'SoftHSM2';
}

/** Replaces what is between the markers of docs/performance.md; the prose around them stays. */
async function updateDocs(section) {
  if (!existsSync(DOCS)) {
    say('docs/performance.md is missing: only bench/results/latest.json was written');
    return false;
  }
  const text = readFileSync(DOCS, 'utf8');
  const begin = text.indexOf(MARKERS.begin);
  const end = text.indexOf(MARKERS.end);
  if (begin === -1 || end < begin) {
    say(`docs/performance.md has no ${MARKERS.begin} … ${MARKERS.end} markers: left unchanged`);
    return false;
  }
  const updated = `${text.slice(0, begin + MARKERS.begin.length)}\n\n${section}\n\n${text.slice(end)}`;
  await writeFile(`${DOCS}.tmp`, updated);
  await rename(`${DOCS}.tmp`, DOCS);
  return true;
}
