import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Keyswitch, KeyVersionsConfig } from '@keyswitch/core';
import { afterEach, describe, expect, it } from 'vitest';
import { inventory, Keyring, type KeyringEvent, parseEnvelope } from '../src/index.js';
import { encoder, provisioned, rejection } from './support/keyswitch.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

const rotation = (active: string, extra: Partial<KeyVersionsConfig[string]> = {}): KeyVersionsConfig => ({
  'card-data': {
    cryptoperiodDays: 365,
    versions: [
      { id: '2024', key: 'pan-kek-2024', createdAt: '2024-01-15T00:00:00Z' },
      { id: '2025', provider: 'hsm', ref: 'pan-kek-2025', createdAt: '2025-01-15T00:00:00Z' },
    ],
    active,
    ...extra,
  },
});

async function setup(
  versions: KeyVersionsConfig,
  now = '2025-06-01T00:00:00Z',
): Promise<{ ks: Keyswitch; keyring: Keyring; events: KeyringEvent[]; clock: { now: number } }> {
  const { ks } = await provisioned();
  const clock = { now: Date.parse(now) };
  const events: KeyringEvent[] = [];
  const keyring = Keyring.create(ks, {
    versions,
    clock: () => new Date(clock.now),
    onEvent: (e) => events.push(e),
  });
  cleanup.push(
    () => ks.close(),
    () => keyring.close(),
  );
  return { ks, keyring, events, clock };
}

