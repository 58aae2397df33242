import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseChain, type ChainLine, type WorkMeter } from '../src/audit/lib/audit-chain.js';
import { canonicalizable, canonicalJson, MAX_RECORD_DEPTH } from '../src/audit/lib/canonical-json.js';
import { AuditFileSink, verifyAuditFile } from '../src/index.js';

let dir: string;
let file: string;
let lines: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyswitch-audit-canonical-'));
  file = join(dir, 'audit.jsonl');
  const sink = await AuditFileSink.open(file, { fsync: 'never' });
  sink.append({
    time: '2025-06-01T00:00:00.000Z',
    operation: 'sign',
    keyName: 'acs',
    outcome: 'success',
    durationMs: 95,
  });
  sink.append({
    operation: 'decrypt',
    keyName: 'pan-kek',
    outcome: 'failure',
    errorCode: 'INVALID_CIPHERTEXT',
    durationMs: 1.25,
  });
  sink.append({
    zeta: 'é ü 𝄞 "quoted" \\ \u0007',
    alpha: [1, -0.5, 1e21, true, null],
    nested: { b: 2, a: 1 },
  });
  await sink.close();
  lines = (await readFile(file, 'utf8')).split('\n').slice(0, -1);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Canonical JSON written here from its definition (sorted keys, JSON.stringify's strings and numbers). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function verifyWith(line: number, text: string) {
  const changed = [...lines];
  changed[line - 1] = text;
  const copy = join(dir, 'copy.jsonl');
  await writeFile(copy, `${changed.join('\n')}\n`);
  return verifyAuditFile(copy);
}

describe('the canonical audit format', () => {
  it('writes each line as the canonical JSON of its record, with the hash of {event, prev, seq}', async () => {
    for (const line of lines) {
      const record = JSON.parse(line);
      expect(line).toBe(canonical(record));
      const hash = createHash('sha256')
        .update(canonical({ event: record.event, prev: record.prev, seq: record.seq }))
        .digest('hex');
      expect(record.hash).toBe(hash);
    }
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 3 });
  });

  const edits: [string, number, (line: string) => string][] = [
    // The hashed reading is "failure"; a first-key-wins reader (a SIEM) would see "success".
    [
      'a duplicate key',
      2,
      (line) => line.replace('"outcome":"failure"', '"outcome":"success","outcome":"failure"'),
    ],
    ['whitespace', 1, (line) => line.replace('"keyName":', '"keyName": ')],
    ['a needless \\u escape', 1, (line) => line.replace('"acs"', '"\\u0061cs"')],
    ['a CR before the newline', 2, (line) => `${line}\r`],
    ['a second number form (95.0)', 1, (line) => line.replace('"durationMs":95', '"durationMs":95.0')],
    ['an exponent form (1.25e0)', 2, (line) => line.replace('"durationMs":1.25', '"durationMs":1.25e0')],
    ['keys out of order', 3, (line) => line.replace('"a":1,"b":2', '"b":2,"a":1')],
  ];
  it.each(edits)('refuses %s, even though the line parses to the same record', async (_, line, edit) => {
    const text = edit(lines[line - 1]!);
    expect(text).not.toBe(lines[line - 1]);
    const parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
    expect(parsed.hash).toBe(JSON.parse(lines[line - 1]!).hash); // same record to a JSON reader
    const result = await verifyWith(line, text);
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([
      {
        kind: 'edited',
        line,
        seq: line,
        message: `line ${line} (seq ${line}) was edited: it is not the canonical serialization of its record`,
      },
    ]);
  });

  it('refuses a byte-order mark and a line that is not valid UTF-8', async () => {
    const bom = await verifyWith(1, `\uFEFF${lines[0]}`);
    expect(bom.issues).toEqual([expect.objectContaining({ kind: 'edited', line: 1, seq: 1 })]);
    const copy = join(dir, 'bytes.jsonl');
    const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    const at = bytes.indexOf('é');
    bytes[at + 1] = 0x41; // a broken two-byte sequence
    await writeFile(copy, bytes);
    const result = await verifyAuditFile(copy);
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([expect.objectContaining({ line: 3 })]);
  });
});

/** Synthetic lines: a record per seq, `hash` h<seq>, `prev` h<seq-1>. */
function record(line: number, seq: number, options: Partial<ChainLine> = {}): ChainLine {
  return {
    line,
    seq,
    prev: seq === 1 ? '0'.repeat(64) : `h${seq - 1}`,
    hash: `h${seq}`,
    canonical: true,
    hashMatches: true,
    valid: true,
    ...options,
  };
}
const junk = (line: number): ChainLine => ({
  line,
  seq: undefined,
  prev: undefined,
  hash: undefined,
  canonical: false,
  hashMatches: false,
  valid: false,
});

