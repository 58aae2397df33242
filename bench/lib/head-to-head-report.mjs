import { ratioBudget } from './report.mjs';

/**
 * The budgets and the markdown of the PKCS#11 head-to-head and of start-up (issue 14): keyswitch against
 * raw pkcs11js, graphene-pk11 and node-webcrypto-p11, each in a process of its own, on one token.
 */

/** The head-to-head's budgets. */
export const HEAD_TO_HEAD_BUDGETS = {
  /** CPU keyswitch adds to an operation, µs. */
  addedCpuMicros: 10,
  /** Event-loop max over raw pkcs11js's, ms. */
  eventLoopOverRawMs: 2,
  /** Against the anchors, ECDSA P-256 at 8 in flight. */
  graphene: 1.1,
  webcrypto: 4,
  /** keyswitch (every call on a worker thread) against pkcs11js's asynchronous calls. */
  worker: 0.9,
  /** Start-up, ms. */
  importCoreMs: 40,
  fromConfigFirstSignMs: 30,
  /** NSS softokn, 48 RSA-2048 PSS signatures in flight: keyswitch's event-loop max, ms. */
  nssEventLoopMs: 60,
};

const B = HEAD_TO_HEAD_BUDGETS;

/**
 * @param {{ cells: any[], unavailable: Record<string, string> } | undefined} headToHead
 * @param {{ figures: Record<string, Record<string, { median: number, best: number }>>, repeat: number } | undefined} startup
 */
