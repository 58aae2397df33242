import type { ConformanceReport } from './report.js';

/**
 * The report as pretty-printed JSON (a stable shape: {@link ConformanceReport}), for files and CI artefacts.
 * Error stacks are left out unless `stacks` is true.
 *
 * @example
 * ```ts
 * await writeFile('conformance.json', toJson(report));
 * ```
 */
export function toJson(report: ConformanceReport, options: { stacks?: boolean } = {}): string {
  const results = report.results.map((result) => {
    if (!result.error || options.stacks) return result;
    const { stack: _stack, ...error } = result.error;
    return { ...result, error };
  });
  return `${JSON.stringify({ ...report, results }, null, 2)}\n`;
}