describe('key versions and rotation', () => {
  it('encrypts under the active version and decrypts under any configured version', async () => {
    const { ks } = await setup({});
    const before = Keyring.create(ks, { versions: rotation('2024'), clock: () => new Date('2024-06-01') });
    const old = await before.envelopes('card-data').encrypt(encoder.encode('old'));
    expect(parseEnvelope(old)).toMatchObject({ keyName: 'card-data', keyVersion: '2024' });
    const after = Keyring.create(ks, { versions: rotation('2025'), clock: () => new Date('2025-06-01') });
    cleanup.push(
      () => before.close(),
      () => after.close(),
    );
    const cards = after.envelopes('card-data');
    const fresh = await cards.encrypt(encoder.encode('new'));
    expect(parseEnvelope(fresh).keyVersion).toBe('2025');
    expect(Buffer.from(await cards.decrypt(old)).toString()).toBe('old');
    expect(Buffer.from(await cards.decrypt(fresh)).toString()).toBe('new');
    expect(after.activeVersion('card-data')).toMatchObject({ id: '2025', provider: 'hsm', status: 'active' });
    expect(after.versions('card-data').map((v) => [v.id, v.status])).toEqual([
      ['2024', 'retired'],
      ['2025', 'active'],
    ]);
  });

  it('refuses new data under a retired version (PCI DSS 3.7.5) with a clear error', async () => {
    const { keyring } = await setup(rotation('2025'));
    const error = await rejection(
      keyring.envelopes('card-data').encrypt(encoder.encode('x'), { version: '2024' }),
    );
    expect(error).toMatchObject({ code: 'USAGE_MISMATCH', keyName: 'card-data' });
    expect(error.message).toMatch(
      /version "2024" is retired: it only decrypts and verifies .*new data uses version "2025"/,
    );
    expect(
      (await rejection(keyring.envelopes('card-data').encrypt(encoder.encode('x'), { version: '1999' })))
        .code,
    ).toBe('KEY_NOT_FOUND');
  });

  it('refuses an envelope naming a version that is not configured', async () => {
    const { ks } = await setup({});
    const withOld = Keyring.create(ks, { versions: rotation('2024'), clock: () => new Date('2024-06-01') });
    const sealed = await withOld.envelopes('card-data').encrypt(encoder.encode('x'));
    const onlyNew = Keyring.create(ks, {
      versions: { 'card-data': { versions: [{ id: '2025', provider: 'hsm', ref: 'pan-kek-2025' }] } },
    });
    cleanup.push(
      () => withOld.close(),
      () => onlyNew.close(),
    );
    const error = await rejection(onlyNew.envelopes('card-data').decrypt(sealed));
    expect(error.code).toBe('INVALID_CIPHERTEXT');
    expect(error.message).toMatch(/version "2024", which is not configured \(configured: 2025\)/);
  });

  it('enforces the cryptoperiod (PCI DSS 3.7.4): error refuses new data, decryption goes on', async () => {
    const { keyring, events, clock } = await setup(rotation('2025'), '2025-12-20T00:00:00Z');
    const cards = keyring.envelopes('card-data');
    const sealed = await cards.encrypt(encoder.encode('x'));
    expect(events.map((e) => e.type)).toEqual(['cryptoperiod-ending']); // within 30 days of 2026-01-15
    clock.now = Date.parse('2026-01-15T00:00:00Z');
    const error = await rejection(cards.encrypt(encoder.encode('y')));
    expect(error).toMatchObject({ code: 'KEY_DISABLED', keyName: 'card-data' });
    expect(error.message).toMatch(/version "2025" reached the end of its 365-day cryptoperiod on 2026-01-15/);
    expect(Buffer.from(await cards.decrypt(sealed)).toString()).toBe('x');
    expect(events.at(-1)).toMatchObject({
      type: 'cryptoperiod-expired',
      keyName: 'card-data',
      keyVersion: '2025',
      provider: 'hsm',
      keyRef: 'pan-kek-2025',
      expiresAt: '2026-01-15T00:00:00.000Z',
      enforcement: 'error',
    });
  });

  it('warns past the cryptoperiod under "warn", once a day', async () => {
    const { keyring, events, clock } = await setup(
      rotation('2025', { cryptoperiodEnforcement: 'warn' }),
      '2026-02-01T00:00:00Z',
    );
    const cards = keyring.envelopes('card-data');
    await cards.encrypt(encoder.encode('x'));
    await cards.encrypt(encoder.encode('y'));
    expect(events.map((e) => e.type)).toEqual(['cryptoperiod-expired']);
    clock.now += 86_400_000;
    await cards.encrypt(encoder.encode('z'));
    expect(events).toHaveLength(2);
  });

  it("reads the configuration's versions section by default; cryptoperiod events go to its audit file", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-versions-'));
    const { ks } = await provisioned({
      versions: rotation('2025', { cryptoperiodEnforcement: 'warn' }),
      audit: { file: join(dir, 'audit.jsonl'), fsync: 'never' },
    });
    const keyring = Keyring.create(ks, { clock: () => new Date('2026-02-01T00:00:00Z') });
    expect(keyring.keyNames()).toEqual(['card-data', 'pan-kek', 'pan-kek-hsm', 'pan-hmac', 'acs-signing']);
    expect(keyring.activeVersion('card-data')).toMatchObject({ id: '2025', provider: 'hsm' });
    const warned = new Promise((resolve) => process.once('warning', resolve));
    const sealed = await keyring.envelopes('card-data').encrypt(encoder.encode('x'));
    expect(parseEnvelope(sealed).keyVersion).toBe('2025');
    expect(await warned).toMatchObject({ name: 'KeyswitchCryptoperiodWarning' });
    await keyring.close();
    await ks.close();
    const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line).event)).toContainEqual(
      expect.objectContaining({ type: 'cryptoperiod-expired', keyName: 'card-data', keyVersion: '2025' }),
    );
    await rm(dir, { recursive: true, force: true });
  });

  it("with the registry's logger, a cryptoperiod warning is a log line, not a process warning", async () => {
    const lines: Array<[string, object, string | undefined]> = [];
    const logger = {
      error: (object: object, text?: string) => lines.push(['error', object, text]),
      warn: (object: object, text?: string) => lines.push(['warn', object, text]),
      info: (object: object, text?: string) => lines.push(['info', object, text]),
      debug: (object: object, text?: string) => lines.push(['debug', object, text]),
    };
    const { ks } = await provisioned(
      { versions: rotation('2025', { cryptoperiodEnforcement: 'warn' }) },
      { logger },
    );
    const keyring = Keyring.create(ks, { clock: () => new Date('2026-02-01T00:00:00Z') });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await keyring.envelopes('card-data').encrypt(encoder.encode('x'));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.name === 'KeyswitchCryptoperiodWarning')).toEqual([]);
    expect(lines).toContainEqual([
      'warn',
      expect.objectContaining({ type: 'cryptoperiod-expired', keyName: 'card-data', keyVersion: '2025' }),
      expect.stringMatching(/^key version cryptoperiod ended /),
    ]);
    await keyring.close();
    await ks.close();
  });

  it('validates a versions option with paths (the same validation as the configuration)', async () => {
    const { ks } = await setup({});
    const bad = (versions: unknown) => () => Keyring.create(ks, { versions: versions as KeyVersionsConfig });
    expect(bad({ k: { versions: [] } })).toThrow(/versions\.k\.versions/);
    expect(bad({ k: { versions: [{ id: 'a:b', key: 'pan-kek' }] } })).toThrow(
      /versions\.k\.versions\[0\]\.id/,
    );
    expect(bad({ k: { versions: [{ id: 'a', provider: 'nope', ref: 'x' }] } })).toThrow(/\.provider/);
    expect(bad({ k: { versions: [{ id: 'a', key: 'nope' }] } })).toThrow(/no key named "nope"/);
    expect(bad({ k: { versions: [{ id: 'a', key: 'pan-kek' }], active: 'b' } })).toThrow(
      /versions\.k\.active/,
    );
    expect(
      bad({
        k: {
          versions: [
            { id: 'a', key: 'pan-kek' },
            { id: 'a', key: 'pan-kek' },
          ],
        },
      }),
    ).toThrow(/twice/);
    expect(bad({ k: { versions: [{ id: 'a', key: 'pan-kek', createdAt: 'soon' }] } })).toThrow(/createdAt/);
    expect(bad({ k: { versions: [{ id: 'a', key: 'pan-kek' }], cryptoperiodDays: 0 } })).toThrow(
      /cryptoperiodDays/,
    );
    expect(bad({ k: { versions: [{ id: 'a', key: 'pan-kek' }], colour: 'red' } })).toThrow(
      /unrecognized key.*colour/i,
    );
  });
});