export function headToHeadBudgets(headToHead, startup, nss) {
  const budgets = [];
  const cells = headToHead?.cells ?? [];
  const notRun = {
    pass: false,
    notMeasured: true,
    measured: 'not measured: no head-to-head run (not requested, or it could not run: see above)',
    failing: [],
  };
  const name = (cell) => `${cell.operation} ×${cell.concurrency}`;
  const pairs = cells
    .map((cell) => ({ cell, ks: cell.results.keyswitch, raw: cell.results['raw-pkcs11js'] }))
    .filter(({ ks, raw }) => ks && raw);

  // 1. Throughput against raw pkcs11js.
  const ratioTitle = `PKCS#11, separate processes: keyswitch/raw pkcs11js ≥ ${ratioBudget('ecdsa-p256-sign')} ECDSA P-256, ≥ ${ratioBudget('rsa-2048-pss-sign')} RSA-2048 PSS, RSA decrypt, HMAC, ECDH, at every concurrency`;
  if (pairs.length === 0) budgets.push({ id: 'h2h-ratio', title: ratioTitle, ...notRun });
  else {
    const rated = pairs.map((pair) => ({ ...pair, ratio: pair.ks.opsPerSecond / pair.raw.opsPerSecond }));
    const below = rated.filter(({ cell, ratio }) => ratio < ratioBudget(cell.operation));
    const worst = rated.reduce((low, pair) => (pair.ratio < low.ratio ? pair : low));
    budgets.push({
      id: 'h2h-ratio',
      title: ratioTitle,
      pass: below.length === 0,
      measured: `${below.length} of ${rated.length} cells below; worst ${worst.ratio.toFixed(2)} (${name(worst.cell)})`,
      failing: below.map(({ cell, ratio }) => `${name(cell)}: ${ratio.toFixed(3)}`),
    });
  }

  // 2. Added CPU per operation.
  const cpuTitle = `PKCS#11, separate processes: CPU keyswitch adds per operation ≤ ${B.addedCpuMicros} µs (process.cpuUsage, all threads)`;
  if (pairs.length === 0) budgets.push({ id: 'h2h-cpu', title: cpuTitle, ...notRun });
  else {
    const added = pairs.map((pair) => ({
      ...pair,
      added: pair.ks.cpuMicrosPerOperation - pair.raw.cpuMicrosPerOperation,
    }));
    const over = added.filter(({ added: micros }) => micros > B.addedCpuMicros);
    const worst = added.reduce((high, pair) => (pair.added > high.added ? pair : high));
    budgets.push({
      id: 'h2h-cpu',
      title: cpuTitle,
      pass: over.length === 0,
      measured: `${over.length} of ${added.length} cells over; worst +${worst.added.toFixed(1)} µs (${name(worst.cell)}: ${worst.ks.cpuMicrosPerOperation} against ${worst.raw.cpuMicrosPerOperation} µs)`,
      failing: over.map(({ cell, added: micros }) => `${name(cell)}: +${micros.toFixed(1)} µs`),
    });
  }

  // 3. Event loop against raw's.
  const loopTitle = `PKCS#11, separate processes: event-loop max ≤ raw pkcs11js's + ${B.eventLoopOverRawMs} ms at every concurrency`;
  if (pairs.length === 0) budgets.push({ id: 'h2h-loop', title: loopTitle, ...notRun });
  else {
    const over = pairs.filter(({ ks, raw }) => ks.loopMaxMs > raw.loopMaxMs + B.eventLoopOverRawMs);
    const worst = pairs.reduce((high, pair) =>
      pair.ks.loopMaxMs - pair.raw.loopMaxMs > high.ks.loopMaxMs - high.raw.loopMaxMs ? pair : high,
    );
    budgets.push({
      id: 'h2h-loop',
      title: loopTitle,
      pass: over.length === 0,
      measured: `${over.length} of ${pairs.length} cells over; worst ${worst.ks.loopMaxMs} ms against ${worst.raw.loopMaxMs} ms (${name(worst.cell)}, idle control thread ${worst.ks.controlMaxMs} ms)`,
      failing: over.map(
        ({ cell, ks, raw }) =>
          `${name(cell)}: ${ks.loopMaxMs} ms against ${raw.loopMaxMs} ms (control ${ks.controlMaxMs} ms)`,
      ),
    });
  }

  // 4. Anchors at 8 in flight, ECDSA.
  const ecdsa8 = cells.find((cell) => cell.operation === 'ecdsa-p256-sign' && cell.concurrency === 8);
  for (const [id, anchor, target] of [
    ['h2h-graphene', 'graphene-pk11', B.graphene],
    ['h2h-webcrypto', 'node-webcrypto-p11', B.webcrypto],
  ]) {
    const title = `PKCS#11 ECDSA P-256 at 8 in flight: keyswitch ≥ ${target}× ${anchor}`;
    const ks = ecdsa8?.results.keyswitch;
    const other = ecdsa8?.results[anchor];
    if (!ks || !other) budgets.push({ id, title, ...notRun });
    else {
      const ratio = ks.opsPerSecond / other.opsPerSecond;
      budgets.push({
        id,
        title,
        pass: ratio >= target,
        measured: `${ratio.toFixed(2)}× (${fmt(ks.opsPerSecond)}/s against ${fmt(other.opsPerSecond)}/s)`,
        failing: [],
      });
    }
  }

  // 5. Worker execution: every PKCS#11 call of keyswitch runs on a worker thread, so keyswitch against
  // pkcs11js's asynchronous calls (libuv pool) is the worker's cost.
  const workerTitle = `PKCS#11 on worker threads (keyswitch) ≥ ${B.worker} of pkcs11js's asynchronous calls' throughput`;
  if (pairs.length === 0) budgets.push({ id: 'h2h-worker', title: workerTitle, ...notRun });
  else {
    const rated = pairs.map((pair) => ({ ...pair, ratio: pair.ks.opsPerSecond / pair.raw.opsPerSecond }));
    const below = rated.filter(({ ratio }) => ratio < B.worker);
    const worst = rated.reduce((low, pair) => (pair.ratio < low.ratio ? pair : low));
    budgets.push({
      id: 'h2h-worker',
      title: workerTitle,
      pass: below.length === 0,
      measured: `${below.length} of ${rated.length} cells below; worst ${worst.ratio.toFixed(2)} (${name(worst.cell)})`,
      failing: below.map(({ cell, ratio }) => `${name(cell)}: ${ratio.toFixed(3)}`),
    });
  }

  // 6. Start-up.
  const core = startup?.figures['import-core']?.importMs;
  budgets.push({
    id: 'startup-import',
    title: `import('@keyswitch/core') ≤ ${B.importCoreMs} ms`,
    ...(core
      ? {
          pass: core.median <= B.importCoreMs,
          measured: `median ${core.median} ms, best ${core.best} ms (${startup.repeat} fresh processes)`,
          failing: [],
        }
      : notRun),
  });
  const first = startup?.figures.keyswitch?.fromConfigAndFirstSignMs;
  const raw = startup?.figures['raw-pkcs11js']?.fromConfigAndFirstSignMs;
  budgets.push({
    id: 'startup-first-sign',
    title: `fromConfig + first signature on SoftHSM2 ≤ ${B.fromConfigFirstSignMs} ms`,
    ...(first
      ? {
          pass: first.median <= B.fromConfigFirstSignMs,
          measured: `median ${first.median} ms, best ${first.best} ms (raw pkcs11js from load to first signature: ${raw?.median ?? '–'} ms)`,
          failing: [],
        }
      : notRun),
  });
  budgets.push({
    id: 'nss-event-loop',
    title: `NSS softokn, 48 RSA-2048 PSS signatures in flight: event-loop max < ${B.nssEventLoopMs} ms`,
    ...(nss
      ? {
          pass: nss.keyswitchMaxMs < B.nssEventLoopMs,
          measured: `keyswitch ${nss.keyswitchMaxMs} ms (pkcs11js with C_SignInit on the main thread: ${nss.rawMaxMs} ms); ${nss.runs.length / 2} fresh processes each`,
          failing: [],
        }
      : notRun),
  });
  return budgets;
}

