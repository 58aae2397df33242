import type { ConformanceReport, GroupId, KeyRefs } from '@keyswitch/conformance';
import { counted } from '@keyswitch/core';
import type { Command } from 'commander';
import { EXIT, usageError } from '../lib/cli-error.js';
import { ConformanceProgress } from '../lib/conformance-progress.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { listenForInterruption } from '../lib/interruption.js';
import { writeLine } from '../lib/io.js';
import { importThroughBackend } from '../lib/key-importer.js';
import { keysFromConfig } from '../lib/keys-from-config.js';
import { errorJson, JSON_OPTION, writeJson } from '../lib/output.js';
import { ProviderSource } from '../lib/provider-source.js';
import { writeReports } from '../lib/report-files.js';
import { LABEL_PREFIX_PATTERN, newRunId } from '../lib/run-id.js';
import { type RunKey, RunKeys } from '../lib/run-keys.js';
import { runComparison } from './conformance-compare.js';

/** The options of `keyswitch conformance`. */
export interface ConformanceOptions {
  readonly provider?: string;
  readonly groups?: string;
  readonly keysFromConfig?: boolean;
  readonly reportDir: string;
  readonly labelPrefix?: string;
  readonly timeoutMs?: string;
  readonly sharedProvider?: boolean;
  readonly importKeys?: boolean;
  readonly compare?: string;
  readonly compareConfig?: string;
  readonly compareProvider?: string;
  readonly strict?: boolean;
  readonly json?: boolean;
}

/** How long a run may take to stop after Ctrl-C before the command cleans up without it. */
const STOP_GRACE_MS = 30_000;

/**
 * `keyswitch conformance --provider NAME`: runs the conformance suite against a configured backend and
 * writes JSON and JUnit reports; with `--compare`, runs two backends side by side and reports every
 * difference.
 */
export function registerConformance(program: Command, context: CommandContext): void {
  program
    .command('conformance')
    .description('run the conformance suite against a configured provider, or compare two providers')
    .option('--provider <name>', 'the provider of the configuration to test')
    .option(
      '--groups <list>',
      'comma-separated groups (default all): keys, signing, encryption, mac, key-agreement, data-keys, random, errors, concurrency',
    )
    .option(
      '--keys-from-config',
      "create no keys: run only against the provider's keys named in the configuration",
    )
    .option('--report-dir <dir>', 'where to write the reports', './conformance-reports')
    .option(
      '--label-prefix <prefix>',
      'prefix of the labels of keys the run creates (default keyswitch-conformance)',
    )
    .option('--timeout-ms <n>', 'time limit of each check, in milliseconds (default 60000)')
    .option(
      '--shared-provider',
      'use one provider instance for the whole run instead of a fresh one per group',
    )
    .option(
      '--import-keys',
      'let the suite import test key material where the backend can (default: software HSM only)',
    )
    .option(
      '--compare <provider>',
      'side-by-side mode: compare --provider with this provider of the same configuration',
    )
    .option('--compare-config <file>', 'side-by-side mode: the configuration of the other provider')
    .option('--compare-provider <name>', 'side-by-side mode: the provider in --compare-config')
    .option('--strict', 'side-by-side mode: exit 1 on any difference, not only on breaking ones')
    .option(...JSON_OPTION)
    .action(async (options: ConformanceOptions) => {
      if (options.provider === undefined) throw usageError('conformance needs --provider NAME');
      if (
        options.compare !== undefined ||
        options.compareConfig !== undefined ||
        options.compareProvider !== undefined
      ) {
        context.exitCode = await runComparison(context, options);
      } else {
        context.exitCode = await runSuite(context, options, options.provider);
      }
    });
}

/** `--groups a,b` as a list of the suite's groups. */
export function parseGroups(groups: string | undefined, known: readonly string[]): GroupId[] | undefined {
  if (groups === undefined) return undefined;
  const list = groups
    .split(',')
    .map((group) => group.trim())
    .filter(Boolean);
  if (list.length === 0) throw usageError('--groups needs at least one group');
  const unknown = list.filter((group) => !known.includes(group));
  if (unknown.length)
    throw usageError(`unknown group ${unknown.join(', ')} in --groups; the groups are ${known.join(', ')}`);
  return list as GroupId[];
}

