// The versions a release publishes. `pnpm version-packages` (changeset version) is run on a scratch copy of
// the workspace's manifests, changelogs and pending changesets, never on the repository itself.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../support/softhsm2-tokens.js';

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly peerDependencies?: Record<string, string>;
}

const run = promisify(execFile);
let scratch = '';

const packageDirs = async (root: string) =>
  (await readdir(join(root, 'packages'))).map((name) => join('packages', name));
const manifest = async (root: string, dir: string): Promise<Manifest> =>
  JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8'));
/** The version of a CHANGELOG.md's newest entry (`## 0.1.0`). */
const changelogVersion = async (root: string, dir: string) =>
  /^## (\S+)$/m.exec(await readFile(join(root, dir, 'CHANGELOG.md'), 'utf8'))?.[1];
/** The packages a changeset asks a major bump for (`"@keyswitch/core": major` in its front matter). */
const askedMajor = async (root: string) => {
  const names = new Set<string>();
  for (const file of (await readdir(join(root, '.changeset'))).filter((f) => f.endsWith('.md'))) {
    const front = /^---\n([\s\S]*?)\n---/.exec(await readFile(join(root, '.changeset', file), 'utf8'))?.[1];
    for (const match of front?.matchAll(/^["']?([^"':]+)["']?:\s*major\s*$/gm) ?? []) names.add(match[1]!);
  }
  return names;
};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'keyswitch-release-'));
  for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset'])
    await cp(join(repositoryRoot, file), join(scratch, file), { recursive: true });
  const workspaceDirs = [
    ...(await packageDirs(repositoryRoot)),
    ...(await readdir(join(repositoryRoot, 'examples'))).map((name) => join('examples', name)),
    'test',
    'bench',
  ];
  for (const dir of workspaceDirs) {
    if (!existsSync(join(repositoryRoot, dir, 'package.json'))) continue;
    await mkdir(join(scratch, dir), { recursive: true });
    for (const file of ['package.json', 'CHANGELOG.md'])
      if (existsSync(join(repositoryRoot, dir, file)))
        await cp(join(repositoryRoot, dir, file), join(scratch, dir, file));
  }
  await symlink(join(repositoryRoot, 'node_modules'), join(scratch, 'node_modules'), 'dir');
}, 60_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the release versions', () => {
  it('each package publishes the version its CHANGELOG.md names', async () => {
    for (const dir of await packageDirs(repositoryRoot)) {
      const { version, private: isPrivate } = await manifest(repositoryRoot, dir);
      if (isPrivate) continue;
      expect(await changelogVersion(repositoryRoot, dir), dir).toBe(version);
    }
  });

  it('pending changesets make no package major that they did not ask to be (core is a 0.x peer)', async () => {
    const before = new Map<string, Manifest>();
    for (const dir of await packageDirs(scratch)) before.set(dir, await manifest(scratch, dir));
    const asked = await askedMajor(scratch);
    await run(process.execPath, [join(scratch, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], {
      cwd: scratch,
      env: { ...process.env, CI: 'true' },
    });
    const surprises: string[] = [];
    for (const [dir, old] of before) {
      const { name, version } = await manifest(scratch, dir);
      const majorOf = (v: string) => Number(v.split('.')[0]);
      if (majorOf(version) > majorOf(old.version) && !asked.has(name))
        surprises.push(`${name}: ${old.version} → ${version}`);
      expect(await changelogVersion(scratch, dir), dir).toBe(version);
    }
    expect(
      surprises,
      'changesets makes every package that peers on core major when core leaves ^0.x: see .changeset/README.md',
    ).toEqual([]);
  });
});
