import type { ComparisonReport, Fact } from './comparison-report.js';

/**
 * A plain-text account of a comparison for a terminal: the two providers, counts, every breaking
 * difference and every notice (check, fact, a's and b's values, why it matters), checks that could not
 * be compared, and the verdict.
 *
 * @example
 * ```ts
 * console.log(formatComparison(await compareProviders({ a: kms, b: hsm })));
 * // keyswitch compare: a = kms (aws-kms), b = hsm (pkcs11), run m3x9k2ab-4f1a9c, 4.2 s
 * // 31 checks, 29 identical; 2 differences: 1 breaking, 1 notice
 * // Breaking:
 * //   encryption › SYMMETRIC_DEFAULT › wrongContext: a=INVALID_CIPHERTEXT b=INVALID_INPUT
 * ```
 */
export function formatComparison(report: ComparisonReport): string {
  const value = (fact: Fact | undefined) => (fact === undefined ? '(absent)' : String(fact));
  const { summary } = report;
  const lines = [
    `keyswitch compare: a = ${report.a.name} (${report.a.type}), b = ${report.b.name} (${report.b.type}), run ${report.runId}, ${(report.durationMs / 1000).toFixed(1)} s${report.aborted ? ', ABORTED' : ''}`,
    `${summary.checks} checks, ${summary.identical} identical; ${summary.differences} differences: ${summary.breaking} breaking, ${summary.notices} notice(s)`,
    report.crossChecked
      ? 'Cross-checked with the same key material imported into both sides.'
      : 'Not cross-checked with shared keys (no importKey for both sides): outputs verified with node:crypto per side.',
  ];
  for (const severity of ['breaking', 'notice'] as const) {
    const differences = report.differences.filter((difference) => difference.severity === severity);
    if (differences.length === 0) continue;
    lines.push('', severity === 'breaking' ? 'Breaking:' : 'Notices:');
    for (const difference of differences) {
      lines.push(
        `  ${difference.area} › ${difference.check} › ${difference.fact}: a=${value(difference.a)} b=${value(difference.b)}`,
      );
      if (difference.explanation) lines.push(`      ${difference.explanation}`);
    }
  }
  const notes = report.checks.filter((check) => check.note !== undefined);
  if (notes.length > 0) {
    lines.push('', 'Notes:');
    for (const check of notes) lines.push(`  ${check.area} › ${check.name}: ${check.note}`);
  }
  const created = report.cleanup.a.keys.length + report.cleanup.b.keys.length;
  const problems = [...report.cleanup.a.keys, ...report.cleanup.b.keys].filter(
    (key) => key.error !== undefined,
  );
  lines.push(
    '',
    `Cleanup: ${created} key(s) created${problems.length > 0 ? `, ${problems.length} could not be deleted` : ''}`,
  );
  lines.push('', summary.ok ? 'NO BREAKING DIFFERENCES' : `${summary.breaking} BREAKING DIFFERENCE(S)`);
  return `${lines.join('\n')}\n`;
}
