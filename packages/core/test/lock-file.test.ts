import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLockFile, isKeyswitchError } from '../src/index.js';

async function lockError(file: string): Promise<Error> {
  try {
    await acquireLockFile(file, { what: 'keystore', hint: 'stop it' });
  } catch (error) {
    if (isKeyswitchError(error, 'LOCKED')) return error;
    throw error;
  }
  throw new Error('expected LOCKED');
}

describe('acquireLockFile', () => {
  it('holds the lock with pid and host, refuses a second holder in this process, and releases', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'keyswitch-lock-')), 'dev.keystore');
    const lock = await acquireLockFile(file, { what: 'keystore' });
    expect(readFileSync(lock.path, 'utf8')).toBe(`${process.pid} ${hostname()}\n`);
    expect((await lockError(file)).message).toMatch(/keystore .*dev.keystore is locked by this process/);
    lock.release();
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it("takes over a dead process's lock on this host, never another host's", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-lock-'));
    const file = join(dir, 'audit.jsonl');
    writeFileSync(`${file}.lock`, `2147483646 ${hostname()}\n`); // no such process
    const lock = await acquireLockFile(file, { what: 'audit file' });
    lock.release();
    writeFileSync(`${file}.lock`, '2147483646\n'); // the older form, pid only: this host
    (await acquireLockFile(file, { what: 'audit file' })).release();
    writeFileSync(`${file}.lock`, `2147483646 another-host.example\n`);
    expect((await lockError(file)).message).toMatch(
      /locked by process 2147483646 on host another-host.example; a lock from another host is never taken over/,
    );
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe('2147483646 another-host.example\n');
  });

  it('names a live holder and the hint', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'keyswitch-lock-')), 'dev.keystore');
    writeFileSync(`${file}.lock`, `1 ${hostname()}\n`); // pid 1 is alive
    expect((await lockError(file)).message).toMatch(/locked by process 1; stop it/);
  });
});
