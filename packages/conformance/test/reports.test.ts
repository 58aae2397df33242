import { describe, expect, it } from 'vitest';
import {
  type ConformanceReport,
  formatSummaryTable,
  runConformance,
  toJson,
  toJUnitXml,
} from '../src/index.js';
import { MinimalProvider } from './support/minimal-provider.js';

const report: ConformanceReport = {
  runId: 'r1',
  label: 'keyswitch-conformance-r1',
  provider: { name: 'hsm', type: 'pkcs11' },
  capabilities: {
    keySpecs: {},
    algorithms: [],
    operations: {
      createKey: false,
      enableKey: false,
      disableKey: false,
      scheduleKeyDeletion: false,
      listKeys: false,
      generateDataKey: false,
      generateRandom: true,
    },
    deletionWindowDays: { min: 7, max: 30 },
  },
  groups: ['random', 'errors'],
  startedAt: '2025-01-01T00:00:00.000Z',
  durationMs: 1234,
  aborted: false,
  results: [
    { group: 'random', name: 'returns <bytes> & "more"', status: 'passed', durationMs: 5 },
    {
      group: 'random',
      name: 'differs',
      status: 'failed',
      reason: 'expected 8 values, got 1 & <none>',
      durationMs: 7,
      error: {
        name: 'CheckFailed',
        message: 'expected 8 values',
        stack: 'CheckFailed: expected 8 values\n    at x',
      },
    },
    { group: 'errors', name: 'closed', status: 'skipped', reason: 'needs a provider factory', durationMs: 0 },
    { group: 'errors', name: 'usage', status: 'unsupported', reason: 'ECDH is not declared', durationMs: 1 },
  ],
  summary: { total: 4, passed: 1, failed: 1, unsupported: 1, skipped: 1, ok: false },
  cleanup: {
    keys: [
      {
        ref: 'k1',
        label: 'keyswitch-conformance-r1-errors-1',
        spec: 'HMAC_256',
        usage: 'GENERATE_VERIFY_MAC',
        group: 'errors',
        action: 'left',
      },
    ],
  },
};

describe('reports', () => {
  it('toJUnitXml: a testsuite per group, failures with reason and stack, unsupported and skipped as <skipped>', () => {
    const xml = toJUnitXml(report);
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="keyswitch conformance" tests="4" failures="1" errors="0" skipped="2" time="1.234"/,
    );
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toContain('name="returns &lt;bytes&gt; &amp; &quot;more&quot;"');
    expect(xml).toContain(
      '<failure message="expected 8 values, got 1 &amp; &lt;none&gt;" type="CheckFailed">CheckFailed: expected 8 values\n    at x</failure>',
    );
    expect(xml).toContain('<skipped message="unsupported: ECDH is not declared"/>');
    expect(xml).toContain('<skipped message="skipped: needs a provider factory"/>');
    expect(xml).toContain('<property name="provider.type" value="pkcs11"/>');
    expect(xml).toContain('<property name="cleanup.left" value="1"/>');
    expect(xml.trimEnd().endsWith('</testsuites>')).toBe(true);
  });

  it('toJson: the report as JSON, stacks left out unless asked for', () => {
    const parsed = JSON.parse(toJson(report)) as ConformanceReport;
    expect(parsed.summary).toEqual(report.summary);
    expect(parsed.results[1]!.error).toEqual({ name: 'CheckFailed', message: 'expected 8 values' });
    expect(
      (JSON.parse(toJson(report, { stacks: true })) as ConformanceReport).results[1]!.error?.stack,
    ).toContain('at x');
  });

  it('formatSummaryTable: counts per group, failures with reasons, reasons for the rest, cleanup, verdict', () => {
    const text = formatSummaryTable(report);
    expect(text).toContain('keyswitch conformance: hsm (pkcs11), run r1, 1.2 s');
    expect(text).toContain(
      'group   passed  failed  unsupported  skipped\nrandom       1       1            0        0\nerrors       0       0            1        1\ntotal        1       1            1        1',
    );
    expect(text).toContain('Failed:\n  random › differs\n      expected 8 values, got 1 & <none>');
    expect(text).toContain('Unsupported:\n     1 × ECDH is not declared');
    expect(text).toContain('Cleanup: 1 key(s) created: 1 left');
    expect(text.trimEnd().endsWith('FAIL: 1 check(s) failed')).toBe(true);
  });

  it('a real run renders in all three formats', async () => {
    const real = await runConformance({
      createProvider: () => new MinimalProvider(),
      groups: ['random', 'data-keys'],
    });
    expect(toJUnitXml(real).match(/<testcase /g)).toHaveLength(real.summary.total);
    expect(JSON.parse(toJson(real)).runId).toBe(real.runId);
    expect(formatSummaryTable(real).trimEnd().endsWith('PASS')).toBe(true);
  });
});
