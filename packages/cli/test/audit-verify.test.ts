import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, testConfig, type Workspace } from './cli-harness.js';

let workspace: Workspace;
let file: string;
let lines: string[];

beforeAll(async () => {
  // The CLI's own operations are audited through the configuration's audit section.
  workspace = await createWorkspace({
    ...testConfig(),
    audit: { file: 'audit/keyswitch.jsonl', fsync: 'never' },
  });
  for (const name of ['acs-signing', 'pan-kek', 'pan-hmac']) {
    expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
  }
  expect((await workspace.run(['keys', 'list'])).exitCode).toBe(0);
  file = join(workspace.dir, 'audit', 'keyswitch.jsonl');
  lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
});

afterAll(async () => {
  await workspace?.remove();
});

/** The line with its event's outcome flipped, its hash left as it was. */
const edited = (line: string) => {
  const record = JSON.parse(line);
  record.event.outcome = record.event.outcome === 'success' ? 'failure' : 'success';
  return JSON.stringify(record);
};

const verifyLines = async (changed: string[], ...args: string[]) => {
  await writeFile(join(workspace.dir, 'copy.jsonl'), `${changed.join('\n')}\n`);
  return workspace.run(['audit', 'verify', 'copy.jsonl', ...args]);
};

describe('keyswitch audit verify', () => {
  it('exits 0 on an intact file and prints its head', async () => {
    expect(lines.length).toBeGreaterThanOrEqual(6);
    const result = await workspace.run(['audit', 'verify', 'audit/keyswitch.jsonl']);
    expect(result.exitCode).toBe(0);
    const head = JSON.parse(lines.at(-1)!);
    expect(result.stdout).toBe(
      `audit/keyswitch.jsonl: intact, ${lines.length} records; head ${head.seq}:${head.hash}\n`,
    );
    const withHead = await workspace.run([
      'audit',
      'verify',
      'audit/keyswitch.jsonl',
      '--head',
      `${head.seq}:${head.hash}`,
    ]);
    expect(withHead.exitCode).toBe(0);
  });

  const cases: [string, () => string[], RegExp][] = [
    [
      'an edited line',
      () => lines.map((line, i) => (i === 2 ? edited(line) : line)),
      /^line 3: edited: line 3 \(seq 3\) was edited: its content does not match its hash/,
    ],
    [
      'a removed line',
      () => lines.filter((_, i) => i !== 2),
      /^line 3: removed: seq 3 is missing before line 3/,
    ],
    ['an inserted line', () => [...lines.slice(0, 2), lines[0]!, ...lines.slice(2)], /^line 3: inserted: /],
    ['reordered lines', () => [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)], /^line 3: reordered: /],
  ];
  for (const [name, change, expected] of cases) {
    it(`exits 1 naming ${name} and its kind`, async () => {
      const result = await verifyLines(change());
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(expected);
      expect(result.stderr).toMatch(
        /^keyswitch: AUDIT_TAMPERED: copy.jsonl fails verification: 1 finding \((edited|removed|inserted|reordered) 1\)/,
      );
    });
  }

  it('finds lines cut from the end with --head, by SEQ:HASH or HASH alone', async () => {
    const head = JSON.parse(lines.at(-1)!);
    expect((await verifyLines(lines.slice(0, -1))).exitCode).toBe(0); // a chain alone cannot tell
    const bySeq = await verifyLines(lines.slice(0, -1), '--head', `${head.seq}:${head.hash}`);
    expect(bySeq.exitCode).toBe(1);
    expect(bySeq.stdout).toMatch(
      new RegExp(`^line ${lines.length}: removed: the chain ends at seq ${head.seq - 1}`),
    );
    const byHash = await verifyLines(lines.slice(0, -1), '--head', head.hash);
    expect(byHash.exitCode).toBe(1);
    expect(byHash.stdout).toMatch(/removed: the recorded head [0-9a-f]{16}… is not on the chain/);
  });

  it('exits 2 for a bad --head or a missing file', async () => {
    const bad = await workspace.run(['audit', 'verify', 'audit/keyswitch.jsonl', '--head', 'abc']);
    expect(bad).toMatchObject({
      exitCode: 2,
      stderr: expect.stringMatching(/^keyswitch: USAGE: --head: expected/),
    });
    const missing = await workspace.run(['audit', 'verify', 'nope.jsonl']);
    expect(missing).toMatchObject({
      exitCode: 2,
      stderr:
        'keyswitch: INVALID_INPUT: audit file nope.jsonl cannot be read: it, or a directory on its path, does not exist (ENOENT)\n',
    });
  });
});
