import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditChainHead, AuditFileSink, verifyAuditFile } from '../../src/index.js';
import { fuzzParameters, mutatedText, outcome } from '../support/fuzz.js';

let dir: string;
let original: string;
let head: AuditChainHead;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyswitch-fuzz-audit-'));
  const file = join(dir, 'original.jsonl');
  const sink = await AuditFileSink.open(file, { fsync: 'never' });
  const events = [
    {
      time: '2025-06-01T00:00:00.000Z',
      operation: 'sign',
      keyName: 'acs',
      outcome: 'success',
      durationMs: 95,
    },
    { operation: 'decrypt', outcome: 'failure', errorCode: 'INVALID_CIPHERTEXT', durationMs: 1.25 },
    { type: 'cryptoperiod-ending', key: 'pan-kek', versions: [{ id: 'v1', days: 3 }], note: 'é 𝄞 "q"' },
    { operation: 'verify', valid: false, durationMs: 0.001 },
  ];
  for (const event of events) sink.append(event);
  await sink.close();
  head = sink.head();
  original = await readFile(file, 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Edits that matter to JSON and to lines: structure, quotes, escapes, newlines, number forms.
const jsonish = fc
  .array(
    fc.constantFrom(
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '\n',
      '\r',
      '\\',
      ' ',
      '0',
      '1',
      'e',
      '-',
      '.',
      'a',
      'é',
    ),
    {
      maxLength: 3,
    },
  )
  .map((parts) => parts.join(''));

/** A record line with any JSON value as its event (deep ones included), linked or not. */
const oddLine = fc
  .tuple(
    fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.nat({ max: 20_000 }).map((depth) => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`),
      fc.constantFrom('{"a":1e999}', '{"a":-0}', '{"a":"\\ud800"}', '{"__proto__":{"x":1}}'),
    ),
    fc.nat({ max: 6 }),
    fc.boolean(),
  )
  .map(
    ([event, seq, linked]) =>
      `{"event":${event},"hash":"${'b'.repeat(64)}","prev":"${linked ? head.hash : '0'.repeat(64)}","seq":${seq}}`,
  );

describe('fuzz: audit verification', () => {
  it('any change to a verified file is found (given its head); nothing ends in an exception', async () => {
    const file = join(dir, 'mutated.jsonl');
    const withoutLastNewline = original.slice(0, -1);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutatedText(original, jsonish),
          fc.tuple(fc.array(oddLine, { minLength: 1, maxLength: 3 }), fc.nat()).map(([odd, at]) => {
            const lines = original.trimEnd().split('\n');
            lines.splice(at % (lines.length + 1), 0, ...odd);
            return `${lines.join('\n')}\n`;
          }),
        ),
        async (text) => {
          await writeFile(file, text);
          const result = await outcome(() => verifyAuditFile(file, { expectedHead: head }));
          // A readable file always gets a verdict, never an error.
          expect(result.ok, result.ok ? '' : result.error.message).toBe(true);
          if (!result.ok) return;
          const unchanged = text === original || text === withoutLastNewline;
          expect(result.value.ok).toBe(unchanged);
          if (!unchanged) expect(result.value.issues.length).toBeGreaterThan(0);
          for (const issue of result.value.issues) {
            expect(issue.line).toBeGreaterThanOrEqual(1);
            expect(issue.line).toBeLessThanOrEqual(result.value.lines + 1);
          }
        },
      ),
      fuzzParameters(200),
    );
  });

  it('opening a mutated file as a sink: a sink, or a typed error', async () => {
    const file = join(dir, 'reopened.jsonl');
    await fc.assert(
      fc.asyncProperty(mutatedText(original, jsonish), async (text) => {
        await rm(file, { force: true });
        await writeFile(file, text);
        const opened = await outcome(() => AuditFileSink.open(file, { fsync: 'never' }));
        if (!opened.ok) {
          expect(opened.error.code).toBe('CONFIG_INVALID');
          return;
        }
        // It continues from the file's last record, and its head is the line it wrote last.
        const record = opened.value.append({ operation: 'sign', outcome: 'success' });
        await opened.value.close();
        expect(opened.value.head()).toEqual({ seq: record.seq, hash: record.hash });
        const written = (await readFile(file, 'utf8')).trimEnd().split('\n').at(-1)!;
        expect(JSON.parse(written)).toMatchObject({ seq: record.seq, hash: record.hash });
        expect((await outcome(() => verifyAuditFile(file))).ok).toBe(true);
      }),
      fuzzParameters(100),
    );
  });
});
