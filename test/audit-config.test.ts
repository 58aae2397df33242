import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditFileSink, Keyswitch, type KeyswitchConfigInput, verifyAuditFile } from '@keyswitch/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyswitch-audit-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config: KeyswitchConfigInput = {
  environment: 'test',
  providers: {
    dev: { type: 'soft-hsm', keystore: 'dev.keystore', passphrase: { env: 'AUDIT_TEST_PASSPHRASE' } },
  },
  keys: {
    'pan-kek-1': { provider: 'dev', ref: 'pan-kek-1', spec: 'SYMMETRIC_DEFAULT' },
    'pan-kek-2': { provider: 'dev', ref: 'pan-kek-2', spec: 'SYMMETRIC_DEFAULT' },
  },
  versions: {
    'pan-kek': {
      cryptoperiodDays: 365,
      versions: [
        { id: '1', key: 'pan-kek-1' },
        { id: '2', key: 'pan-kek-2', createdAt: '2025-01-15' },
      ],
    },
  },
  audit: { file: 'audit/keyswitch.jsonl', fsync: 'interval' },
};
const env = { AUDIT_TEST_PASSPHRASE: 'audit-config-test' };

describe('the audit and versions sections through the registry', () => {
  it('appends every operation to the audit file beside the configuration; close() closes it', async () => {
    const file = join(dir, 'keyswitch.json');
    await writeFile(file, JSON.stringify(config));
    const ks = await Keyswitch.fromConfig(file, { env, cwd: tmpdir() });
    expect(ks.keyVersions()['pan-kek']?.versions.map((version) => version.id)).toEqual(['1', '2']);
    const sink = ks.auditFile!;
    expect(sink.path).toBe(join(dir, 'audit', 'keyswitch.jsonl'));
    await expect(Keyswitch.fromConfig(file, { env })).rejects.toMatchObject({ code: 'LOCKED' });

    const dev = await ks.provider('dev');
    for (const name of ks.keyNames()) {
      await dev.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label: name });
    }
    const kek = ks.encrypter('pan-kek-2');
    await kek.decrypt(await kek.encrypt(new TextEncoder().encode('4111111111111111')));
    await ks.close();

    const text = await readFile(sink.path, 'utf8');
    expect(text).not.toContain('4111111111111111');
    const operations = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line).event.operation);
    expect(operations).toEqual(expect.arrayContaining(['createKey', 'encrypt', 'decrypt']));
    expect(await verifyAuditFile(sink.path, { expectedHead: sink.head() })).toMatchObject({
      ok: true,
      records: operations.length,
    });
    await (await AuditFileSink.open(sink.path)).close(); // the lock was released
  });

  it('has no audit file and no versions when the configuration has none', async () => {
    const { audit: _, versions: __, ...plain } = config;
    const ks = await Keyswitch.fromConfig(plain, { env, cwd: dir });
    expect(ks.auditFile).toBeUndefined();
    expect(ks.keyVersions()).toEqual({});
    await ks.close();
  });
});
