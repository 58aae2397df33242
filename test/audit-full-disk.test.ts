import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import {
  AuditFileSink,
  type AuditGapEvent,
  isKeyswitchError,
  Keyswitch,
  type KeyswitchError,
  verifyAuditFile,
} from '@keyswitch/core';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// A real full disk: a small tmpfs, filled. Mounting needs root, which CI has; elsewhere the suite is
// skipped with this reason shown, and under CI=true its absence is a failure.
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI === 'true') {
  throw new Error('the full-disk audit tests mount a tmpfs and need root; CI runs as root');
}

let base: string;
let mnt: string;
let readOnly: string;
const mounted: string[] = [];

function mount(target: string, options: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]);
  mounted.push(target);
}

beforeAll(async () => {
  if (!isRoot) return;
  base = await mkdtemp(join(tmpdir(), 'keyswitch-full-disk-'));
  mnt = join(base, 'small');
  readOnly = join(base, 'ro');
  await mkdir(mnt);
  await mkdir(readOnly);
  mount(mnt, 'size=256k,mode=0700');
  mount(readOnly, 'size=64k,ro');
});
afterAll(async () => {
  for (const target of mounted.reverse()) execFileSync('umount', ['-l', target]);
  if (base) await rm(base, { recursive: true, force: true });
});

const fillers: string[] = [];
afterEach(async () => {
  for (const filler of fillers.splice(0)) await rm(filler, { force: true });
});

/** Fills the file system holding `dir` with a file; returns its path. */
async function fill(dir: string): Promise<string> {
  const filler = join(dir, 'filler');
  fillers.push(filler);
  const handle = await open(filler, 'w');
  const block = Buffer.alloc(4096, 0x61);
  try {
    for (;;) await handle.write(block);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await handle.close();
  }
  return filler;
}

const big = (i: number) => ({
  time: new Date(Date.UTC(2025, 5, 1, 0, 0, i)).toISOString(),
  operation: 'sign',
  keyName: 'acs-signing',
  outcome: 'success',
  durationMs: i,
  padding: 'p'.repeat(6000),
});

async function caught(run: () => unknown): Promise<KeyswitchError> {
  try {
    await run();
  } catch (error) {
    if (isKeyswitchError(error)) return error;
    throw error;
  }
  throw new Error('expected a KeyswitchError');
}