describe('inventory', () => {
  it('lists every key and version with spec, usage, backend, state and dates, never material', async () => {
    const { ks, keyring } = await setup(rotation('2025'), '2026-02-01T00:00:00Z');
    await (await ks.provider('kms')).disableKey('pan-kek-2024');
    const rows = await inventory(keyring);
    expect(rows.map((row) => `${row.keyName}@${row.version}`)).toEqual([
      'card-data@2024',
      'card-data@2025',
      'pan-kek@1',
      'pan-kek-hsm@1', // the same backend key as card-data@2025, also configured on its own
      'pan-hmac@1',
      'acs-signing@1',
    ]);
    expect(rows[0]).toMatchObject({
      status: 'retired',
      provider: 'kms',
      providerType: 'soft-hsm',
      ref: 'pan-kek-2024',
      configKey: 'pan-kek-2024',
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      algorithm: 'SYMMETRIC_DEFAULT',
      state: 'DISABLED',
      createdAt: new Date('2024-01-15T00:00:00Z'),
      cryptoperiodDays: 365,
      expiresAt: new Date('2025-01-14T00:00:00Z'),
      expired: true,
    });
    expect(rows[1]).toMatchObject({ status: 'active', provider: 'hsm', state: 'ENABLED', expired: true });
    expect(rows[4]).toMatchObject({
      spec: 'HMAC_256',
      usage: 'GENERATE_VERIFY_MAC',
      algorithm: 'HMAC_SHA_256',
    });
    expect(rows[5]).toMatchObject({
      spec: 'ECC_NIST_P256',
      algorithm: 'ECDSA_SHA_256',
      expiresAt: undefined,
    });
    expect(rows[2]!.createdAt).toBeInstanceOf(Date); // the backend's creation date
    expect(JSON.stringify(rows)).not.toMatch(/material|plaintext|privateKey/);
  });

  it('works from a bare registry and reports keys it cannot describe', async () => {
    const { ks } = await setup({});
    await (await ks.provider('hsm')).scheduleKeyDeletion('acs', { pendingWindowDays: 7 });
    const rows = await inventory(ks);
    expect(rows.find((row) => row.keyName === 'acs-signing')).toMatchObject({ state: 'PENDING_DELETION' });
    const missing = Keyring.create(ks, {
      versions: { ghost: { versions: [{ id: 'v1', provider: 'kms', ref: 'nope' }] } },
    });
    cleanup.push(() => missing.close());
    const ghost = (await inventory(missing)).find((row) => row.keyName === 'ghost');
    expect(ghost).toMatchObject({ state: 'NOT_FOUND', error: { code: 'KEY_NOT_FOUND' } });
    const configOnly = await inventory(ks, { describe: false });
    expect(configOnly.every((row) => row.state === 'UNKNOWN' && row.providerType === undefined)).toBe(true);
  });
});

describe('a version past its disabledFrom', () => {
  it('opens no envelope and checks no token, even with its data key cached; the others go on', async () => {
    const versions = (disabledFrom?: string) =>
      rotation('2025', {
        versions: [
          {
            id: '2024',
            key: 'pan-kek-2024',
            createdAt: '2024-01-15T00:00:00Z',
            ...(disabledFrom ? { disabledFrom } : {}),
          },
          { id: '2025', provider: 'hsm', ref: 'pan-kek-2025', createdAt: '2025-01-15T00:00:00Z' },
        ],
      });
    const { ks, keyring, clock } = await setup(versions('2025-09-01'));
    const before = Keyring.create(ks, { versions: rotation('2024'), clock: () => new Date('2024-06-01') });
    cleanup.push(() => before.close());
    const old = await before.envelopes('card-data').encrypt(encoder.encode('old'));
    const current = await keyring.envelopes('card-data').encrypt(encoder.encode('new'));
    // Before the date: both open, and the old one's data key is now cached.
    expect(new TextDecoder().decode(await keyring.envelopes('card-data').decrypt(old))).toBe('old');
    clock.now = Date.parse('2025-09-02T00:00:00Z');
    const refused = await rejection(keyring.envelopes('card-data').decrypt(old));
    expect(refused).toMatchObject({ code: 'KEY_DISABLED', keyName: 'card-data' });
    expect(refused.message).toContain('"2024"');
    expect(new TextDecoder().decode(await keyring.envelopes('card-data').decrypt(current))).toBe('new');
  });
});
