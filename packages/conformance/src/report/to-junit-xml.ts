import type { GroupId } from '../options.js';
import type { ConformanceReport, TestResult } from './report.js';

/**
 * The report as JUnit XML, which CI systems display: one `<testsuite>` per group, one `<testcase>` per
 * check; failures carry the reason and stack, unsupported and skipped checks a `<skipped>` element whose
 * message starts with `unsupported:` or `skipped:`. Provider, run id and cleanup are `<properties>`.
 *
 * @example
 * ```ts
 * await writeFile('conformance.xml', toJUnitXml(report));
 * ```
 */
export function toJUnitXml(report: ConformanceReport): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const byGroup = new Map<GroupId, TestResult[]>();
  for (const result of report.results)
    byGroup.set(result.group, [...(byGroup.get(result.group) ?? []), result]);
  const left = report.cleanup.keys.filter((key) => key.action === 'left').length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="keyswitch conformance" tests="${report.summary.total}" failures="${report.summary.failed}" errors="0" skipped="${report.summary.unsupported + report.summary.skipped}" time="${seconds(report.durationMs)}" timestamp="${xml(report.startedAt)}">`,
  ];
  for (const [group, results] of byGroup) {
    const count = (status: TestResult['status']) =>
      results.filter((result) => result.status === status).length;
    const time = results.reduce((sum, result) => sum + result.durationMs, 0);
    lines.push(
      `  <testsuite name="${xml(group)}" tests="${results.length}" failures="${count('failed')}" errors="0" skipped="${count('unsupported') + count('skipped')}" time="${seconds(time)}" timestamp="${xml(report.startedAt)}">`,
      '    <properties>',
      ...[
        ['provider', report.provider.name],
        ['provider.type', report.provider.type],
        ['runId', report.runId],
        ['label', report.label],
        ['cleanup.keys', String(report.cleanup.keys.length)],
        ['cleanup.left', String(left)],
      ].map(([name, value]) => `      <property name="${xml(name!)}" value="${xml(value!)}"/>`),
      '    </properties>',
    );
    for (const result of results) {
      const open = `    <testcase classname="keyswitch.conformance.${xml(group)}" name="${xml(result.name)}" time="${seconds(result.durationMs)}"`;
      if (result.status === 'passed') {
        lines.push(`${open}/>`);
      } else if (result.status === 'failed') {
        const body = result.error?.stack ?? result.reason ?? '';
        lines.push(
          `${open}>`,
          `      <failure message="${xml(result.reason ?? 'failed')}" type="${xml(result.error?.code ?? result.error?.name ?? 'Error')}">${xml(body)}</failure>`,
          '    </testcase>',
        );
      } else {
        lines.push(
          `${open}>`,
          `      <skipped message="${xml(`${result.status}: ${result.reason ?? ''}`)}"/>`,
          '    </testcase>',
        );
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** Text escaped for XML attributes and content, with characters XML 1.0 cannot hold removed. */
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
