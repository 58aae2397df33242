// Documentation that runs as written: every fenced block of README.md, docs/ and the package and example
// READMEs is either checked here, executed (README "Use it" in test/packaging; shell blocks in
// shell-snippets.test.ts), typechecked (typechecked-snippets.test.ts), or taken word for word from a file a
// test runs. See docs/releasing.md.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '@keyswitch/core';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../packages/cli/src/main.js';
import { repositoryRoot } from '../support/softhsm2-tokens.js';
import {
  commandLines,
  documentationSnippets,
  runsAsOf,
  runsAsProblem,
  type Snippet,
  shellWords,
} from './markdown-snippets.js';

/** The test that runs each file (or the files under each directory) a `runs-as` block may name. */
const RUNNERS: Readonly<Record<string, string>> = {
  'examples/3ds/': 'test/3ds-example.test.ts',
  'examples/pci-pan-vault/': 'test/pci-pan-vault.test.ts',
  'examples/quickstart/': 'test/docs/quickstart.test.ts',
  'test/packaging/apps/': 'test/packaging/packed-tarballs.test.ts',
  'test/docs/telemetry-example.ts': 'test/telemetry.test.ts',
};

/** The test that runs `path`: the file itself when it is a test file. */
function runnerOf(path: string): string | undefined {
  if (path.endsWith('.test.ts')) return path;
  const prefix = Object.keys(RUNNERS).find((candidate) => path === candidate || path.startsWith(candidate));
  return prefix === undefined ? undefined : RUNNERS[prefix];
}