describe.skipIf(!isRoot)('the audit file sink on a full disk (a real tmpfs)', () => {
  it('reports the failure, keeps head() true to the file, and records the gap once space is freed', async () => {
    const dir = join(mnt, 'sink');
    await mkdir(dir);
    const file = join(dir, 'audit.jsonl');
    const warnings: string[] = [];
    const sink = await AuditFileSink.open(file, {
      retryIntervalMs: 0,
      onError: (e) => warnings.push(e.message),
    });
    let appended = 0;
    for (let i = 0; i < 3; i++, appended++) sink.append(big(appended));
    await sink.flush();
    const filler = await fill(mnt);

    // Write until the disk refuses (the last page's slack may take a line or two first).
    let failure: KeyswitchError | undefined;
    for (let i = 0; i < 40 && !failure; i++) {
      sink.listener(big(appended++) as never);
      failure = await sink.flush().then(
        () => undefined,
        (error: KeyswitchError) => error,
      );
    }
    expect(failure).toMatchObject({ code: 'AUDIT_UNAVAILABLE', retryable: true });
    expect(failure!.message).toMatch(/ENOSPC/);
    expect(sink.available).toBe(false);
    expect((await caught(() => sink.check())).code).toBe('AUDIT_UNAVAILABLE');
    expect(warnings[0]).toMatch(/ENOSPC|no space/i);
    // head() is what the file holds, not what was handed to the sink.
    const during = await verifyAuditFile(file);
    expect(during.ok).toBe(true);
    expect(sink.head()).toEqual(during.head);

    // Events while the disk is full: the listener never throws; append() says so. (A small gap record
    // may still fit in the file's last page, so the sink may briefly be writing again in between.)
    for (let i = 0; i < 4; i++) sink.listener(big(appended++) as never);
    for (let i = 0; i < 40 && sink.available; i++) {
      sink.listener(big(appended++) as never);
      await sink.flush().catch(() => undefined);
    }
    expect(sink.available).toBe(false);
    expect((await caught(() => sink.append(big(appended++)))).code).toBe('AUDIT_UNAVAILABLE');
    await sink.flush().catch(() => undefined);
    expect(sink.head()).toEqual((await verifyAuditFile(file)).head);

    await rm(filler);
    for (let i = 0; i < 10 && !sink.available; i++) {
      sink.listener({ ...big(appended++), padding: '' } as never);
      await sink.flush().catch(() => undefined);
    }
    expect(sink.available).toBe(true);
    for (let i = 0; i < 2; i++, appended++) sink.append(big(appended));
    await sink.close();
    expect(warnings.at(-1)).toMatch(/writing again after ENOSPC; \d+ lost events? recorded as a gap/);

    const result = await verifyAuditFile(file);
    expect(result).toMatchObject({ ok: true, head: sink.head() });
    const events = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line).event);
    const gaps = events.filter((event): event is AuditGapEvent => event.type === 'audit-gap');
    const recorded = events.length - gaps.length;
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    // Nothing unaccounted for: every event appended is either on the chain or counted in a gap.
    expect(recorded + gaps.reduce((sum, gap) => sum + gap.lostEvents, 0)).toBe(appended);
    for (const gap of gaps) {
      expect(gap).toEqual({
        type: 'audit-gap',
        time: expect.any(String),
        lostEvents: expect.any(Number),
        from: expect.stringMatching(/^2025-06-01T00:00:\d\d\.000Z$/),
        to: expect.stringMatching(/^2025-06-01T00:00:\d\d\.000Z$/),
        errorCode: 'ENOSPC',
      });
      expect(gap.from <= gap.to).toBe(true);
    }
  });

  it('with audit.failClosed, refuses key operations with AUDIT_UNAVAILABLE until the trail is written', async () => {
    const dir = join(mnt, 'closed');
    await mkdir(dir);
    await writeFile(
      join(dir, 'keyswitch.json'),
      JSON.stringify({
        environment: 'test',
        providers: { dev: { type: 'soft-hsm' } },
        keys: { 'pan-hmac': { provider: 'dev', ref: 'pan-hmac', spec: 'HMAC_256' } },
        audit: { file: 'audit.jsonl', failClosed: true },
      }),
    );
    const ks = await Keyswitch.fromConfig(join(dir, 'keyswitch.json'), {
      providerFactories: {
        'soft-hsm': {
          type: 'soft-hsm',
          parseConfig: () => ({}),
          create: async (_config, context) => {
            const hsm = await SoftHsm.open({ name: context.name, audit: context.audit });
            await hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'pan-hmac' });
            return hsm;
          },
        },
      },
    });
    const mac = ks.mac('pan-hmac');
    const data = new Uint8Array(32).fill(7);
    await mac.generate(data);
    await ks.auditFile!.flush();
    const filler = await fill(mnt);
    let refused: KeyswitchError | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      refused = await mac.generate(data).then(
        () => undefined,
        (error: KeyswitchError) => error,
      );
      await ks.auditFile!.flush().catch(() => undefined);
    }
    expect(refused).toMatchObject({ code: 'AUDIT_UNAVAILABLE', retryable: true });
    expect((await caught(() => mac.generate(data))).code).toBe('AUDIT_UNAVAILABLE');
    await rm(filler);
    // The sink tries again at most once a second (retryIntervalMs): poll, bounded.
    let tag: Uint8Array | undefined;
    for (let i = 0; i < 200 && !tag; i++) {
      tag = await mac.generate(data).catch(() => undefined);
      if (!tag) await setTimeout(50);
    }
    expect(tag).toHaveLength(32);
    await ks.close();
    const result = await verifyAuditFile(join(dir, 'audit.jsonl'));
    expect(result.ok).toBe(true);
    expect(await readFile(join(dir, 'audit.jsonl'), 'utf8')).toContain('"type":"audit-gap"');
  });
});

