// A multi-keyring from the configuration file alone: records sealed under two keys on two backends, then
// `keyswitch rewrap` drops the retired key's copy after the configuration retires it, data untouched.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Keyswitch } from '@keyswitch/core';
import { Keyring, parseEnvelope } from '@keyswitch/envelope';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, testConfig, type Workspace } from './cli-harness.js';

const encoder = new TextEncoder();
const context = { table: 'cards' };
const keys = { 'pan-kek-2': { provider: 'other', ref: 'pan-kek-2', spec: 'SYMMETRIC_DEFAULT' } };
/** card-data's data keys wrapped by pan-kek (provider dev) and pan-kek-2 (provider other). */
const both = { ...testConfig(keys), multiKeyrings: { 'card-data': { keys: ['pan-kek', 'pan-kek-2'] } } };
/** pan-kek-2 retired: it still opens old envelopes, and rewrap drops its copies. */
const retiring = {
  ...both,
  multiKeyrings: { 'card-data': { keys: ['pan-kek'], retired: ['pan-kek-2'], timeoutMs: 5000 } },
};
let workspace: Workspace;
let sealed: string[];

const open = () => Keyswitch.fromConfig(workspace.config, { env: workspace.env });

beforeAll(async () => {
  workspace = await createWorkspace(both);
  for (const name of ['pan-kek', 'pan-kek-2'])
    expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
  const ks = await open();
  expect(ks.multiKeyrings()).toEqual({ 'card-data': { keys: ['pan-kek', 'pan-kek-2'] } });
  const keyring = Keyring.create(ks); // the configuration's multi-keyring: no code names the keys
  const cards = keyring.envelopes('card-data');
  sealed = [];
  for (let id = 1; id <= 5; id++) {
    sealed.push(await cards.encryptToString(encoder.encode(`record ${id}`), { context }));
  }
  await keyring.close();
  await ks.close();
  const lines = sealed.map((envelope, index) => JSON.stringify({ id: index + 1, envelope }));
  await writeFile(join(workspace.dir, 'records.jsonl'), `${lines.join('\n')}\n`);
});

afterAll(async () => {
  await workspace?.remove();
});

describe('a multi-keyring configured in the file', () => {
  it('wraps each data key under both keys, and keyswitch rewrap drops the retired copy', async () => {
    for (const envelope of sealed) {
      expect(parseEnvelope(envelope).wrappedKeys.map((entry) => entry.keyVersion)).toEqual([
        'pan-kek',
        'pan-kek-2',
      ]);
    }
    await writeFile(workspace.config, JSON.stringify(retiring));
    const result = await workspace.run(['rewrap', '--in', 'records.jsonl', '--out', 'out.jsonl', '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ rewrapped: 5, failed: 0 });
    const out = (await readFile(join(workspace.dir, 'out.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; envelope: string });
    const ks = await open();
    const keyring = Keyring.create(ks);
    // The retired key's backend is not needed any more: its provider's key is disabled.
    await (await ks.provider('other')).disableKey('pan-kek-2');
    for (const [index, record] of out.entries()) {
      const before = parseEnvelope(sealed[index]!);
      const after = parseEnvelope(record.envelope);
      expect(after.wrappedKeys.map((entry) => entry.keyVersion)).toEqual(['pan-kek']);
      expect(Buffer.from(after.ciphertext)).toEqual(Buffer.from(before.ciphertext));
      expect(Buffer.from(after.commitment!)).toEqual(Buffer.from(before.commitment!));
      const plaintext = await keyring.envelopes('card-data').decrypt(record.envelope, { context });
      expect(Buffer.from(plaintext).toString()).toBe(`record ${record.id}`);
    }
    await keyring.close();
    await ks.close();
  });

  it('refuses a section naming a key the file does not configure, with its path', async () => {
    const broken = { ...both, multiKeyrings: { 'card-data': { keys: ['pan-kek', 'nope'] } } };
    await writeFile(workspace.config, JSON.stringify(broken));
    const result = await workspace.run(['keys', 'list', '--json']);
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('at multiKeyrings.card-data.keys[1]: ');
  });
});
