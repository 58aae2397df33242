import type { ComparisonCheck, ComparisonReport, KeyRefs } from '@keyswitch/conformance';
import { EXIT, usageError } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { listenForInterruption } from '../lib/interruption.js';
import { writeLine } from '../lib/io.js';
import { importThroughBackend } from '../lib/key-importer.js';
import { keysFromConfig } from '../lib/keys-from-config.js';
import { errorJson, writeJson } from '../lib/output.js';
import { ProviderSource } from '../lib/provider-source.js';
import { writeReports } from '../lib/report-files.js';
import { newRunId } from '../lib/run-id.js';
import { type RunKey, RunKeys } from '../lib/run-keys.js';
import { type ConformanceOptions, parseLabelPrefix, reportSweep } from './conformance.js';

/**
 * `keyswitch conformance --provider A --compare B` (or `--compare-config FILE --compare-provider B`): the
 * same inputs through both providers with `compareProviders`, every difference printed, a JSON report
 * written. Exit 1 when a difference is breaking (any difference with `--strict`).
 */
export async function runComparison(context: CommandContext, options: ConformanceOptions): Promise<number> {
  const providerA = options.provider!;
  if (
    options.compare !== undefined &&
    (options.compareConfig !== undefined || options.compareProvider !== undefined)
  ) {
    throw usageError(
      'give --compare PROVIDER, or --compare-config FILE with --compare-provider NAME, not both',
    );
  }
  if (options.compareConfig !== undefined && options.compareProvider === undefined) {
    throw usageError('--compare-config needs --compare-provider NAME');
  }
  if (options.groups !== undefined)
    throw usageError('--groups applies to a conformance run, not to --compare');
  const configA = context.configPath();
  const configB = options.compareConfig ?? configA;
  const providerB = options.compare ?? options.compareProvider!;
  if (configB === configA && providerB === providerA)
    throw usageError(`--compare: provider ${providerA} compared with itself`);
  const label = parseLabelPrefix(options.labelPrefix);
  const { compareProviders, formatComparison } = await import('@keyswitch/conformance');
  const { stdout, stderr } = context.io;

  const keys: { a?: KeyRefs; b?: KeyRefs } = {};
  if (options.keysFromConfig) {
    keys.a = await provisioned(context, configA, providerA, 'a');
    keys.b = await provisioned(context, configB, providerB, 'b');
  }
  const runKeys = new RunKeys();
  for (const ref of [keys.a?.lifecycle ?? [], keys.b?.lifecycle ?? []].flat()) runKeys.permit(ref);
  const a = new ProviderSource(context, configA, providerA, runKeys, 'a');
  const b = new ProviderSource(context, configB, providerB, runKeys, 'b');
  let report: ComparisonReport | undefined;
  let sweep: readonly RunKey[] = [];
  const interruption = listenForInterruption(
    context.io,
    'keyswitch: interrupted; stopping after the check in progress, then cleaning up (Ctrl-C again to quit at once)',
  );
  try {
    await a.open(true);
    await b.open(true);
    const importer = (source: ProviderSource) =>
      !options.keysFromConfig &&
      source.canImport &&
      (source.type === 'soft-hsm' || options.importKeys === true)
        ? importThroughBackend
        : undefined;
    const importA = importer(a);
    const importB = importer(b);
    writeLine(stderr, `comparing a = ${providerA} (${a.type}) with b = ${providerB} (${b.type})`);
    report = await compareProviders({
      a: a.shared!,
      b: b.shared!,
      runId: newRunId(),
      signal: interruption.signal,
      onProgress: (check) => writeLine(stderr, progressLine(check)),
      ...(keys.a || keys.b ? { keys } : {}),
      ...(importA || importB
        ? { importKey: { ...(importA ? { a: importA } : {}), ...(importB ? { b: importB } : {}) } }
        : {}),
      ...(label ? { label } : {}),
    });
  } finally {
    interruption.dispose();
    sweep = await runKeys
      .cleanUp(async (side) => (side === 'b' ? b : a).provider())
      .catch(() => runKeys.keys);
    await a.close();
    await b.close();
  }
  const text = formatComparison(report);
  const files = await writeReports(context.cwd, options.reportDir, {
    [`compare-${report.runId}.json`]: JSON.stringify(report, null, 2),
    [`compare-${report.runId}.txt`]: text,
  });
  const { breaking, differences } = report.summary;
  const failure = interruption.signal.aborted
    ? {
        code: 'INTERRUPTED',
        message: `the comparison was stopped after ${report.summary.checks} checks`,
      }
    : breaking > 0 || (options.strict && differences > 0)
      ? {
          code: 'DIFFERENCES',
          message: `${differences} differences between ${providerA} and ${providerB}, ${breaking} breaking`,
        }
      : undefined;
  if (options.json) {
    reportSweep(context, sweep, false);
    writeJson(stdout, { ...report, reportFiles: files, ...(failure ? errorJson(failure) : {}) });
  } else {
    writeLine(stdout, text.trimEnd());
    writeLine(stdout, '');
    reportSweep(context, sweep, true);
    writeLine(stdout, `reports: ${files.join(', ')}`);
    if (failure) writeLine(stderr, `keyswitch: ${failure.code}: ${failure.message}`);
  }
  if (interruption.signal.aborted) return EXIT.interrupted;
  return failure ? EXIT.failure : EXIT.ok;
}

async function provisioned(
  context: CommandContext,
  config: string | undefined,
  provider: string,
  side: 'a' | 'b',
) {
  return withKeyswitch(
    context,
    async (keyswitch) => {
      await keyswitch.provider(provider);
      const found = keysFromConfig(keyswitch, provider);
      writeLine(
        context.io.stderr,
        `${side} = ${provider}: using ${found.keys.length} configured keys; creating none`,
      );
      return found.refs;
    },
    config,
  );
}

function progressLine(check: ComparisonCheck): string {
  const verdict = !check.compared
    ? `not compared: ${check.note ?? ''}`
    : check.differences.length === 0
      ? 'same'
      : `${check.differences.length} difference(s)${check.differences.some((d) => d.severity === 'breaking') ? ', breaking' : ''}`;
  return `  ${check.area} › ${check.name}: ${verdict}`;
}
