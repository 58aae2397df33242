import { type FileHandle, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditFileSink, type AuditGapEvent, isKeyswitchError, verifyAuditFile } from '../src/index.js';

// A fault-injecting layer over the real file system (the real full disk is in test/audit-full-disk):
// FileHandle.write fails with ENOSPC, or is slowed, while the test says so.
type Write = FileHandle['write'];
let handlePrototype: { write: Write };
let realWrite: Write;
let failing = false;
let slowMs = 0;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyswitch-audit-faults-'));
  const probe = await open(join(dir, 'probe'), 'w');
  handlePrototype = Object.getPrototypeOf(probe) as { write: Write };
  await probe.close();
  realWrite = handlePrototype.write;
  failing = false;
  slowMs = 0;
  handlePrototype.write = function (this: FileHandle, ...args: Parameters<Write>) {
    if (failing) {
      // Like a real failed write: the error arrives asynchronously.
      return sleep(1).then(() => {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      });
    }
    if (slowMs > 0) return sleep(slowMs).then(() => realWrite.apply(this, args));
    return realWrite.apply(this, args);
  } as Write;
});
afterEach(async () => {
  handlePrototype.write = realWrite;
  await rm(dir, { recursive: true, force: true });
});

const op = (n: number) => ({ type: 'op', n, time: new Date(Date.UTC(2025, 5, 1, 0, 0, 0, n)).toISOString() });

/** The events in the file, and the sum of the losses its gap records count. */
async function accounted(file: string): Promise<{ events: { n?: number }[]; lost: number; gaps: number }> {
  const events = (await readFile(file, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line).event as { type: string; n?: number });
  const gaps = events.filter((event) => event.type === 'audit-gap') as unknown as AuditGapEvent[];
  return {
    events: events.filter((event) => event.type !== 'audit-gap'),
    lost: gaps.reduce((sum, gap) => sum + gap.lostEvents, 0),
    gaps: gaps.length,
  };
}

describe('the audit file sink under write faults', () => {
  it('counts events lost while the gap record is being written in a gap record of their own', async () => {
    const file = join(dir, 'audit.jsonl');
    const warnings: string[] = [];
    const sink = await AuditFileSink.open(file, {
      retryIntervalMs: 0,
      onError: (e) => warnings.push(e.message),
    });
    let appended = 0;
    sink.listener(op(++appended) as never);
    await sink.flush();
    failing = true;
    sink.listener(op(++appended) as never);
    await sink.flush().catch(() => undefined);
    failing = false;
    slowMs = 40;
    sink.listener(op(++appended) as never); // lost, and starts the recovery: the gap record is written slowly
    await sleep(10);
    expect(sink.available).toBe(false);
    for (let i = 0; i < 3; i++) sink.listener(op(++appended) as never); // lost during that write
    for (let i = 0; i < 50 && !sink.available; i++) await sleep(10);
    expect(sink.available).toBe(true);
    slowMs = 0;
    sink.listener(op(++appended) as never);
    await sink.close();

    const { events, lost, gaps } = await accounted(file);
    expect(gaps).toBe(2);
    expect(events.map((event) => event.n)).toEqual([1, appended]);
    // Nothing unaccounted for, and the warning says what the file says.
    expect(events.length + lost).toBe(appended);
    expect(warnings.at(-1)).toBe(`writing again after ENOSPC; ${lost} lost events recorded as a gap`);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, head: sink.head() });
  });

  it('counts a gap record lost to a second failure in the next one', async () => {
    const file = join(dir, 'audit.jsonl');
    const sink = await AuditFileSink.open(file, { retryIntervalMs: 0, onError: () => undefined });
    let appended = 0;
    failing = true;
    for (let i = 0; i < 3; i++) {
      sink.listener(op(++appended) as never); // the first is lost in a failed write, the rest while failing
      await sink.flush().catch(() => undefined); // each attempt to write the gap record fails too
    }
    failing = false;
    sink.listener(op(++appended) as never);
    await sink.close();
    const { events, lost, gaps } = await accounted(file);
    expect(gaps).toBe(1);
    expect(events).toEqual([]);
    expect(lost).toBe(appended);
  });

  it('recorded(): resolves once the event is in the file, rejects when its write fails', async () => {
    const file = join(dir, 'audit.jsonl');
    const sink = await AuditFileSink.open(file, { retryIntervalMs: 0, onError: () => undefined });
    sink.listener(op(1) as never);
    await sink.recorded();
    expect(sink.head().seq).toBe(1);
    await expect(sink.recorded()).resolves.toBeUndefined(); // nothing pending

    // Many events in flight when the write fails: each waiter learns its own record's fate.
    failing = true;
    const fates = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        sink.listener(op(2 + i) as never);
        return sink.recorded().then(
          () => 'written',
          (error: unknown) => (isKeyswitchError(error, 'AUDIT_UNAVAILABLE') ? 'refused' : String(error)),
        );
      }),
    );
    expect(fates.every((fate) => fate === 'refused')).toBe(true);
    failing = false;
    await sink.flush().catch(() => undefined); // the failed write is done with
    // The first event after the disk frees is itself counted lost (it starts the recovery).
    sink.listener(op(42) as never);
    await expect(sink.recorded()).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    await sink.flush();
    sink.listener(op(43) as never);
    await sink.recorded();
    await sink.close();
    const { events, lost } = await accounted(file);
    expect(events.map((event) => event.n)).toEqual([1, 43]);
    expect(lost).toBe(41);
  });

  it('refuses an event nested too deep to canonicalize with INVALID_INPUT, and reports it', async () => {
    const file = join(dir, 'audit.jsonl');
    const warnings: string[] = [];
    const sink = await AuditFileSink.open(file, { onError: (e) => warnings.push(e.message) });
    const deep: Record<string, unknown> = { type: 'deep' };
    let at = deep;
    for (let i = 0; i < 3000; i++) {
      const inner = {};
      at.a = inner;
      at = inner;
    }
    expect(() => sink.append(deep)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    sink.listener(deep as never);
    await expect(sink.recorded()).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(warnings).toEqual([
      'an audit event was not recorded: an audit record nests deeper than 64 levels',
    ]);
    // 62 levels below the event is the most a record holds; the chain is untouched by the refusals.
    const fits: Record<string, unknown> = { type: 'fits' };
    at = fits;
    for (let i = 0; i < 62; i++) {
      const inner = {};
      at.a = inner;
      at = inner;
    }
    sink.append(fits);
    await sink.close();
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 1 });
  });
});