/**
 * The head-to-head's section of the generated results.
 *
 * @param {{ cells: any[], versions: Record<string, string>, unavailable: Record<string, string> } | undefined} headToHead
 * @param {any} startup
 * @param {{ id: string, label: string }[]} contenders
 * @param {{ id: string, label: string }[]} startupModes
 * @param {{ inFlight: number, runs: { mode: string, opsPerSecond: number, loopMaxMs: number }[] } | undefined} nss
 */
export function headToHeadMarkdown(headToHead, startup, contenders, startupModes, nss) {
  if (!headToHead) return '';
  const out = [];
  const versions = Object.entries(headToHead.versions)
    .map(([id, version]) => `${id} ${version}`)
    .join(', ');
  out.push('### PKCS#11 head-to-head on SoftHSM2: each contender in a process of its own');
  out.push('');
  out.push(
    `One token, the same keys, N sessions for N calls in flight in every contender (${versions}). ` +
      'keyswitch through its public API: `Keyswitch.fromConfig`, keys by RFC 7512 URI, ' +
      "`signer(name).sign(message, { format: 'P1363' })`. CPU is the contender process's own " +
      '(`process.cpuUsage`, all its threads) per operation, less what the same process uses idle (the ' +
      'event-loop monitor and control thread, measured once per process: a cost per second).',
  );
  out.push('');
  for (const [id, reason] of Object.entries(headToHead.unavailable)) {
    out.push(`**${id} did not run**: ${reason}`, '');
  }
  out.push(
    '| operation | in flight | contender | ops/s | keyswitch / this | CPU µs/op | p50 ms | p99 ms | loop max ms | control max ms | cores: ours / others |',
  );
  out.push('|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const cell of headToHead.cells) {
    const ks = cell.results.keyswitch;
    let first = true;
    for (const { id, label } of contenders) {
      const result = cell.results[id];
      if (!result) continue;
      const ratio = ks && id !== 'keyswitch' ? (ks.opsPerSecond / result.opsPerSecond).toFixed(2) : '';
      out.push(
        `| ${first ? `${cell.label}${cell.note ? `<br><sub>${cell.note}</sub>` : ''}` : ''} | ${first ? cell.concurrency : ''} | ${label} | ${fmt(result.opsPerSecond)} | ${ratio} | ${result.cpuMicrosPerOperation} | ${ms(result.p50Ms)} | ${ms(result.p99Ms)} | ${result.loopMaxMs.toFixed(1)} | ${result.controlMaxMs.toFixed(1)} | ${result.processCores.toFixed(2)} / ${result.otherCores === undefined ? '–' : result.otherCores.toFixed(2)} |` +
          (result.errors > 0 ? ` ⚠ ${result.errors} errors: ${result.firstError}` : ''),
      );
      first = false;
    }
  }
  out.push('');
  if (startup) {
    out.push(
      `Start-up, each in a fresh process (${startup.repeat} runs of each, interleaved; median, best in brackets; "process start" is the origin of \`performance.now()\`):`,
    );
    out.push('');
    out.push(
      '| what | import ms | fromConfig ms | first sign ms (open provider + capabilities + key and sign) | load → first signature ms | process start → first signature ms |',
    );
    out.push('|---|--:|--:|--:|--:|--:|');
    for (const { id, label } of startupModes) {
      const figures = startup.figures[id];
      const cell = (key) => (figures?.[key] ? `${figures[key].median} (${figures[key].best})` : '–');
      out.push(
        `| ${label} | ${cell('importMs')} | ${cell('fromConfigMs')} | ${cell('firstSignMs')}${figures?.openProviderMs ? ` (${figures.openProviderMs.median} + ${figures.capabilitiesMs.median} + ${figures.keyAndSignMs.median})` : ''} | ${cell('fromConfigAndFirstSignMs')} | ${cell('firstSignatureMs')} |`,
      );
    }
    out.push('');
  }
  if (nss) {
    out.push(
      `NSS softokn, ${nss.inFlight} RSA-2048 PSS signatures in flight for three rounds, each run in a fresh process (NSS decrypts the key in every C_SignInit, which pkcs11js runs synchronously):`,
    );
    out.push('');
    out.push('| run | ops/s | event-loop max ms |');
    out.push('|---|--:|--:|');
    for (const run of nss.runs) {
      out.push(
        `| ${run.mode === 'keyswitch' ? 'keyswitch (NSS profile)' : 'pkcs11js, C_SignInit on the main thread'} | ${run.opsPerSecond} | ${run.loopMaxMs} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/** Console lines for the head-to-head. */
export function headToHeadConsole(headToHead, contenders) {
  if (!headToHead) return '';
  const lines = ['', '== PKCS#11 head-to-head (each contender in a process of its own)'];
  for (const cell of headToHead.cells) {
    const ks = cell.results.keyswitch;
    for (const { id } of contenders) {
      const result = cell.results[id];
      if (!result) continue;
      lines.push(
        `   ${cell.operation.padEnd(18)} ${String(cell.concurrency).padStart(3)} ${id.padEnd(19)} ${fmt(result.opsPerSecond).padStart(8)}/s ${String(result.cpuMicrosPerOperation).padStart(7)} µs/op  loop ${result.loopMaxMs.toFixed(1).padStart(5)} ms` +
          (ks && id !== 'keyswitch'
            ? `  keyswitch/this ${(ks.opsPerSecond / result.opsPerSecond).toFixed(2)}`
            : ''),
      );
    }
  }
  return lines.join('\n');
}

function fmt(value) {
  return Math.round(value).toLocaleString('en-US');
}

function ms(value) {
  if (value === null || value === undefined) return '–';
  return value < 1 ? value.toFixed(3) : value < 100 ? value.toFixed(2) : value.toFixed(0);
}