/** Steps per line for a file shape at two sizes: linear work keeps the ratio flat. */
function stepsPerLine(shape: (n: number) => ChainLine[]): [number, number] {
  return [2_000, 16_000].map((n) => {
    const meter: WorkMeter = { steps: 0 };
    const input = shape(n);
    analyseChain(input, false, undefined, meter);
    return meter.steps / input.length;
  }) as [number, number];
}

describe('lines nested deep, and numbers no double holds', () => {
  const deepLine = (depth: number, seq: number) =>
    `{"event":{"a":${'['.repeat(depth)}${']'.repeat(depth)}},"hash":"${'a'.repeat(64)}","prev":"${'0'.repeat(64)}","seq":${seq}}`;

  it('a line nested 10,000 deep is an edited line, not a crash', async () => {
    const result = await verifyWith(2, deepLine(10_000, 2));
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([
      expect.objectContaining({
        kind: 'edited',
        line: 2,
        seq: 2,
        message: expect.stringMatching(/no longer a valid/),
      }),
    ]);
    // A number JSON.parse reads as Infinity: not a record either (it cannot be canonicalized).
    const infinite = await verifyWith(3, lines[2]!.replace('1e+21', '1e999'));
    expect(infinite.issues).toEqual([
      expect.objectContaining({ line: 3, message: 'line 3 is not an audit record: inserted' }),
    ]);
  });

  it('opening a file that ends with such a line is CONFIG_INVALID, not a file system error', async () => {
    const copy = join(dir, 'deep-end.jsonl');
    for (const last of [deepLine(10_000, 4), lines[2]!.replace('1e+21', '1e999')]) {
      await writeFile(copy, `${[...lines.slice(0, 3), last].join('\n')}\n`);
      await expect(AuditFileSink.open(copy)).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/does not end with a valid chained record/),
      });
    }
  });

  it('canonicalization recurses no deeper than a record may nest', () => {
    expect(canonicalJson([[1]], 2)).toBe('[[1]]');
    expect(() => canonicalJson([[[1]]], 2)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(() => canonicalJson(deep)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(canonicalizable(deep, MAX_RECORD_DEPTH)).toBe(false);
    expect(canonicalizable({ a: [1, { b: null }] }, 3)).toBe(true);
    expect(canonicalizable({ a: [1, { b: [] }] }, 3)).toBe(false);
    expect(canonicalizable({ a: Number.NaN }, 3)).toBe(false);
  });
});

describe('verification work is linear in the number of lines', () => {
  const shapes: [string, (n: number) => ChainLine[]][] = [
    ['an intact chain', (n) => Array.from({ length: n }, (_, i) => record(i + 1, i + 1))],
    ['every other line removed', (n) => Array.from({ length: n }, (_, i) => record(i + 1, 2 * i + 1))],
    [
      'many invalid records linking to the same hash',
      (n) => Array.from({ length: n }, (_, i) => record(i + 1, 1, { prev: 'h1', hash: 'h1', valid: false })),
    ],
    [
      'unreadable lines between records that jump back and forth',
      (n) => {
        const k = Math.floor(n / 2);
        const out: ChainLine[] = [];
        for (let i = 0; i < k; i++) out.push(junk(out.length + 1));
        // Records alternate before and after the unreadable block; seq gaps equal the block's size.
        const low: ChainLine[] = [];
        const high: ChainLine[] = [];
        for (let i = 0; i < n - k; i++)
          (i % 2 === 0 ? low : high).push(record(0, 1 + i * (k + 1), { prev: `x${i}` }));
        const all = [...low, ...out, ...high].map((line, index) => ({ ...line, line: index + 1 }));
        return all;
      },
    ],
    ['copies of one record', (n) => Array.from({ length: n }, (_, i) => record(i + 1, 1))],
  ];
  it.each(shapes)('%s', (_, shape) => {
    const [small, large] = stepsPerLine(shape);
    expect(large).toBeLessThan(20);
    expect(large).toBeLessThan(small * 1.5 + 1);
  });

  it('still reports the every-other-line removal line by line', () => {
    const lines = Array.from({ length: 6 }, (_, i) => record(i + 1, 2 * i + 1));
    const { issues, records } = analyseChain(lines, false, undefined);
    expect(records).toBe(6);
    expect(issues.map((issue) => [issue.kind, issue.line, issue.seq])).toEqual([
      ['removed', 2, 2],
      ['removed', 3, 4],
      ['removed', 4, 6],
      ['removed', 5, 8],
      ['removed', 6, 10],
    ]);
  });
});
