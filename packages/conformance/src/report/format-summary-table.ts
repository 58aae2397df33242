import type { GroupId } from '../options.js';
import type { ConformanceReport, TestResult, TestStatus } from './report.js';

/**
 * A plain-text summary for a terminal: one row of counts per group and a total, every failure with its
 * reason, the distinct reasons checks were unsupported or skipped, what cleanup did, and PASS or FAIL.
 *
 * @example
 * ```ts
 * console.log(formatSummaryTable(report));
 * // keyswitch conformance: dev (soft-hsm), run m3x9k2ab-4f1a9c, 9.8 s
 * //
 * // group          passed  failed  unsupported  skipped
 * // keys              17       0            0        0
 * // …
 * ```
 */
export function formatSummaryTable(report: ConformanceReport): string {
  const statuses: TestStatus[] = ['passed', 'failed', 'unsupported', 'skipped'];
  const groups: GroupId[] = [...new Set(report.results.map((result) => result.group))];
  const rows: string[][] = [['group', ...statuses]];
  for (const group of groups) {
    const results = report.results.filter((result) => result.group === group);
    rows.push([
      group,
      ...statuses.map((status) => String(results.filter((result) => result.status === status).length)),
    ]);
  }
  rows.push(['total', ...statuses.map((status) => String(report.summary[status]))]);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  '),
  );

  const lines = [
    `keyswitch conformance: ${report.provider.name} (${report.provider.type}), run ${report.runId}, ${(report.durationMs / 1000).toFixed(1)} s${report.aborted ? ', ABORTED' : ''}`,
    '',
    ...table,
  ];
  const failures = report.results.filter((result) => result.status === 'failed');
  if (failures.length > 0) {
    lines.push('', 'Failed:');
    for (const result of failures)
      lines.push(`  ${result.group} › ${result.name}`, `      ${result.reason ?? ''}`);
  }
  for (const status of ['unsupported', 'skipped'] as const) {
    const reasons = countReasons(report.results.filter((result) => result.status === status));
    if (reasons.length === 0) continue;
    lines.push('', `${status[0]!.toUpperCase()}${status.slice(1)}:`);
    for (const [reason, count] of reasons) lines.push(`  ${String(count).padStart(4)} × ${reason}`);
  }
  const cleanup = report.cleanup.keys;
  const actions = (['scheduled-deletion', 'already-scheduled', 'disabled', 'left'] as const)
    .map((action) => [action, cleanup.filter((key) => key.action === action).length] as const)
    .filter(([, count]) => count > 0)
    .map(([action, count]) => `${count} ${action}`);
  lines.push(
    '',
    `Cleanup: ${cleanup.length} key(s) created${actions.length > 0 ? `: ${actions.join(', ')}` : ''}`,
  );
  const untracked = cleanup.filter((key) => key.untracked === true).length;
  if (untracked > 0) lines.push(`  ${untracked} of them found by the run tag, not reported as created`);
  // The same error on many keys is said once, with the number of keys.
  const errors = new Map<string, string[]>();
  for (const key of cleanup)
    if (key.error !== undefined) errors.set(key.error, [...(errors.get(key.error) ?? []), key.ref]);
  for (const [error, refs] of errors)
    lines.push(
      refs.length === 1 ? `  ${refs[0]}: ${error}` : `  ${refs.length} keys (${refs[0]}, …): ${error}`,
    );
  lines.push(
    '',
    report.aborted
      ? `ABORTED: ${report.summary.failed} check(s) failed before the run was stopped`
      : report.summary.ok
        ? 'PASS'
        : `FAIL: ${report.summary.failed} check(s) failed`,
  );
  return `${lines.join('\n')}\n`;
}

function countReasons(results: readonly TestResult[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const result of results) counts.set(result.reason ?? '', (counts.get(result.reason ?? '') ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}
