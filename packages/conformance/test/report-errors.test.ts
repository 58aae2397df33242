import { describe, expect, it } from 'vitest';
import { type KeyImporter, runConformance, toJson } from '../src/index.js';
import { MinimalProvider } from './support/minimal-provider.js';

describe('errors in reports', () => {
  it('an error without a message still says what and where, and the JSON report records its cause', async () => {
    // An importer that fails the way a backend given the wrong import shape did: a bare TypeError.
    const importKey: KeyImporter = async () => {
      throw new Error('import failed', { cause: new TypeError() });
    };
    const bare: KeyImporter = async () => {
      throw new TypeError();
    };
    for (const [importer, expectCause] of [
      [importKey, true],
      [bare, false],
    ] as const) {
      const report = await runConformance({
        createProvider: () => new MinimalProvider(),
        importKey: importer,
        groups: ['mac'],
      });
      const failed = report.results.filter((result) => result.status === 'failed');
      expect(failed.length).toBeGreaterThan(0);
      for (const result of failed) {
        expect(result.reason).toMatch(/\S/);
        if (expectCause) {
          expect(result.reason).toContain('(cause: TypeError: TypeError without a message, thrown at ');
          expect(result.error?.cause).toMatchObject({ name: 'TypeError' });
        } else {
          expect(result.reason).toMatch(/^TypeError without a message, thrown at /);
        }
      }
      const json = JSON.parse(toJson(report)) as { results: { error?: { cause?: { name: string } } }[] };
      if (expectCause)
        expect(json.results.some((result) => result.error?.cause?.name === 'TypeError')).toBe(true);
    }
  });
});
