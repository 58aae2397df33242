// The packages as a user gets them: every package is packed (`pnpm pack`), checked with publint and
// @arethetypeswrong, and installed with npm into fresh applications outside the workspace: a CommonJS app,
// an ESM TypeScript app (moduleResolution node16 and bundler), an esbuild bundle, and the CLI alone.
import { spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { build } from 'esbuild';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snippetsOf } from '../docs/markdown-snippets.js';
import { repositoryRoot, softHsm2Tokens } from '../support/softhsm2-tokens.js';

const PNPM = ['--yes', 'pnpm@10.34.8'];
/**
 * A registry request that hangs (the connection open, no answer) is given up after 30 s and tried again,
 * rather than after npm's 5 minutes: one such request once held an install past this file's time limit.
 */
const NPM_INSTALL = [
  'install',
  '--prefer-offline',
  '--no-audit',
  '--no-fund',
  '--loglevel=error',
  '--fetch-timeout=30000',
  '--fetch-retries=4',
];
/** kms-local's published test credentials; the apps read the secret from this variable. */
const KMS_LOCAL_SECRET = { KMS_LOCAL_SECRET_ACCESS_KEY: 'keyswitch-local-secret-access-key' };

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment without what the workspace's tools add (pnpm's bin shims set NODE_PATH to the
 * workspace's store, which would let an app outside the workspace find packages it never installed).
 */
function cleanEnvironment(): Record<string, string | undefined> {
  const { NODE_PATH: _path, NODE_OPTIONS: _options, ...env } = process.env;
  // A user's shell has no package-manager lifecycle variables; npm warns about pnpm's npm_config_* ones.
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^npm_/i.test(name)));
}

/** Runs a command to completion; never throws for a non-zero exit (the caller asserts). */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; input?: string },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...cleanEnvironment(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Like {@link run}, failing with the command's output when it exits non-zero. */
async function runOk(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; input?: string },
): Promise<Run> {
  const result = await run(command, args, options);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/**
 * Every link target of a Markdown file: inline links and images (`[text](target)`), reference definitions
 * (`[name]: target`) and HTML `href`/`src` attributes, outside code.
 */
function readmeLinks(markdown: string): string[] {
  const targets: string[] = [];
  const prose = markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '');
  for (const [, target] of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
    targets.push(target!);
  for (const [, target] of prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm))
    targets.push(target!);
  for (const [, target] of prose.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)) targets.push(target!);
  return targets;
}

let workDir = '';
let tarballs: string[] = [];
let tokenEnv: Record<string, string> | undefined;
const lightDir = () => join(workDir, 'light');
const appsDir = () => join(workDir, 'apps');