/** `--timeout-ms` as a number. */
export function parseTimeout(timeout: string | undefined): number | undefined {
  if (timeout === undefined) return undefined;
  const value = Number(timeout);
  if (!Number.isInteger(value) || value < 1) throw usageError('--timeout-ms must be a positive integer');
  return value;
}

/** `--label-prefix`, checked. */
export function parseLabelPrefix(prefix: string | undefined): string | undefined {
  if (prefix !== undefined && !LABEL_PREFIX_PATTERN.test(prefix)) {
    throw usageError('--label-prefix must be 1 to 100 letters, digits, _ or -');
  }
  return prefix;
}

async function runSuite(
  context: CommandContext,
  options: ConformanceOptions,
  providerName: string,
): Promise<number> {
  // Imported when used, so the other commands work without the suite's code.
  const { CONFORMANCE_GROUPS, runConformance, toJson, toJUnitXml, formatSummaryTable } = await import(
    '@keyswitch/conformance'
  );
  const groups = parseGroups(
    options.groups,
    CONFORMANCE_GROUPS.map((group) => group.id),
  );
  const timeoutMs = parseTimeout(options.timeoutMs);
  const label = parseLabelPrefix(options.labelPrefix);
  const { stdout, stderr } = context.io;
  let keys: KeyRefs | undefined;
  if (options.keysFromConfig) {
    keys = await withKeyswitch(context, async (keyswitch) => {
      await keyswitch.provider(providerName);
      const provisioned = keysFromConfig(keyswitch, providerName);
      writeLine(
        stderr,
        `using ${provisioned.keys.length} configured keys; the run creates none and changes none:`,
      );
      for (const key of provisioned.keys) writeLine(stderr, `  ${key.name} (${key.ref}) for ${key.purpose}`);
      return provisioned.refs;
    });
  }
  const runId = newRunId();
  const runKeys = new RunKeys();
  for (const ref of [keys?.lifecycle ?? []].flat()) runKeys.permit(ref);
  const source = new ProviderSource(context, context.configPath(), providerName, runKeys);
  try {
    await source.open(options.sharedProvider === true);
  } catch (error) {
    await source.close();
    throw error;
  }
  if (source.shared && !options.sharedProvider) {
    writeLine(
      stderr,
      `note: provider ${providerName} is a keystore file that one process opens once; the run shares one instance`,
    );
  }
  const importing =
    !options.keysFromConfig &&
    source.canImport &&
    (source.type === 'soft-hsm' || options.importKeys === true);
  const interruption = listenForInterruption(
    context.io,
    'keyswitch: interrupted; stopping after the check in progress, then cleaning up (Ctrl-C again to quit at once)',
  );
  const progress = new ConformanceProgress(stderr);
  let report: ConformanceReport | undefined;
  let failure: unknown;
  let sweep: readonly RunKey[] = [];
  try {
    const running = runConformance({
      ...(source.shared ? { provider: source.shared } : { createProvider: () => source.provider() }),
      runId,
      signal: interruption.signal,
      onProgress: progress.onEvent,
      ...(groups ? { groups } : {}),
      ...(keys ? { keys } : {}),
      // The backend names its own nonexistent key, so KEY_NOT_FOUND is checked with a well-formed reference.
      ...(source.nonexistentKeyRef ? { missingKeyRef: source.nonexistentKeyRef } : {}),
      ...(label ? { label } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(importing ? { importKey: importThroughBackend } : {}),
    });
    report = await untilStoppedOrGrace(running, interruption.signal);
    if (report === undefined)
      writeLine(stderr, 'keyswitch: the run did not stop in time; cleaning up without it');
  } catch (error) {
    failure = error;
  } finally {
    progress.stop();
    interruption.dispose();
    // Whatever happened, every key the run created ends scheduled for deletion (or disabled).
    sweep = await runKeys.cleanUp(async () => source.provider()).catch(() => runKeys.keys);
    await source.close();
  }
  if (failure !== undefined) {
    reportSweep(context, sweep, false);
    throw failure;
  }
  const aborted = interruption.signal.aborted;
  if (report === undefined) {
    reportSweep(context, sweep, !options.json);
    if (options.json)
      writeJson(
        stdout,
        errorJson({ code: 'INTERRUPTED', message: 'the run did not stop in time; cleaned up without it' }),
      );
    return EXIT.interrupted;
  }
  const base = `conformance-${report.runId}`;
  const json = JSON.parse(toJson(report)) as Record<string, unknown>;
  const extra = sweep.filter((key) => key.action !== 'already-scheduled' && key.action !== 'gone');
  const files = await writeReports(context.cwd, options.reportDir, {
    [`${base}.json`]: JSON.stringify(extra.length ? { ...json, commandCleanup: extra } : json, null, 2),
    [`${base}.junit.xml`]: toJUnitXml(report),
    [`${base}.txt`]: formatSummaryTable(report),
  });
  const outcome = aborted
    ? {
        code: 'INTERRUPTED',
        message: `the run was stopped; ${counted(report.summary.total, 'check')} reported`,
      }
    : report.summary.ok
      ? undefined
      : {
          code: 'CONFORMANCE_FAILED',
          message: `${report.summary.failed} of ${counted(report.summary.total, 'check')} failed`,
        };
  if (options.json) {
    // The report as written to the JSON file, where the files are, and the failure, if any.
    reportSweep(context, sweep, false);
    writeJson(stdout, {
      ...json,
      ...(extra.length ? { commandCleanup: extra } : {}),
      reportFiles: files,
      ...(outcome ? errorJson(outcome) : {}),
    });
  } else {
    writeLine(stdout, formatSummaryTable(report).trimEnd());
    writeLine(stdout, '');
    reportSweep(context, sweep, true);
    writeLine(stdout, `reports: ${files.join(', ')}`);
    if (outcome) writeLine(stderr, `keyswitch: ${outcome.code}: ${outcome.message}`);
  }
  if (aborted) return EXIT.interrupted;
  return outcome ? EXIT.failure : EXIT.ok;
}

/** The run's report, or `undefined` when it was aborted and did not stop within the grace period. */
async function untilStoppedOrGrace<T>(running: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<undefined>((resolve) => {
    const start = () => {
      timer = setTimeout(() => resolve(undefined), STOP_GRACE_MS);
      timer.unref();
    };
    if (signal.aborted) start();
    else signal.addEventListener('abort', start, { once: true });
  });
  // If the grace period wins, the run's eventual failure must not go unhandled.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, grace]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Prints what the command's own cleanup did, when it had anything to do: the runner cleans up each group
 * itself, and the summary table says so; this is the safety net for runs that were cut short.
 */
export function reportSweep(context: CommandContext, keys: readonly RunKey[], toStdout: boolean): void {
  const stream = toStdout ? context.io.stdout : context.io.stderr;
  if (keys.every((key) => key.action === 'already-scheduled' || key.action === 'gone')) return;
  const count = (action: RunKey['action']) => keys.filter((key) => key.action === action).length;
  const scheduled = count('scheduled-deletion') + count('already-scheduled');
  writeLine(
    stream,
    `cleanup: of ${counted(keys.length, 'key')} created by the run, ${scheduled} ${scheduled === 1 ? 'is' : 'are'} scheduled for deletion, ${count('disabled')} disabled, ${count('gone')} already gone, ${count('left')} left`,
  );
  for (const key of keys.filter((candidate) => candidate.action === 'left')) {
    writeLine(
      context.io.stderr,
      `keyswitch: CLEANUP_FAILED: key ${key.ref} (${key.label ?? 'no label'}) in ${key.provider}: ${key.error}`,
    );
  }
}