describe.skipIf(!isRoot)('audit.failClosed with operations in flight when the disk fills', () => {
  it('no operation returns a result whose record is not in the file', async () => {
    const dir = join(mnt, 'in-flight');
    await mkdir(dir);
    await writeFile(
      join(dir, 'keyswitch.json'),
      JSON.stringify({
        environment: 'test',
        providers: { dev: { type: 'soft-hsm' } },
        keys: { 'pan-hmac': { provider: 'dev', ref: 'pan-hmac', spec: 'HMAC_256' } },
        audit: { file: 'audit.jsonl', failClosed: true },
      }),
    );
    const ks = await Keyswitch.fromConfig(join(dir, 'keyswitch.json'), {
      providerFactories: {
        'soft-hsm': {
          type: 'soft-hsm',
          parseConfig: () => ({}),
          create: async (_config, context) => {
            const hsm = await SoftHsm.open({ name: context.name, audit: context.audit });
            await hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'pan-hmac' });
            return hsm;
          },
        },
      },
    });
    const mac = ks.mac('pan-hmac');
    const data = new Uint8Array(32).fill(9);
    await mac.generate(data);
    await ks.auditFile!.flush();
    const filler = await fill(mnt);
    // Waves of concurrent operations until the disk refuses; every one ends in a tag or AUDIT_UNAVAILABLE.
    let succeeded = 0;
    let refused = 0;
    for (let wave = 0; wave < 40 && refused === 0; wave++) {
      const outcomes = await Promise.all(
        Array.from({ length: 25 }, () =>
          mac.generate(data).then(
            (tag) => (tag.length === 32 ? 'tag' : 'wrong'),
            (error: unknown) => (isKeyswitchError(error, 'AUDIT_UNAVAILABLE') ? 'refused' : String(error)),
          ),
        ),
      );
      for (const outcome of outcomes) expect(['tag', 'refused']).toContain(outcome);
      succeeded += outcomes.filter((outcome) => outcome === 'tag').length;
      refused += outcomes.filter((outcome) => outcome === 'refused').length;
      await setTimeout(5); // let the file system answer between waves
    }
    expect(refused).toBeGreaterThan(0);
    await rm(filler);
    let after = 0;
    for (let i = 0; i < 200 && after < 3; i++) {
      if (
        await mac.generate(data).then(
          () => true,
          () => false,
        )
      )
        after++;
      else await setTimeout(50);
    }
    expect(after).toBe(3);
    await ks.close();
    expect((await verifyAuditFile(join(dir, 'audit.jsonl'))).ok).toBe(true);
    const recorded = (await readFile(join(dir, 'audit.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line).event)
      .filter((event) => event.operation === 'generateMac' && event.outcome === 'success');
    // The first tag, each tag returned while the disk filled, and the three after: no more, no fewer.
    expect(recorded).toHaveLength(1 + succeeded + after);
  });
});

describe('audit.failClosed over a fault-injecting file layer (writes fail while the test says so)', () => {
  it('withholds results whose records fail, and names a key created meanwhile (not retryable)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-fail-closed-'));
    const probe = await open(join(dir, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const realWrite = prototype.write;
    let failing = false;
    prototype.write = function (this: unknown, ...args: unknown[]) {
      if (!failing) return realWrite.apply(this, args);
      // Like a real failed write, the error arrives later: operations finish meanwhile.
      return setTimeout(2).then(() => {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      });
    };
    try {
      await writeFile(
        join(dir, 'keyswitch.json'),
        JSON.stringify({
          environment: 'test',
          providers: { dev: { type: 'soft-hsm' } },
          keys: { 'pan-hmac': { provider: 'dev', ref: 'pan-hmac', spec: 'HMAC_256' } },
          audit: { file: 'audit.jsonl', failClosed: true },
        }),
      );
      const ks = await Keyswitch.fromConfig(join(dir, 'keyswitch.json'), {
        providerFactories: {
          'soft-hsm': {
            type: 'soft-hsm',
            parseConfig: () => ({}),
            create: async (_config, context) => {
              const hsm = await SoftHsm.open({ name: context.name, audit: context.audit });
              await hsm.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'pan-hmac' });
              return hsm;
            },
          },
        },
      });
      const mac = ks.mac('pan-hmac');
      const data = new Uint8Array(32).fill(3);
      await mac.generate(data);
      await ks.auditFile!.flush();

      failing = true;
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, () =>
          mac.generate(data).then(
            () => 'tag',
            (error: unknown) => (isKeyswitchError(error, 'AUDIT_UNAVAILABLE') ? 'refused' : String(error)),
          ),
        ),
      );
      expect(outcomes.filter((outcome) => outcome !== 'refused')).toEqual([]);

      // Back to writing; then a key created while its record's write fails.
      failing = false;
      for (let i = 0; i < 100 && !ks.auditFile!.available; i++) {
        await mac.generate(data).catch(() => undefined);
        if (!ks.auditFile!.available) await setTimeout(50);
      }
      expect(ks.auditFile!.available).toBe(true);
      const provider = await ks.provider('dev');
      failing = true;
      const created = await caught(() =>
        provider.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'created-unaudited' }),
      );
      expect(created).toMatchObject({ code: 'AUDIT_UNAVAILABLE', retryable: false });
      expect(created.message).toMatch(/createKey was done .*the key was created/);
      expect(created.keyRef).toBeDefined();
      failing = false;
      for (let i = 0; i < 100 && !ks.auditFile!.available; i++) {
        await mac.generate(data).catch(() => undefined);
        if (!ks.auditFile!.available) await setTimeout(50);
      }
      // The key the error names exists: nothing is left unknown.
      await expect(provider.describeKey(created.keyRef!)).resolves.toMatchObject({
        ref: created.keyRef,
      });
      await ks.close();
      const events = (await readFile(join(dir, 'audit.jsonl'), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).event);
      const tags = events.filter((event) => event.operation === 'generateMac' && event.outcome === 'success');
      expect(tags.length).toBeGreaterThanOrEqual(1);
      const lost = events
        .filter((event) => event.type === 'audit-gap')
        .reduce((sum, gap) => sum + gap.lostEvents, 0);
      expect(lost).toBeGreaterThanOrEqual(51); // the 50 withheld, and the created key's event
    } finally {
      prototype.write = realWrite;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!isRoot)('file system errors are typed, with the path', () => {
  it('an audit file that is a directory, under a file, or on a read-only file system', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-fs-errors-'));
    try {
      await mkdir(join(dir, 'a-directory'));
      await writeFile(join(dir, 'a-file'), 'x');
      const cases: [string, string, RegExp][] = [
        [join(dir, 'a-directory'), 'CONFIG_INVALID', /EISDIR/],
        [join(dir, 'a-file', 'audit.jsonl'), 'CONFIG_INVALID', /ENOTDIR|EEXIST/],
        [join(readOnly, 'audit.jsonl'), 'ACCESS_DENIED', /EROFS/],
        [join(dir, 'nul\0byte.jsonl'), 'CONFIG_INVALID', /ERR_INVALID_ARG_VALUE/],
      ];
      for (const [path, code, errno] of cases) {
        const sink = await caught(() => AuditFileSink.open(path));
        expect(sink, path).toMatchObject({ code });
        expect(sink.message).toMatch(errno);
        expect(sink.message).toContain(path.split('\0')[0]);
        const keystore = await caught(() => SoftHsm.open({ keystore: path, passphrase: 'fs-errors-test' }));
        expect(keystore, path).toMatchObject({ code });
        expect(keystore.message).toMatch(errno);
      }
      const verify = await caught(() => verifyAuditFile(join(dir, 'a-directory')));
      expect(verify).toMatchObject({ code: 'CONFIG_INVALID' });
      expect(verify.message).toContain('EISDIR');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
