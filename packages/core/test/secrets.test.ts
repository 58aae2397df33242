import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { resolveSecret, Secret } from '../src/index.js';

describe('secrets', () => {
  it('never prints its value', () => {
    const secret = new Secret('1234-pin');
    expect(String(secret)).toBe('[secret]');
    expect(`${secret}`).toBe('[secret]');
    expect(JSON.stringify({ secret })).toBe('{"secret":"[secret]"}');
    expect(inspect(secret)).toBe('[secret]');
    expect(secret.reveal()).toBe('1234-pin');
  });

  it('reads environment variables and files, relative to the base directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-secret-'));
    await writeFile(join(dir, 'pin.txt'), 'user:password\n');
    expect((await resolveSecret({ env: 'PIN' }, { path: 'p', env: { PIN: '987' } })).reveal()).toBe('987');
    expect((await resolveSecret({ file: 'pin.txt' }, { path: 'p', baseDir: dir })).reveal()).toBe(
      'user:password',
    );
    expect((await resolveSecret({ file: join(dir, 'pin.txt') }, { path: 'p' })).reveal()).toBe(
      'user:password',
    );
  });

  it('names the variable or file and the config path when it cannot, never a value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-secret-'));
    await writeFile(join(dir, 'empty.txt'), '\n');
    await expect(
      resolveSecret({ env: 'HSM_PIN' }, { path: 'providers.hsm.pin', env: {} }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'providers.hsm.pin',
      message: '[keyswitch] at providers.hsm.pin: environment variable HSM_PIN is not set',
    });
    await expect(
      resolveSecret({ env: 'HSM_PIN' }, { path: 'x', env: { HSM_PIN: '' } }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    await expect(resolveSecret({ file: 'missing.txt' }, { path: 'x', baseDir: dir })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/secret file missing.txt \(relative to .*\) cannot be read \(ENOENT\)/),
    });
    await expect(resolveSecret({ file: 'empty.txt' }, { path: 'x', baseDir: dir })).rejects.toMatchObject({
      message: expect.stringMatching(/secret file empty.txt \(relative to .*\) is empty/),
    });
  });
});