const snippets = documentationSnippets(repositoryRoot);
/** The pnpm the repository pins (`packageManager`), which its docs run through npx. */
const PINNED_PNPM = (
  JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as { packageManager: string }
).packageManager;
const rootScripts = Object.keys(
  (
    JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts,
);
const program = buildProgram({
  io: { stdout: { write: () => true }, stderr: { write: () => true } },
  env: {},
  cwd: repositoryRoot,
  configPath: () => undefined,
  exitCode: 0,
});

type Command = ReturnType<typeof buildProgram>;
type Option = Command['options'][number];

const where = (snippet: Snippet) => `${snippet.file}:${snippet.line}`;

/** Problems with a `keyswitch ...` command line, as the CLI's own parser sees it. */
function cliProblems(args: string[]): string[] {
  let command: Command = program;
  const problems: string[] = [];
  const known = (cmd: Command, flag: string): Option | undefined =>
    cmd.options.find((option) => option.long === flag || option.short === flag);
  for (let index = 0; index < args.length; index++) {
    const word = args[index] ?? '';
    if (word === '--help' || word === '-h' || word === '--version' || word === '-V') continue;
    if (word.startsWith('-')) {
      const flag = word.split('=')[0] ?? word;
      const option = known(command, flag) ?? known(program, flag);
      if (!option) problems.push(`unknown option ${flag} for "${command.name()}"`);
      else if ((option.required || option.optional) && !word.includes('=')) index++;
      continue;
    }
    const sub = command.commands.find((candidate) => candidate.name() === word);
    if (sub) command = sub;
    else if (command.commands.length > 0 && command.registeredArguments.length === 0)
      problems.push(`unknown command "${word}" under "${command.name()}"`);
  }
  return problems;
}

describe('documentation snippets', () => {
  it('finds the snippets of the documentation, and the command-line check catches drift', () => {
    expect(snippets.length).toBeGreaterThan(50);
    expect(cliProblems(['kms-local', '--no-such-flag', 'keyswitch.json'])).toEqual([
      'unknown option --no-such-flag for "kms-local"',
    ]);
    expect(cliProblems(['keys', 'lsit'])).toEqual(['unknown command "lsit" under "keys"']);
    expect(cliProblems(['-c', 'x.json', 'keys', 'create', 'pan-kek', '--json'])).toEqual([]);
  });

  it('every configuration in the docs is valid against the configuration schema', () => {
    const problems: string[] = [];
    for (const snippet of snippets.filter((s) => s.lang === 'json')) {
      if (snippet.annotation?.startsWith('illustrative')) continue;
      let value: unknown;
      try {
        value = JSON.parse(snippet.code);
      } catch {
        problems.push(`${where(snippet)}: not valid JSON (annotate it illustrative if it is a fragment)`);
        continue;
      }
      if (typeof value !== 'object' || value === null || !('providers' in value) || !('keys' in value))
        continue;
      const parsed = configSchema.safeParse(value);
      if (!parsed.success) problems.push(`${where(snippet)}: ${parsed.error.issues[0]?.message}`);
    }
    expect(problems).toEqual([]);
  });

  it('every keyswitch command line parses, every pnpm script exists, every file a command runs exists', () => {
    const problems: string[] = [];
    for (const snippet of snippets.filter((s) => s.lang === 'sh' || s.lang === 'bash')) {
      if (snippet.annotation?.startsWith('illustrative')) continue;
      let cwd = repositoryRoot;
      for (const line of commandLines(snippet.code)) {
        const words = shellWords(line).filter((word) => !/^[A-Z_][A-Z0-9_]*=/.test(word));
        const [first, ...rest] = words;
        const pnpmIndex = words.findIndex((word) => word === 'pnpm' || word.startsWith('pnpm@'));
        if (first === 'cd' && rest[0]) cwd = join(cwd, rest[0]);
        else if (first === 'keyswitch' || (first === 'npx' && rest[0] === 'keyswitch'))
          for (const problem of cliProblems(first === 'npx' ? rest.slice(1) : rest))
            problems.push(`${where(snippet)}: ${line}: ${problem}`);
        else if (pnpmIndex !== -1) {
          const script = words[pnpmIndex + 1];
          const builtIn = [
            'install',
            'add',
            'exec',
            'dlx',
            '-r',
            '--filter',
            'pack',
            'approve-builds',
            'changeset',
          ];
          if (script && !builtIn.includes(script) && !script.startsWith('-') && !rootScripts.includes(script))
            problems.push(`${where(snippet)}: ${line}: no root script "${script}"`);
        } else if ((first === 'node' || first === 'bash') && rest[0] && !rest[0].startsWith('-')) {
          const target = rest[0];
          if (!/\.(m?js|cjs|sh)$/.test(target)) continue;
          if (snippet.file === 'README.md' && target === 'app.mjs') continue; // written by "Use it"
          if (!existsSync(join(cwd, target)))
            problems.push(`${where(snippet)}: ${line}: ${target} does not exist`);
        } else if (first?.startsWith('scripts/') && !existsSync(join(cwd, first)))
          problems.push(`${where(snippet)}: ${line}: ${first} does not exist`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every TypeScript or JavaScript block is run or typechecked by a test, or says why not', () => {
    const problems: string[] = [];
    for (const snippet of snippets.filter((s) => ['ts', 'js', 'typescript', 'javascript'].includes(s.lang))) {
      const annotation = snippet.annotation ?? '';
      if (runsAsOf(snippet)) {
        // checked word for word below
      } else if (/^typechecked(?: \(given .+\))?$/.test(annotation)) {
        // typechecked by typechecked-snippets.test.ts
      } else if (annotation.startsWith('file ') && snippet.file === 'README.md') {
        // executed by test/packaging (README "Use it")
      } else if (annotation.startsWith('illustrative')) {
        if (!/\(.+\)/.test(annotation)) problems.push(`${where(snippet)}: say why it is illustrative`);
      } else
        problems.push(
          `${where(snippet)}: not run by any test; annotate it runs-as PATH, or typechecked (see docs/releasing.md)`,
        );
    }
    expect(problems).toEqual([]);
  });

  it('every runs-as block is, word for word, in a file a test runs', () => {
    const blocks = snippets.filter((snippet) => runsAsOf(snippet));
    expect(blocks.length).toBeGreaterThanOrEqual(25);
    const problems: string[] = [];
    for (const snippet of blocks) {
      const { path } = runsAsOf(snippet)!;
      const problem = runsAsProblem(repositoryRoot, snippet);
      if (problem) problems.push(`${where(snippet)}: ${problem}`);
      const runner = runnerOf(path);
      if (!runner) problems.push(`${where(snippet)}: no test is known to run ${path} (see RUNNERS)`);
      else if (!existsSync(join(repositoryRoot, runner)))
        problems.push(`${where(snippet)}: ${runner}, which runs ${path}, does not exist`);
    }
    expect(problems).toEqual([]);
  });

  it('the word-for-word check refuses a changed block, a partial word and a missing region', () => {
    const block = (code: string, annotation: string): Snippet => ({
      file: 'docs/x.md',
      line: 1,
      lang: 'ts',
      annotation,
      code,
    });
    const file = 'test/docs/telemetry-example.ts';
    const line =
      "const signature = await ks.signer('acs-signing').sign(payload, { requestId: 'txn-8f14e45f' });";
    expect(runsAsProblem(repositoryRoot, block(line, `runs-as ${file}`))).toBe(undefined);
    expect(
      runsAsProblem(repositoryRoot, block(line.replace(' await', '\n    await'), `runs-as ${file}`)),
    ).toBe(undefined);
    for (const changed of [line.replace('txn-8f14e45f', 'txn-1'), line.slice(1), line.slice(0, -1)])
      expect(runsAsProblem(repositoryRoot, block(changed, `runs-as ${file}`))).toMatch(/word for word/);
    expect(runsAsProblem(repositoryRoot, block('await ks.close();', `runs-as ${file} nowhere`))).toMatch(
      /no docs:begin nowhere/,
    );
    // A named region must be the whole block: a part of it is not enough.
    const dir = mkdtempSync(join(tmpdir(), 'keyswitch-docs-region-'));
    try {
      writeFileSync(
        join(dir, 'app.ts'),
        'const a = 1;\n  // docs:begin sign\n  const b = 2;\n  const c = 3;\n  // docs:end sign\n',
      );
      expect(runsAsProblem(dir, block('const b = 2;\nconst c = 3;', 'runs-as app.ts sign'))).toBe(undefined);
      expect(runsAsProblem(dir, block('const b = 2;', 'runs-as app.ts sign'))).toMatch(/differs from/);
      expect(runsAsProblem(dir, block('const b = 2;', 'runs-as app.ts'))).toBe(undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("no documentation runs a bare pnpm: the repository's commands run pnpm through npx, pinned", () => {
    const problems: string[] = [];
    for (const snippet of snippets.filter((s) => s.lang === 'sh' || s.lang === 'bash')) {
      if (snippet.annotation === 'synopsis') continue;
      for (const line of commandLines(snippet.code)) {
        const words = shellWords(line).filter((word) => !/^[A-Z_][A-Z0-9_]*=/.test(word));
        // A package README may say how an application installs it with its own pnpm.
        const applicationInstall =
          snippet.file.startsWith('packages/') && ['add', 'approve-builds'].includes(words[1] ?? '');
        if (words[0] === 'pnpm' && !applicationInstall)
          problems.push(
            `${where(snippet)}: "${line}": write npx --yes ${PINNED_PNPM} (or npm for an application)`,
          );
        const pinned = words.find((word) => word.startsWith('pnpm@'));
        if (pinned && pinned !== PINNED_PNPM)
          problems.push(`${where(snippet)}: ${pinned} is not ${PINNED_PNPM}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("every package README's install line installs the package, its peers, and packages that exist", () => {
    const manifests = new Map(
      readdirSync(join(repositoryRoot, 'packages')).map((dir) => {
        const manifest = JSON.parse(
          readFileSync(join(repositoryRoot, 'packages', dir, 'package.json'), 'utf8'),
        ) as {
          name: string;
          peerDependencies?: Record<string, string>;
          peerDependenciesMeta?: Record<string, { optional?: boolean }>;
        };
        return [`packages/${dir}/README.md`, manifest] as const;
      }),
    );
    const names = new Set([...manifests.values()].map((manifest) => manifest.name));
    const problems: string[] = [];
    for (const [readme, manifest] of manifests) {
      const installs = snippets
        .filter((snippet) => snippet.file === readme && (snippet.lang === 'sh' || snippet.lang === 'bash'))
        .flatMap((snippet) => commandLines(snippet.code))
        .map(shellWords)
        .filter(
          ([tool, verb]) => (tool === 'npm' && verb === 'install') || (tool === 'pnpm' && verb === 'add'),
        )
        .map((words) => words.slice(2).filter((word) => !word.startsWith('-')));
      if (installs.length === 0) problems.push(`${readme}: no install line`);
      const required = Object.keys(manifest.peerDependencies ?? {}).filter(
        (peer) => names.has(peer) && !manifest.peerDependenciesMeta?.[peer]?.optional,
      );
      for (const packages of installs) {
        for (const name of packages)
          if ((name.startsWith('@keyswitch/') || name === 'keyswitch') && !names.has(name))
            problems.push(`${readme}: installs ${name}, which is no package of this repository`);
        for (const wanted of [manifest.name, ...required])
          if (!packages.includes(wanted)) problems.push(`${readme}: "${packages.join(' ')}" lacks ${wanted}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('illustrative snippets stay rare', () => {
    const illustrative = snippets.filter((s) => s.annotation?.startsWith('illustrative'));
    expect(illustrative.length).toBeLessThanOrEqual(Math.ceil(snippets.length / 10));
  });
});