beforeAll(async () => {
  for (const name of await readdir(join(repositoryRoot, 'packages'))) {
    if (!existsSync(join(repositoryRoot, 'packages', name, 'dist', 'index.js')))
      throw new Error(`packages/${name} is not built: run pnpm build before this test`);
  }
  workDir = await mkdtemp(join(tmpdir(), 'keyswitch-packaging-'));
  const tarballDir = join(workDir, 'tarballs');
  await runOk('npx', [...PNPM, '-r', '--filter', './packages/**', 'pack', '--pack-destination', tarballDir], {
    cwd: repositoryRoot,
  });
  tarballs = (await readdir(tarballDir))
    .filter((file) => file.endsWith('.tgz'))
    .map((f) => join(tarballDir, f));
  const tokens = softHsm2Tokens(join(workDir, 'tokens'), 'packaging');
  tokenEnv = 'env' in tokens ? tokens.env : undefined;

  // The CLI alone, without @keyswitch/pkcs11 (an optional peer), so without a native build.
  await mkdir(lightDir());
  await writeFile(join(lightDir(), 'package.json'), '{ "name": "cli-user", "private": true }\n');
  const light = tarballs.filter((file) => !file.includes('keyswitch-pkcs11-'));
  // The applications share one install, so pkcs11js is built once.
  await cp(join(import.meta.dirname, 'apps'), appsDir(), { recursive: true });
  await writeFile(join(appsDir(), 'package.json'), '{ "name": "apps", "private": true }\n');
  await Promise.all([
    runOk('npm', [...NPM_INSTALL, ...light], { cwd: lightDir() }),
    runOk('npm', [...NPM_INSTALL, ...tarballs, '@types/node@^20.19.0'], { cwd: appsDir() }),
  ]);
}, 600_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('packed packages', () => {
  it('every package passes publint (strict) and @arethetypeswrong', async () => {
    expect(tarballs).toHaveLength((await readdir(join(repositoryRoot, 'packages'))).length);
    const problems: string[] = [];
    for (const tarball of tarballs) {
      const data = await readFile(tarball);
      const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      const lint = await publint({ pack: { tarball: bytes }, strict: true, level: 'suggestion' });
      for (const message of lint.messages)
        problems.push(`publint ${tarball}: ${formatMessage(message, lint.pkg) ?? message.code}`);
      const types = await checkPackage(createPackageFromTarballData(new Uint8Array(data)));
      if (types.types === false) problems.push(`attw ${tarball}: no types`);
      else for (const problem of types.problems) problems.push(`attw ${tarball}: ${JSON.stringify(problem)}`);
    }
    expect(problems).toEqual([]);
  });

  it('ships the Apache-2.0 LICENSE, the repository metadata and README links that work on the registry page', async () => {
    // Every packed package, as installed in the applications' directory (the CLI-alone install lacks pkcs11).
    const names = await Promise.all(
      (await readdir(join(repositoryRoot, 'packages'))).map(
        async (dir) =>
          [
            dir,
            JSON.parse(await readFile(join(repositoryRoot, 'packages', dir, 'package.json'), 'utf8')).name,
          ] as const,
      ),
    );
    expect(names.map(([, name]) => name)).toEqual(expect.arrayContaining(['keyswitch', '@keyswitch/pkcs11']));
    const problems: string[] = [];
    for (const [dir, name] of names) {
      const installed = join(appsDir(), 'node_modules', name);
      expect(await readFile(join(installed, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
      const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
      expect(manifest.repository, name).toMatchObject({
        type: 'git',
        url: 'git+https://github.com/keyswitch/keyswitch.git',
        directory: `packages/${dir}`,
      });
      expect(manifest.homepage, name).toBe(
        `https://github.com/keyswitch/keyswitch/tree/main/packages/${dir}#readme`,
      );
      expect(manifest.bugs, name).toEqual({ url: 'https://github.com/keyswitch/keyswitch/issues' });
      // The CLI is an application: it depends on core; the libraries peer on it.
      if (name !== 'keyswitch') expect(manifest.dependencies?.['@keyswitch/core']).toBeUndefined();
      if (name !== '@keyswitch/core' && name !== 'keyswitch')
        expect(manifest.peerDependencies?.['@keyswitch/core']).toMatch(/^\^\d/);
      expect(JSON.stringify(manifest.exports ?? {})).not.toContain('src/');
      for (const target of readmeLinks(await readFile(join(installed, 'README.md'), 'utf8'))) {
        if (/^(?:https?:|#)/.test(target)) continue;
        // A relative link works on the registry page only if it names a file of the package itself.
        const file = resolve(installed, target.replace(/[#?].*$/, ''));
        if (!file.startsWith(`${installed}${sep}`) || !existsSync(file))
          problems.push(`${name} README links to ${target}, which is not in the package`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the CLI from its tarball', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run('node', [join(lightDir(), 'node_modules', '.bin', 'keyswitch'), ...args], { cwd: lightDir(), env });

  it('installs without @keyswitch/pkcs11 or a native build, and manages soft-hsm keys', async () => {
    expect(existsSync(join(lightDir(), 'node_modules', 'pkcs11js'))).toBe(false);
    expect(existsSync(join(lightDir(), 'node_modules', '@keyswitch', 'pkcs11'))).toBe(false);
    const version = await cli(['--version']);
    expect(version.stdout.trim()).toBe('0.1.0');
    await writeFile(
      join(lightDir(), 'keyswitch.json'),
      JSON.stringify({
        environment: 'development',
        providers: {
          dev: { type: 'soft-hsm', keystore: 'dev.keystore', passphrase: { env: 'KEYSTORE_PASSPHRASE' } },
        },
        keys: {
          'acs-signing': { provider: 'dev', ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
        },
      }),
    );
    const env = { KEYSTORE_PASSPHRASE: 'packaging test passphrase' };
    const created = await cli(['keys', 'create', 'acs-signing'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const publicKey = await cli(['keys', 'public-key', 'acs-signing'], env);
    expect(publicKey.code).toBe(0);
    expect(createPublicKey(publicKey.stdout).asymmetricKeyDetails).toMatchObject({
      namedCurve: 'prime256v1',
    });
  });

  it('answers a pkcs11 provider without @keyswitch/pkcs11 with CONFIG_INVALID naming the fix', async () => {
    await writeFile(
      join(lightDir(), 'pkcs11.json'),
      JSON.stringify({
        environment: 'development',
        providers: {
          hsm: { type: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', pin: { env: 'PIN' } },
        },
        keys: {
          k: {
            provider: 'hsm',
            ref: 'pkcs11:object=k;type=private',
            spec: 'ECC_NIST_P256',
            algorithm: 'ECDSA_SHA_256',
          },
        },
      }),
    );
    const listed = await cli(['keys', 'list', '-c', 'pkcs11.json']);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(/CONFIG_INVALID/);
    expect(listed.stderr).toMatch(/providers\.hsm\.type/);
    expect(listed.stderr).toMatch(/npm install @keyswitch\/pkcs11/);
    expect(listed.stderr).toMatch(/pnpm/);
  });

  it('with @keyswitch/pkcs11 but an unbuilt pkcs11js, the first operation is CONFIG_INVALID naming both fixes', async () => {
    // What pnpm 10 leaves by default, and npm with --ignore-scripts: pkcs11js installed, its addon not built.
    // Added to the CLI-alone app (no second install of the rest), so this runs after the tests above that
    // need that app without @keyswitch/pkcs11.
    const pkcs11 = tarballs.find((file) => file.includes('keyswitch-pkcs11-'));
    await runOk('npm', [...NPM_INSTALL, '--ignore-scripts', pkcs11!], { cwd: lightDir() });
    const pkcs11js = join(lightDir(), 'node_modules', 'pkcs11js');
    expect(existsSync(join(pkcs11js, 'package.json'))).toBe(true);
    expect(existsSync(join(pkcs11js, 'build'))).toBe(false);

    // An application: configuration, then its first operation.
    await writeFile(
      join(lightDir(), 'unbuilt.json'),
      JSON.stringify({
        environment: 'development',
        providers: {
          hsm: {
            type: 'pkcs11',
            profile: 'softhsm',
            module: '/usr/lib/softhsm/libsofthsm2.so',
            token: { label: 'keyswitch' },
            pin: { env: 'PIN' },
          },
        },
        keys: {
          k: {
            provider: 'hsm',
            ref: 'pkcs11:object=k;type=private',
            spec: 'ECC_NIST_P256',
            algorithm: 'ECDSA_SHA_256',
          },
        },
      }),
    );
    await writeFile(
      join(lightDir(), 'first-operation.mjs'),
      `import { isKeyswitchError, Keyswitch } from '@keyswitch/core';
const keyswitch = await Keyswitch.fromConfig('unbuilt.json', { env: { PIN: 'never-used' } });
try {
  await keyswitch.signer('k').sign(new TextEncoder().encode('first'));
  console.log(JSON.stringify({ signed: true }));
} catch (error) {
  const { code, retryable, path, message } = error;
  console.log(JSON.stringify({ keyswitchError: isKeyswitchError(error), code, retryable, path, message }));
} finally {
  await keyswitch.close();
}
`,
    );
    const { stdout } = await runOk('node', ['first-operation.mjs'], { cwd: lightDir() });
    const failure = JSON.parse(stdout);
    expect(failure).toMatchObject({
      keyswitchError: true,
      code: 'CONFIG_INVALID',
      retryable: false,
      path: 'providers.hsm.module',
    });
    expect(failure.message).toContain('npm rebuild pkcs11js');
    expect(failure.message).toContain('pnpm approve-builds');
    expect(failure.message).not.toContain('never-used');

    // The CLI says the same, as a configuration error.
    const listed = await cli(['keys', 'list', '-c', 'unbuilt.json'], { PIN: 'never-used' });
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(/^keyswitch: CONFIG_INVALID: .*providers\.hsm\.module/);
    expect(listed.stderr).toContain('npm rebuild pkcs11js');
    expect(listed.stderr).toContain('pnpm approve-builds');
  });
});

describe('applications outside the workspace', () => {
  const appEnv = () => ({ ...tokenEnv, ...KMS_LOCAL_SECRET });
  const typescript = join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const expectRun = (output: string) => {
    const result = JSON.parse(output);
    expect(result.verified).toEqual({ 'soft-signing': true, 'hsm-signing': true, 'kms-signing': true });
    expect(result.missingKey).toEqual({ instanceOfKeyswitchError: true, code: 'KEY_NOT_FOUND' });
    return result;
  };

  it('a CommonJS app loads every backend from configuration with one copy of core', async (context) => {
    if (!tokenEnv) {
      // softHsm2Tokens has said why (and threw under CI=true); a missing token never passes silently.
      if (process.env.CI === 'true') throw new Error('CI=true: the SoftHSM2 token is required');
      context.skip('no SoftHSM2 token');
    }
    const { stdout } = await runOk('node', ['cjs/app.cjs'], { cwd: appsDir(), env: appEnv() });
    const result = expectRun(stdout);
    expect(result.coreBuilds).toHaveLength(1);
    expect(result.coreBuilds[0]).toMatch(/index\.cjs$/);
  });

  it('an ESM TypeScript app typechecks with moduleResolution node16 and bundler, and runs', async (context) => {
    if (!tokenEnv) {
      if (process.env.CI === 'true') throw new Error('CI=true: the SoftHSM2 token is required');
      context.skip('no SoftHSM2 token');
    }
    await runOk('node', [typescript, '-p', 'esm/tsconfig.bundler.json'], { cwd: appsDir() });
    await runOk('node', [typescript, '-p', 'esm/tsconfig.node16.json'], { cwd: appsDir() });
    const { stdout } = await runOk('node', ['esm/out/app.js'], { cwd: appsDir(), env: appEnv() });
    const result = expectRun(stdout);
    expect(result.jwkMatches).toEqual({ 'soft-signing': true, 'hsm-signing': true, 'kms-signing': true });
  });

  it('an esbuild bundle runs alone with the backends it imports passed in', async () => {
    const outDir = join(workDir, 'lambda');
    await build({
      entryPoints: [join(appsDir(), 'bundle', 'lambda.ts')],
      outfile: join(outDir, 'index.mjs'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      logLevel: 'error',
      // Some dependencies are CommonJS and call require(): give the ESM bundle one.
      banner: {
        js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);",
      },
    });
    // Nothing to resolve at run time: the bundle is alone in its directory.
    expect(await readdir(outDir)).toEqual(['index.mjs']);
    const { stdout } = await runOk('node', ['index.mjs'], { cwd: outDir, env: KMS_LOCAL_SECRET });
    expect(JSON.parse(stdout)).toEqual({ macBytes: 32, roundTrip: true });
  });
});

describe('README "Use it", as written, against the packed packages', () => {
  it('installs, creates the configured keys and runs the app', async () => {
    const readme = snippetsOf('README.md', await readFile(join(repositoryRoot, 'README.md'), 'utf8'));
    const dir = join(workDir, 'readme');
    await mkdir(dir);
    // The packages the install line names are the tarballs installed in the CLI-alone app.
    await symlink(join(lightDir(), 'node_modules'), join(dir, 'node_modules'), 'dir');
    for (const snippet of readme) {
      const file = /^file (\S+)$/.exec(snippet.annotation ?? '')?.[1];
      if (file) await writeFile(join(dir, file), `${snippet.code}\n`);
    }
    const script = readme.find((snippet) => snippet.annotation?.startsWith('run '));
    expect(script, 'README "Use it" has a <!-- snippet: run ... --> shell block').toBeDefined();
    const lines = script!.code.split('\n');
    const install = lines.find((line) => line.startsWith('npm install '));
    expect(install).toBeDefined();
    for (const name of install!.split(/\s+/).slice(2))
      expect(existsSync(join(lightDir(), 'node_modules', name, 'package.json')), `${name} installed`).toBe(
        true,
      );
    const rest = lines.filter((line) => line !== install).join('\n');
    const { stdout, stderr } = await runOk('bash', ['-euo', 'pipefail', '-c', rest], { cwd: dir });
    expect(stderr, stderr).toBe('');
    expect(stdout).toMatch(/signature verified by node:crypto: true/);
    expect(stdout).toMatch(/PAN lookup token: [0-9a-f]{64}/);
  });
});
