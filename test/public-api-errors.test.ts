// Every function a package exports (and every static create/open/fromConfig), called with junk
// arguments from its built entry, answers with a KeyswitchError or a value: never a bare TypeError or
// RangeError from deep inside. The allow-list names the pure, typed helpers a caller cannot reach with
// junk through configuration, and the entries that would start something real, each with its reason.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from './support/softhsm2-tokens.js';

const PACKAGES = [
  'core',
  'jose',
  'x509',
  'envelope',
  'soft-hsm',
  'aws-kms',
  'kms-local',
  'conformance',
  'pkcs11',
  'cli',
];

/** The junk each parameter position gets; every function is called with each, alone and in pairs. */
const JUNK: readonly unknown[] = [undefined, null, {}, 42, 'x'];

const PURE_HELPERS =
  'a pure helper typed for its callers inside keyswitch; junk in is a type error at compile time';

/** Exports not called, and why. */
const ALLOW: Readonly<Record<string, string>> = {
  // Byte and vocabulary helpers: small, hot, typed; they do not check their arguments at run time.
  'core.bytesEqual': PURE_HELPERS,
  'core.constantTimeEqual': PURE_HELPERS,
  'core.concatBytes': PURE_HELPERS,
  'core.wipeBytes': PURE_HELPERS,
  'core.bytesToBigInt': PURE_HELPERS,
  'core.algorithmsFor': PURE_HELPERS,
  'core.defaultAlgorithm': PURE_HELPERS,
  'core.impliedUsage': PURE_HELPERS,
  'core.webCryptoImport': PURE_HELPERS,
  'core.redactReference': PURE_HELPERS,
  'core.joinPath': PURE_HELPERS,
  'core.markSecretReference': PURE_HELPERS,
  'core.activeVersionId': PURE_HELPERS,
  'core.specTemplateKey': PURE_HELPERS,
  'core.fileSystemError':
    'builds an error from a platform error it is handed; it is not called with user input',
  'core.parseWithSchema': 'takes a zod schema from code, not from input; the value it checks may be anything',
  'core.withCallDeadline':
    'wraps a function from code; its call options are checked by the handles that use it',
  'core.checkMultiKeyringReferences': 'runs on a configuration the config schema has already parsed',
  // Test-suite declarations: they take the test framework's describe/it, not user data.
  'conformance.concurrencyTests': 'declares tests with the caller’s test framework',
  'conformance.dataKeyTests': 'declares tests with the caller’s test framework',
  'conformance.encryptionTests': 'declares tests with the caller’s test framework',
  'conformance.errorTests': 'declares tests with the caller’s test framework',
  'conformance.keyAgreementTests': 'declares tests with the caller’s test framework',
  'conformance.keysAndLifecycleTests': 'declares tests with the caller’s test framework',
  'conformance.macTests': 'declares tests with the caller’s test framework',
  'conformance.randomTests': 'declares tests with the caller’s test framework',
  'conformance.signingTests': 'declares tests with the caller’s test framework',
  'conformance.conformance': 'declares tests with the caller’s test framework',
  // Report formatters: they take the report the runner returned, typed.
  'conformance.formatComparison': 'formats a report object the comparison returned',
  'conformance.formatSummaryTable': 'formats a report object the runner returned',
  'conformance.toJUnitXml': 'formats a report object the runner returned',
  'conformance.toJson': 'formats a report object the runner returned',
  'conformance.importRequestFor': 'builds an import request from a key the suite generated',
  // Entries that would start something real with defaults: a server, a whole CLI run.
  'kms-local.startKmsLocal':
    'with no options it starts a server on a software HSM; its option checks have their own tests',
  'cli.main': 'runs the command line (output, exit codes); its argument errors are tested in packages/cli',
};

interface Entry {
  readonly name: string;
  readonly call: (...args: unknown[]) => unknown;
}

async function entriesOf(pkg: string): Promise<Entry[]> {
  const module = (await import(join(repositoryRoot, 'packages', pkg, 'dist', 'index.js'))) as Record<
    string,
    unknown
  >;
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(module)) {
    if (typeof value !== 'function') continue;
    if (!/^[A-Z]/.test(name)) {
      entries.push({ name: `${pkg}.${name}`, call: value as Entry['call'] });
      continue;
    }
    for (const method of ['create', 'open', 'fromConfig']) {
      const staticMethod = (value as unknown as Record<string, unknown>)[method];
      if (typeof staticMethod === 'function' && Object.hasOwn(value, method)) {
        entries.push({
          name: `${pkg}.${name}.${method}`,
          call: (...args) => (staticMethod as Entry['call']).apply(value, args),
        });
      }
    }
  }
  return entries;
}

const SETTLE_MS = 5_000;

/** What a call did: returned (closing whatever it opened), threw a KeyswitchError, or something else. */
async function outcome(entry: Entry, args: unknown[]): Promise<string | undefined> {
  const { isKeyswitchError } = (await import(join(repositoryRoot, 'packages/core/dist/index.js'))) as {
    isKeyswitchError: (error: unknown) => boolean;
  };
  let result: unknown;
  try {
    result = entry.call(...args);
    if (result instanceof Promise) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not settle within ${SETTLE_MS} ms`)), SETTLE_MS);
      });
      try {
        result = await Promise.race([result, late]);
      } finally {
        clearTimeout(timer);
      }
    }
  } catch (error) {
    if (isKeyswitchError(error)) return undefined;
    const name = (error as Error)?.constructor?.name ?? typeof error;
    return `${name}: ${String((error as Error)?.message ?? error).slice(0, 120)}`;
  }
  const closable = result as { close?: () => unknown } | undefined;
  if (typeof closable?.close === 'function') await closable.close();
  return undefined;
}

let workDir = '';
let startDir = '';

beforeAll(async () => {
  for (const pkg of PACKAGES) {
    if (!existsSync(join(repositoryRoot, 'packages', pkg, 'dist', 'index.js')))
      throw new Error(`packages/${pkg} is not built: run pnpm build before this test`);
  }
  // A junk path ('x') lands here, not in the repository.
  startDir = process.cwd();
  workDir = await mkdtemp(join(tmpdir(), 'keyswitch-public-api-'));
  process.chdir(workDir);
});

afterAll(async () => {
  if (startDir) process.chdir(startDir);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('public API: junk arguments give a KeyswitchError, never a bare Error', () => {
  for (const pkg of PACKAGES) {
    it(`@keyswitch/${pkg}`, async () => {
      const failures: string[] = [];
      const entries = await entriesOf(pkg);
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) {
        if (ALLOW[entry.name] !== undefined) continue;
        const argumentLists = [[], ...JUNK.map((junk) => [junk]), ...JUNK.map((junk) => ['x', junk])];
        for (const args of argumentLists) {
          const wrong = await outcome(entry, args);
          if (wrong !== undefined) {
            failures.push(
              `${entry.name}(${args.map((arg) => JSON.stringify(arg) ?? 'undefined').join(', ')}) → ${wrong}`,
            );
            break;
          }
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it('the allow-list names only exports that exist', async () => {
    const names = new Set<string>();
    for (const pkg of PACKAGES) for (const entry of await entriesOf(pkg)) names.add(entry.name);
    expect(Object.keys(ALLOW).filter((name) => !names.has(name))).toEqual([]);
  });
});
