// Shell blocks that run as written. Every `sh`/`bash` block of the documentation (README.md, docs/, the
// package and example READMEs) is executed here, in a fresh workspace with the CLI of this repository's
// build on PATH as `keyswitch`, or names on the line before it what checks it instead. An unannotated block fails the test. See docs/releasing.md.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyswitch } from '@keyswitch/core';
import { Keyring } from '@keyswitch/envelope';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../packages/cli/src/main.js';
import { runCli } from '../../packages/cli/test/cli-harness.js';
import { repositoryRoot } from '../support/softhsm2-tokens.js';
import { commandLines, documentationSnippets, type Snippet, shellWords } from './markdown-snippets.js';

const CLI = join(repositoryRoot, 'packages/cli/bin/keyswitch.mjs');
const PASSPHRASE_VARIABLE = 'KEYSTORE_PASSPHRASE';

/** The configuration of the workspace an executed block runs in: two software HSMs, the docs' key names. */
const WORKSPACE_CONFIG = {
  providers: {
    dev: { type: 'soft-hsm', keystore: 'dev.keystore', passphrase: { env: PASSPHRASE_VARIABLE } },
    hsm: { type: 'soft-hsm', keystore: 'hsm.keystore', passphrase: { env: PASSPHRASE_VARIABLE } },
  },
  keys: {
    'acs-signing': { provider: 'dev', ref: 'acs-signing', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
    'pan-kek': { provider: 'dev', ref: 'pan-kek', spec: 'SYMMETRIC_DEFAULT' },
    'pan-hmac': { provider: 'dev', ref: 'pan-hmac', spec: 'HMAC_256' },
  },
};

/** Files the docs' commands read, as a user would have them. */
const WORKSPACE_FILES: Readonly<Record<string, string>> = {
  'message.json': '{"messageType":"CReq","threeDSServerTransID":"8a880dc0"}\n',
  'creq.json': '{"messageType":"CReq","threeDSServerTransID":"8a880dc0","acsTransID":"d7c1ee99"}\n',
};

/**
 * `cards.jsonl`, the stored records `keyswitch rewrap` reads: PANs in envelopes under the workspace's
 * `pan-kek` (which the block's `keys` must create), one JSON line each, as an application exports them.
 */
async function storedCards(config: string, env: Record<string, string>): Promise<string> {
  const ks = await Keyswitch.fromConfig(config, { env });
  const keyring = Keyring.create(ks);
  try {
    const lines: string[] = [];
    for (const [id, pan] of ['4111111111111111', '5500005555555559'].entries()) {
      const context = { table: 'cards' };
      const envelope = await keyring
        .envelopes('pan-kek')
        .encryptToString(new TextEncoder().encode(pan), { context });
      lines.push(JSON.stringify({ id: id + 1, envelope, context }));
    }
    return `${lines.join('\n')}\n`;
  } finally {
    await keyring.close();
    await ks.close();
  }
}

/** What the annotation on the line before a shell block says about it. */
type Check =
  | { kind: 'executed'; keys: string[]; exit: number; inRepository: boolean }
  | { kind: 'synopsis' }
  | { kind: 'tested-by'; path: string }
  | { kind: 'machine' | 'illustrative'; why: string }
  | { kind: 'use-it' }
  | { kind: 'problem'; problem: string };

function checkOf(snippet: Snippet): Check {
  const annotation = snippet.annotation;
  if (annotation === undefined)
    return {
      kind: 'problem',
      problem:
        'not executed and not annotated: add <!-- snippet: executed -->, synopsis, tested-by PATH or machine (why)',
    };
  const executed = /^executed(?:\s+\((.*)\))?$/.exec(annotation);
  if (executed) {
    const options = (executed[1] ?? '').split(';').map((part) => part.trim());
    const keys =
      options
        .find((part) => part.startsWith('keys '))
        ?.slice(5)
        .split(/,\s*/) ?? [];
    const exit = Number(options.find((part) => part.startsWith('exit '))?.slice(5) ?? 0);
    return { kind: 'executed', keys, exit, inRepository: options.includes('in the repository') };
  }
  if (annotation === 'synopsis') return { kind: 'synopsis' };
  const testedBy = /^tested-by (\S+)$/.exec(annotation);
  if (testedBy) return { kind: 'tested-by', path: testedBy[1]! };
  const reasoned = /^(machine|illustrative) \((.+)\)$/.exec(annotation);
  if (reasoned) return { kind: reasoned[1] as 'machine' | 'illustrative', why: reasoned[2]! };
  // README's "Use it": executed in full against the packed packages by test/packaging.
  if (snippet.file === 'README.md' && annotation.startsWith('run ')) return { kind: 'use-it' };
  return { kind: 'problem', problem: `unknown annotation "${annotation}" (see docs/releasing.md)` };
}

const shellBlocks = documentationSnippets(repositoryRoot).filter((s) => s.lang === 'sh' || s.lang === 'bash');
const where = (snippet: Snippet) => `${snippet.file}:${snippet.line}`;
const allSnippets = documentationSnippets(repositoryRoot);
const executedBlocks = shellBlocks.flatMap((snippet) => {
  const check = checkOf(snippet);
  return check.kind === 'executed' ? [{ snippet, check, shown: shownOutput(snippet) }] : [];
});

/**
 * The output the docs show for a block: a fence with no language right after it. `…` stands for any text.
 * An executed block must print it on stdout.
 */
function shownOutput(snippet: Snippet): RegExp | undefined {
  const end = snippet.line + snippet.code.split('\n').length + 1;
  const next = allSnippets.find(
    (candidate) => candidate.file === snippet.file && candidate.line > end && candidate.line <= end + 2,
  );
  if (next?.lang !== '' || next.annotation !== undefined) return undefined;
  const pattern = next.code
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`);
}

type Command = ReturnType<typeof buildProgram>;

const program = buildProgram({
  io: { stdout: { write: () => true }, stderr: { write: () => true } },
  env: {},
  cwd: repositoryRoot,
  configPath: () => undefined,
  exitCode: 0,
});

/** The command a `keyswitch a b ...` line names, and the words after it. */
function commandOf(words: readonly string[]): { command: Command; path: string[]; rest: string[] } {
  let command: Command = program;
  const path: string[] = [];
  let index = 0;
  for (; index < words.length; index++) {
    const sub = command.commands.find((candidate) => candidate.name() === words[index]);
    if (!sub) break;
    command = sub;
    path.push(sub.name());
  }
  return { command, path, rest: words.slice(index) };
}

const GLOBAL_FLAGS = program.options.flatMap((option) => [option.long, option.short]).filter(Boolean);

/** The words of a command line without the global options (`--config FILE`), which go anywhere. */
function withoutGlobalOptions(words: readonly string[]): string[] {
  const kept: string[] = [];
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    const option = program.options.find((candidate) => candidate.long === word || candidate.short === word);
    if (option) {
      if (option.required || option.optional) index++;
    } else kept.push(word);
  }
  return kept;
}

/** What a test file must mention for it to run the commands of a block. */
function mentionsOf(code: string): string[] {
  const mentions: string[] = [];
  for (const line of commandLines(code)) {
    const words = shellWords(line).filter((word) => !/^[A-Z_][A-Z0-9_]*=/.test(word));
    const [first, ...rest] = words;
    const cli =
      first === 'keyswitch'
        ? rest
        : first === 'node' && rest[0]?.endsWith('keyswitch.mjs')
          ? rest.slice(1)
          : undefined;
    if (cli) {
      const { path, rest: after } = commandOf(withoutGlobalOptions(cli));
      mentions.push(...path.map((name) => `'${name}'`));
      mentions.push(...after.filter((word) => word.startsWith('--')));
    } else if (first === 'node' && rest[0]) {
      mentions.push(rest[0].replace(/^.*\//, ''), ...rest.slice(1));
    } else if (first === 'npx' && rest.some((word) => word.startsWith('pnpm@'))) {
      // A root script the test runs; install and build are what the test suite itself starts from.
      const script = rest[rest.findIndex((word) => word.startsWith('pnpm@')) + 1];
      if (script && !['install', 'build'].includes(script)) mentions.push(script);
    } else if (first === 'npx' && rest[0] && !rest[0].startsWith('-')) mentions.push(rest[0]);
  }
  return mentions;
}

/** Runs a block with bash, as a reader would paste it, in a fresh workspace. */
async function execute(
  snippet: Snippet,
  check: Extract<Check, { kind: 'executed' }>,
): Promise<{ code: number | null; stdout: string; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'keyswitch-docs-'));
  try {
    const bin = join(dir, '.bin');
    await mkdir(bin);
    await writeFile(join(bin, 'keyswitch'), `#!/bin/sh\nexec node ${JSON.stringify(CLI)} "$@"\n`);
    await chmod(join(bin, 'keyswitch'), 0o755);
    const config = join(dir, 'keyswitch.json');
    await writeFile(config, JSON.stringify(WORKSPACE_CONFIG, null, 2));
    for (const [name, content] of Object.entries(WORKSPACE_FILES)) await writeFile(join(dir, name), content);
    const env = {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: dir,
      TMPDIR: dir,
      [PASSPHRASE_VARIABLE]: 'a long passphrase only the docs test knows',
    };
    for (const key of check.keys) {
      const created = await runCli(['--config', config, 'keys', 'create', key], { env, cwd: dir });
      expect(created.exitCode, `${where(snippet)}: keys create ${key}: ${created.stderr}`).toBe(0);
    }
    if (/\bcards\.jsonl\b/.test(snippet.code))
      await writeFile(join(dir, 'cards.jsonl'), await storedCards(config, env));
    const child = spawn('bash', ['-eo', 'pipefail', '-c', snippet.code], {
      cwd: check.inRepository ? repositoryRoot : dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    return { code, stdout, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('shell blocks of the documentation', () => {
  it('every block is executed here, or says what checks it', () => {
    expect(shellBlocks.length).toBeGreaterThan(30);
    expect(executedBlocks.length).toBeGreaterThanOrEqual(5);
    expect(executedBlocks.filter((block) => block.shown).length).toBeGreaterThanOrEqual(1);
    const problems: string[] = [];
    for (const snippet of shellBlocks) {
      const check = checkOf(snippet);
      if (check.kind === 'problem') problems.push(`${where(snippet)}: ${check.problem}`);
      else if (check.kind === 'tested-by') {
        const file = join(repositoryRoot, check.path);
        if (!existsSync(file)) {
          problems.push(`${where(snippet)}: ${check.path} does not exist`);
          continue;
        }
        const text = readFileSync(file, 'utf8');
        for (const mention of mentionsOf(snippet.code))
          if (!text.includes(mention))
            problems.push(`${where(snippet)}: ${check.path} never mentions ${mention}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the check refuses an unannotated block and a test that does not run the command', () => {
    const bare: Snippet = { file: 'docs/x.md', line: 1, lang: 'sh', annotation: undefined, code: 'ls' };
    expect(checkOf(bare).kind).toBe('problem');
    expect(checkOf({ ...bare, annotation: 'machine' }).kind).toBe('problem');
    expect(checkOf({ ...bare, annotation: 'executed (keys acs-signing; exit 2)' })).toEqual({
      kind: 'executed',
      keys: ['acs-signing'],
      exit: 2,
      inRepository: false,
    });
    expect(mentionsOf('npx --yes pnpm@10.34.8 install && npx --yes pnpm@10.34.8 demo')).toEqual(['demo']);
    expect(mentionsOf('keyswitch --config x.json conformance --provider hsm --compare kms')).toEqual([
      "'conformance'",
      '--provider',
      '--compare',
    ]);
  });

  it('every synopsis names only options the command has, and every option of every command is in one', () => {
    const problems: string[] = [];
    const documented = new Map<string, Set<string>>();
    for (const snippet of shellBlocks.filter((s) => checkOf(s).kind === 'synopsis')) {
      const lines = snippet.code.replace(/\n\s+(?=\[|--|-)/g, ' ').split('\n');
      for (const line of lines.filter((text) => text.startsWith('keyswitch '))) {
        const { command, path, rest } = commandOf(shellWords(line).slice(1));
        if (path.length === 0 || command.commands.length > 0) {
          problems.push(`${where(snippet)}: "${line}" names no command`);
          continue;
        }
        const name = path.join(' ');
        const flags = rest.join(' ').match(/--[a-z][a-z0-9-]*/g) ?? [];
        const known = command.options.map((option) => option.long);
        for (const flag of flags) {
          if (!known.includes(flag) && !GLOBAL_FLAGS.includes(flag))
            problems.push(`${where(snippet)}: keyswitch ${name} has no option ${flag}`);
        }
        documented.set(name, new Set([...(documented.get(name) ?? []), ...flags]));
      }
    }
    const leaves = (command: Command, path: string[] = []): { name: string; command: Command }[] =>
      command.commands.flatMap((sub) =>
        sub.commands.length > 0
          ? leaves(sub, [...path, sub.name()])
          : [{ name: [...path, sub.name()].join(' '), command: sub }],
      );
    for (const { name, command } of leaves(program)) {
      const flags = documented.get(name);
      if (!flags) {
        problems.push(`keyswitch ${name} has no synopsis in the docs`);
        continue;
      }
      for (const option of command.options)
        if (option.long && !flags.has(option.long))
          problems.push(`keyswitch ${name}: ${option.long} is missing from its synopsis`);
    }
    expect(problems).toEqual([]);
  });

  it('the CLI is built (the executed blocks run packages/cli/bin/keyswitch.mjs)', () => {
    expect(existsSync(join(repositoryRoot, 'packages/cli/dist/index.js')), 'run pnpm build first').toBe(true);
  });

  it.each(
    executedBlocks.map(({ snippet, check, shown }) => {
      const title = `${where(snippet)}${shown ? ', printing the output shown after it,' : ''}`;
      return [title, snippet, check, shown] as const;
    }),
  )(
    '%s runs as written',
    async (_where, snippet, check, shown) => {
      const { code, stdout, output } = await execute(snippet, check);
      expect(code, output).toBe(check.exit);
      if (shown) expect(stdout.trimEnd()).toMatch(shown);
    },
    60_000,
  );
});
