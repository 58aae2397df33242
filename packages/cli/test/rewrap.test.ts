import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Keyswitch } from '@keyswitch/core';
import { Keyring, parseEnvelope } from '@keyswitch/envelope';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { createWorkspace, testConfig, type Workspace } from './cli-harness.js';

const encoder = new TextEncoder();
const context = { table: 'cards' };
let workspace: Workspace;
/** The configuration before the rotation: card-data has one version, on provider dev. */
const before = {
  ...testConfig({ 'pan-kek-2': { provider: 'other', ref: 'pan-kek-2', spec: 'SYMMETRIC_DEFAULT' } }),
  versions: { 'card-data': { versions: [{ id: '1', key: 'pan-kek' }] } },
};
/** After: a second version on another backend (provider other) is active. */
const after = {
  ...before,
  versions: {
    'card-data': {
      versions: [
        { id: '1', key: 'pan-kek' },
        { id: '2', key: 'pan-kek-2' },
      ],
    },
  },
};
let lines: Record<string, unknown>[];

const open = (config = workspace.config) => Keyswitch.fromConfig(config, { env: workspace.env });
const readJsonLines = async (file: string) =>
  (await readFile(join(workspace.dir, file), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { id: number; envelope: string; aad?: Record<string, string> });
const writeJsonLines = (file: string, records: unknown[]) =>
  writeFile(join(workspace.dir, file), `${records.map((record) => JSON.stringify(record)).join('\n')}\n`);

beforeAll(async () => {
  workspace = await createWorkspace(before);
  for (const name of ['pan-kek', 'pan-kek-2'])
    expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
  const ks = await open();
  const keyring = Keyring.create(ks);
  const cards = keyring.envelopes('card-data');
  lines = [];
  for (let id = 1; id <= 30; id++) {
    const envelope = await cards.encryptToString(encoder.encode(`record ${id}`), { context });
    lines.push({ id, envelope, aad: context, note: `n${id}` });
  }
  // Two records under the plain key pan-kek (its version "1"), with the context stored in the envelope.
  const plain = keyring.envelopes('pan-kek');
  for (const id of [31, 32]) {
    lines.push({
      id,
      envelope: await plain.encryptToString(encoder.encode(`plain ${id}`), { storeContext: true, context }),
    });
  }
  await keyring.close();
  await ks.close();
  await writeJsonLines('records.jsonl', lines);
  await writeFile(workspace.config, JSON.stringify(after));
});

afterAll(async () => {
  await workspace?.remove();
});

describe('keyswitch rewrap', () => {
  it('re-wraps every record to the active version, keeps the bulk ciphertext, and prints a summary', async () => {
    const result = await workspace.run([
      'rewrap',
      '--in',
      'records.jsonl',
      '--out',
      'rewrapped.jsonl',
      '--context-field',
      'aad',
    ]);
    expect(result.stderr).toMatch(/^rewrap: 32 records\n(rewrap: \d+\/32 records .*\n)+/);
    expect(result.stderr).toContain('rewrap: 32/32 records (rewrapped 30, unchanged 2, failed 0)');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /^rewrapped 30, unchanged 2, failed 0 of 32 records → rewrapped.jsonl\n {2}card-data: 1 → 2: 30\n/,
    );
    // 30 records share one data key: one unwrap and one wrap, plus a describe of each version.
    expect(result.stdout).toMatch(/backend calls: [2-6] \(/);

    const out = await readJsonLines('rewrapped.jsonl');
    expect(out.map((record) => record.id)).toEqual(lines.map((line) => line.id));
    expect(out[0]).toMatchObject({ id: 1, aad: context, note: 'n1' });
    expect(Object.keys(out[0]!)).toEqual(['id', 'envelope', 'aad', 'note']);
    const ks = await open();
    // Decryptable under the new version alone: version 1 (and its backend) is no longer needed.
    const keyring = Keyring.create(ks, {
      versions: { 'card-data': { versions: [{ id: '2', key: 'pan-kek-2' }] } },
    });
    for (const [index, record] of out.entries()) {
      const parsed = parseEnvelope(record.envelope);
      if (index < 30) {
        expect(parsed).toMatchObject({ keyName: 'card-data', keyVersion: '2' });
        expect(Buffer.from(parsed.ciphertext)).toEqual(
          Buffer.from(parseEnvelope(lines[index]!.envelope as string).ciphertext),
        );
        const plaintext = await keyring.envelopes('card-data').decrypt(record.envelope, { context });
        expect(Buffer.from(plaintext).toString()).toBe(`record ${record.id}`);
      } else expect(record.envelope).toBe(lines[index]!.envelope);
    }
    await keyring.close();
    await ks.close();

    const again = await workspace.run([
      'rewrap',
      '--in',
      'rewrapped.jsonl',
      '--out',
      'again.jsonl',
      '--context-field',
      'aad',
    ]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/^rewrapped 0, unchanged 32, failed 0 of 32 records/);
  });

  it('with --key, re-wraps only that key and copies the other records in place', async () => {
    const result = await workspace.run([
      'rewrap',
      '--in',
      'records.jsonl',
      '--out',
      'only.jsonl',
      '--key',
      'pan-kek',
      '--context-field',
      'aad',
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /^rewrapped 0, unchanged 2, skipped \(other keys\) 30, failed 0 of 32 records/,
    );
    expect((await readJsonLines('only.jsonl')).map((record) => record.envelope)).toEqual(
      lines.map((line) => line.envelope),
    );
  });

  it('reports records it cannot re-wrap, leaves them unchanged, and exits 1', async () => {
    const tampered = [...lines];
    tampered[4] = { ...lines[4], aad: { table: 'other' } }; // the wrong context: the backend refuses to unwrap
    await writeJsonLines('tampered.jsonl', tampered);
    const result = await workspace.run([
      'rewrap',
      '--in',
      'tampered.jsonl',
      '--out',
      'partly.jsonl',
      '--context-field',
      'aad',
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/rewrap: FAILED line 5 \(id 5\): INVALID_CIPHERTEXT: /);
    expect(result.stderr).toMatch(
      /keyswitch: REWRAP_FAILED: 1 of 32 records could not be re-wrapped; it is in partly.jsonl unchanged\n$/,
    );
    expect(result.stdout).toMatch(/^rewrapped 29, unchanged 2, failed 1 of 32 records/);
    expect((await readJsonLines('partly.jsonl'))[4]!.envelope).toBe(lines[4]!.envelope);
  });

  it('refuses bad input before writing anything: exit 2', async () => {
    await writeFile(
      join(workspace.dir, 'broken.jsonl'),
      `${JSON.stringify(lines[0])}\n{"id": 2, "envelope"\n`,
    );
    const broken = await workspace.run(['rewrap', '--in', 'broken.jsonl', '--out', 'never.jsonl']);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/keyswitch: INVALID_INPUT: --in line 2: not JSON/);
    await expect(access(join(workspace.dir, 'never.jsonl'))).rejects.toThrow();
    const same = await workspace.run(['rewrap', '--in', 'records.jsonl', '--out', './records.jsonl']);
    expect(same).toMatchObject({
      exitCode: 2,
      stderr: expect.stringMatching(/^keyswitch: USAGE: --out must name another file/),
    });
    const unknown = await workspace.run([
      'rewrap',
      '--in',
      'records.jsonl',
      '--out',
      'x.jsonl',
      '--key',
      'nope',
    ]);
    expect(unknown).toMatchObject({
      exitCode: 2,
      stderr: expect.stringMatching(/--key: no logical key "nope"/),
    });
    const missing = await workspace.run(['rewrap', '--in', 'missing.jsonl', '--out', 'x.jsonl']);
    expect(missing).toMatchObject({
      exitCode: 2,
      stderr: expect.stringMatching(/INVALID_INPUT: cannot read --in file/),
    });
    expect((await workspace.run(['rewrap', '--in', 'records.jsonl'])).exitCode).toBe(2);
  });

  it('draws a progress bar on a terminal', async () => {
    let text = '';
    const terminal = {
      isTTY: true,
      columns: 120,
      write: (chunk: string) => {
        text += chunk;
        return true;
      },
      cursorTo: () => true,
      moveCursor: () => true,
      clearLine: () => true,
      clearScreenDown: () => true,
      on: () => terminal,
      removeListener: () => terminal,
    };
    const code = await main(
      [
        'node',
        'keyswitch',
        '--config',
        workspace.config,
        'rewrap',
        '--in',
        'records.jsonl',
        '--out',
        'tty.jsonl',
        '--context-field',
        'aad',
      ],
      {
        stdout: { write: () => true },
        stderr: terminal,
        env: workspace.env,
        cwd: workspace.dir,
        handleSignals: false,
      },
    );
    expect(code).toBe(0);
    expect(text).toMatch(/32\/32 \| rewrapped 30 \| unchanged 2 \| failed 0/);
    expect(text).not.toMatch(/^rewrap: /m);
  });
});
