import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  AuditFileSink,
  isKeyswitchError,
  type KeyswitchError,
  verifyAuditFile,
} from '../src/index.js';

async function rejection(promise: Promise<unknown>): Promise<KeyswitchError> {
  try {
    await promise;
  } catch (error) {
    if (isKeyswitchError(error)) return error;
    throw error;
  }
  throw new Error('expected a KeyswitchError');
}

const event = (operation: AuditEvent['operation'], extra: Partial<AuditEvent> = {}): AuditEvent => ({
  time: '2025-06-01T00:00:00.000Z',
  operation,
  keyName: 'pan-kek',
  provider: 'kms',
  providerType: 'aws-kms',
  keyRef: 'alias/pan-kek',
  outcome: 'success',
  durationMs: 1.5,
  ...extra,
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyswitch-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file of `count` chained records and its lines. */
async function chainedFile(count: number): Promise<{ file: string; lines: string[] }> {
  const file = join(dir, 'audit', 'keyswitch.jsonl');
  const sink = await AuditFileSink.open(file);
  for (let i = 1; i <= count; i++) {
    sink.append({
      time: `2025-06-01T00:00:0${i % 10}Z`,
      operation: 'encrypt',
      keyName: 'pan-kek',
      provider: 'kms',
      outcome: 'success',
      durationMs: i / 3,
    });
  }
  await sink.close();
  return { file, lines: (await readFile(file, 'utf8')).trimEnd().split('\n') };
}

/** The canonical hash of a record, computed here from the README's definition. */
function rehash(record: { seq: number; prev: string; event: Record<string, unknown> }): string {
  const canonical = (value: unknown): string =>
    value !== null && typeof value === 'object'
      ? `{${Object.keys(value)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(value);
  return createHash('sha256')
    .update(canonical({ event: record.event, prev: record.prev, seq: record.seq }))
    .digest('hex');
}

async function verifyLines(file: string, lines: string[], options = {}) {
  await writeFile(file, `${lines.join('\n')}\n`);
  return verifyAuditFile(file, options);
}

describe('AuditFileSink', () => {
  it('chains events through its listener; verification passes; reopening continues the chain', async () => {
    const file = join(dir, 'keyswitch.jsonl');
    const sink = await AuditFileSink.open(file);
    sink.listener(event('describeKey'));
    sink.listener(event('generateDataKey'));
    sink.append({ type: 'cryptoperiod-ending', keyName: 'pan-kek', keyVersion: '2025' });
    await sink.flush();
    const head = sink.head();
    await sink.close();

    const records = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((r) => r.event.operation ?? r.event.type)).toEqual([
      'describeKey',
      'generateDataKey',
      'cryptoperiod-ending',
    ]);
    expect(records[0]).toMatchObject({ seq: 1, prev: '0'.repeat(64) });
    for (const [i, record] of records.entries()) {
      expect(record.hash).toBe(rehash(record)); // the README's definition, recomputed independently
      if (i > 0) expect(record.prev).toBe(records[i - 1].hash);
    }
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, lines: 3, records: 3, head, issues: [] });

    const again = await AuditFileSink.open(file, { fsync: 'never' });
    expect(again.head()).toEqual(head);
    again.append({ operation: 'sign' });
    await again.close();
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 4, head: { seq: 4 } });
  });

  it('lets one sink append at a time, and refuses events after close', async () => {
    const file = join(dir, 'keyswitch.jsonl');
    const sink = await AuditFileSink.open(file, { fsync: 'interval', fsyncIntervalMs: 10 });
    expect((await rejection(AuditFileSink.open(file))).code).toBe('LOCKED');
    await sink.close();
    expect(() => sink.append({ operation: 'sign' })).toThrow(/closed/);
    await expect(AuditFileSink.open(file, { fsync: 'sometimes' as never })).rejects.toThrow(/fsync/);
    await (await AuditFileSink.open(file)).close();
  });

  it('cuts off a torn last line when reopened, and keeps a complete one', async () => {
    const { file, lines } = await chainedFile(3);
    await writeFile(file, `${lines.join('\n')}\n${lines[2]!.slice(0, 40)}`);
    expect((await verifyAuditFile(file)).issues).toEqual([
      expect.objectContaining({ kind: 'incomplete', line: 4 }),
    ]);
    const sink = await AuditFileSink.open(file);
    expect(sink.head().seq).toBe(3);
    await sink.close();
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, lines: 3 });
    await writeFile(file, lines.join('\n')); // the last record complete but for its newline
    const kept = await AuditFileSink.open(file);
    expect(kept.head().seq).toBe(3);
    await kept.close();
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, lines: 3 });
  });
});

describe('verifyAuditFile', () => {
  it('finds an edited line (content changed, hash left as it was)', async () => {
    const { file, lines } = await chainedFile(6);
    lines[3] = lines[3]!.replace('"outcome":"success"', '"outcome":"failure"');
    const result = await verifyLines(file, lines);
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([
      {
        kind: 'edited',
        line: 4,
        seq: 4,
        message: expect.stringMatching(/line 4 \(seq 4\) was edited: its content does not match its hash/),
      },
    ]);
  });

  it('finds an edited line whose hash was recomputed', async () => {
    const { file, lines } = await chainedFile(6);
    const record = JSON.parse(lines[2]!);
    record.event.keyName = 'other-key';
    record.hash = rehash(record);
    lines[2] = JSON.stringify(record);
    const result = await verifyLines(file, lines);
    expect(result.issues).toEqual([
      {
        kind: 'edited',
        line: 3,
        seq: 3,
        message: expect.stringMatching(/hash was recomputed, but line 4 \(seq 4\) still links/),
      },
    ]);
  });

  it('finds a line edited into something that is not a record', async () => {
    const { file, lines } = await chainedFile(6);
    lines[4] = '{"seq": 5, "oops"';
    expect((await verifyLines(file, lines)).issues).toEqual([
      expect.objectContaining({ kind: 'edited', line: 5 }),
    ]);
  });

  it('finds removed lines: in the middle, at the start, and at the end given the head', async () => {
    const { file, lines } = await chainedFile(8);
    const middle = await verifyLines(file, [...lines.slice(0, 3), ...lines.slice(5)]);
    expect(middle.issues).toEqual([
      {
        kind: 'removed',
        line: 4,
        seq: 4,
        message: 'seqs 4 to 5 are missing before line 4: 2 lines were removed',
      },
    ]);
    const start = await verifyLines(file, lines.slice(1));
    expect(start.issues).toEqual([expect.objectContaining({ kind: 'removed', line: 1, seq: 1 })]);
    const head = JSON.parse(lines[7]!);
    const end = await verifyLines(file, lines.slice(0, 7), {
      expectedHead: { seq: head.seq, hash: head.hash },
    });
    expect(end.issues).toEqual([expect.objectContaining({ kind: 'removed', line: 8, seq: 8 })]);
    expect((await verifyLines(file, lines, { expectedHead: { seq: 8, hash: head.hash } })).ok).toBe(true);
    // Only the hash kept: found on the chain is fine (lines appended since), missing is a removal.
    expect((await verifyLines(file, lines, { expectedHead: { hash: JSON.parse(lines[5]!).hash } })).ok).toBe(
      true,
    );
    const cut = await verifyLines(file, lines.slice(0, 7), { expectedHead: { hash: head.hash } });
    expect(cut.issues).toEqual([expect.objectContaining({ kind: 'removed', line: 8 })]);
  });

  it('finds inserted lines: a copy, a forged record linked into the chain, and junk', async () => {
    const { file, lines } = await chainedFile(6);
    const copy = await verifyLines(file, [...lines.slice(0, 4), lines[1]!, ...lines.slice(4)]);
    expect(copy.issues).toEqual([
      expect.objectContaining({
        kind: 'inserted',
        line: 5,
        seq: 2,
        message: expect.stringMatching(/repeats seq 2/),
      }),
    ]);

    const prev = JSON.parse(lines[2]!);
    const forged = { seq: 4, prev: prev.hash, event: { operation: 'decrypt', keyName: 'pan-kek' }, hash: '' };
    forged.hash = rehash(forged);
    const linked = await verifyLines(file, [...lines.slice(0, 3), JSON.stringify(forged), ...lines.slice(3)]);
    expect(linked.issues).toEqual([expect.objectContaining({ kind: 'inserted', line: 4, seq: 4 })]);

    const junk = await verifyLines(file, [...lines.slice(0, 2), 'hello', ...lines.slice(2)]);
    expect(junk.issues).toEqual([expect.objectContaining({ kind: 'inserted', line: 3 })]);
  });

  it('finds reordered lines', async () => {
    const { file, lines } = await chainedFile(6);
    const swapped = [...lines];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    const result = await verifyLines(file, swapped);
    expect(result.issues).toEqual([
      {
        kind: 'reordered',
        line: 4,
        seq: 3,
        message: 'line 4 (seq 3) comes after line 3 (seq 4): lines are out of order',
      },
    ]);
    expect(result.records).toBe(6);
  });

  it('passes an intact file and an empty one', async () => {
    const { file } = await chainedFile(5);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, lines: 5, records: 5, issues: [] });
    await writeFile(file, '');
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, lines: 0, head: { seq: 0 } });
    expect((await rejection(verifyAuditFile(join(dir, 'missing.jsonl')))).code).toBe('CONFIG_INVALID');
  });
});

describe('opening a file that is not an audit trail', () => {
  it('refuses it without cutting its last line', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'keyswitch-audit-')), 'app.log');
    const text = 'started\nlistening on 8443';
    await writeFile(file, text);
    const error = await AuditFileSink.open(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(await readFile(file, 'utf8')).toBe(text);
  });
});
