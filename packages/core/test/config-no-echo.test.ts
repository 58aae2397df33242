import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect, promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { positionOf, scanJson } from '../src/config/scan-json.js';
import { isKeyswitchError, Keyswitch, type KeyswitchError, loadConfig } from '../src/index.js';
import { MALFORMED, MISTYPED_REFERENCES } from './support/malformed-configs.js';

const execute = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyswitch-config-echo-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Everything an error can show: message, stack, util.inspect, toJSON and the whole cause chain. */
function everythingPrinted(error: unknown): string {
  const parts: string[] = [];
  for (let at: unknown = error, depth = 0; at !== undefined && depth < 10; depth++) {
    parts.push(inspect(at, { depth: 10 }), String(at));
    if (at instanceof Error) parts.push(at.message, at.stack ?? '');
    if (isKeyswitchError(at)) parts.push(JSON.stringify(at.toJSON()));
    at = at instanceof Error ? at.cause : undefined;
  }
  return parts.join('\n');
}

async function loadError(text: string, name = 'keyswitch.json'): Promise<KeyswitchError> {
  const file = join(dir, name);
  await writeFile(file, text);
  try {
    await loadConfig(file);
  } catch (error) {
    if (isKeyswitchError(error, 'CONFIG_INVALID')) return error;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('configuration errors never echo the file', () => {
  it.each(MALFORMED)('$name: file, line, column and JSON path, and none of the content', async (bad) => {
    const error = await loadError(bad.text);
    expect(error.message).toContain(`keyswitch.json is not valid JSON at ${bad.at}: expected `);
    expect(error.path).toBe(bad.path);
    const printed = everythingPrinted(error);
    for (const secret of bad.secrets) expect(printed).not.toContain(secret);
  });

  it('names a PIN file given as KEYSWITCH_CONFIG without printing the PIN', async () => {
    await writeFile(join(dir, 'pin'), 'hsm4Pin9\n');
    const error = await loadConfig(undefined, { env: { KEYSWITCH_CONFIG: 'pin' }, cwd: dir }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(everythingPrinted(error)).not.toContain('hsm4Pin9');
    await writeFile(join(dir, 'numeric-pin'), '04711\n'); // not JSON either: a leading zero
    const numeric = await loadConfig(join(dir, 'numeric-pin')).catch((e) => e);
    expect(everythingPrinted(numeric)).not.toContain('4711');
    await writeFile(join(dir, 'json-pin'), '4711\n'); // valid JSON: the schema refuses a number
    const schema = await loadConfig(join(dir, 'json-pin')).catch((e) => e);
    expect(schema).toMatchObject({ code: 'CONFIG_INVALID', path: '(root)' });
    expect(everythingPrinted(schema)).not.toContain('4711');
  });

  it('gives the line and column of a schema problem too', async () => {
    const error = await loadError(
      '{\n  "providers": { "dev": { "type": "soft-hsm" } },\n  "keys": {\n    "k": { "provider": "dev", "ref": "k", "spec": "RSA_1024" }\n  }\n}\n',
    );
    expect(error.path).toBe('keys.k.spec');
    expect(error.message).toMatch(/keyswitch\.json: expected one of .* \(line 4, column 51\)$/);
  });

  it('refuses a property given twice (readers disagree on which copy counts)', async () => {
    const error = await loadError('{"providers":{"dev":{"type":"soft-hsm","type":"pkcs11"}},"keys":{}}');
    expect(error.message).toMatch(/at line 1, column 40: expected each property once/);
    expect(error.path).toBe('providers.dev.type');
  });

  it('agrees with the platform parser on what is JSON, and on where it breaks', () => {
    const cases = [
      '{',
      '{"a":1,}',
      '[1,2',
      '"\u0001"',
      '{"a" 1}',
      '01',
      '-',
      '1 2',
      '{"a":tru}',
      '"\\x"',
      '[]x',
      ' ',
    ];
    for (const text of cases) {
      const problem = scanJson(text);
      expect(problem, text).toBeDefined();
      let position: number | undefined;
      try {
        JSON.parse(text);
      } catch (error) {
        position = Number(/at position (\d+)/.exec((error as Error).message)?.[1] ?? Number.NaN);
      }
      if (position !== undefined && !Number.isNaN(position)) expect(problem!.offset, text).toBe(position);
    }
    for (const text of ['{}', '[1,{"a":[true,false,null]},"\\u00e9\\n"]', ' -0.5e+3 ', '"x"']) {
      expect(scanJson(text), text).toBeUndefined();
    }
    expect(positionOf('{\n  "pin": x\n}', 11)).toEqual({ line: 2, column: 10 });
  });
});

describe('names that reach the prototype', () => {
  it.each([
    ['providers', '__proto__'],
    ['providers', 'constructor'],
    ['keys', '__proto__'],
    ['keys', 'constructor'],
    ['versions', '__proto__'],
    ['versions', 'constructor'],
  ])('refuses %s.%s instead of dropping it', async (section, name) => {
    const config: Record<string, unknown> = {
      providers: { dev: { type: 'soft-hsm' } },
      keys: { k: { provider: 'dev', ref: 'k', spec: 'SYMMETRIC_DEFAULT' } },
    };
    const entry =
      section === 'providers'
        ? '{"type":"soft-hsm"}'
        : section === 'keys'
          ? '{"provider":"dev","ref":"x","spec":"SYMMETRIC_DEFAULT"}'
          : '{"versions":[{"id":"a","key":"k"}]}';
    const existing = JSON.stringify(config[section] ?? {}).slice(1, -1);
    const sectionText = `{${existing ? `${existing},` : ''}"${name}":${entry}}`;
    const others = Object.entries(config)
      .filter(([key]) => key !== section)
      .map(([key, value]) => `"${key}":${JSON.stringify(value)}`);
    const text = `{${[...others, `"${section}":${sectionText}`].join(',')}}`;
    const fromFile = await loadError(text);
    expect(fromFile.path).toBe(`${section}.${name}`);
    expect(fromFile.message).toContain(`"${name}" cannot be a name in "${section}"`);
    // The same object given in code (JSON.parse keeps "__proto__" as an own property).
    await expect(loadConfig(JSON.parse(text))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: `${section}.${name}`,
    });
  });
});

describe('secrets are resolved at load', () => {
  const config = (passphrase: unknown) => ({
    environment: 'test' as const,
    providers: { dev: { type: 'test-backend', passphrase } },
    keys: { k: { provider: 'dev', ref: 'k', spec: 'SYMMETRIC_DEFAULT' as const } },
  });
  const factory = {
    type: 'test-backend',
    parseConfig: (raw: unknown) => {
      const { secretReferenceSchema } = schemaModule;
      const section = raw as { passphrase: unknown };
      return { passphrase: secretReferenceSchema.parse(section.passphrase) };
    },
    create: () => Promise.reject(new Error('never created: no key is used')),
  };
  let schemaModule: typeof import('../src/config/schema.js');
  beforeAll(async () => {
    schemaModule = await import('../src/config/schema.js');
  });

  it('a missing variable is CONFIG_INVALID from fromConfig, naming the path', async () => {
    const error = await Keyswitch.fromConfig(config({ env: 'KS_TEST_UNSET_PASSPHRASE' }), {
      env: {},
      providerFactories: { 'test-backend': factory },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'providers.dev.passphrase',
      detail: 'environment variable KS_TEST_UNSET_PASSPHRASE is not set',
    });
  });

  it.each(MISTYPED_REFERENCES)(
    '$name: CONFIG_INVALID naming the path, never the typed value',
    async (mistyped) => {
      const error = await Keyswitch.fromConfig(config(mistyped.passphrase), {
        env: {},
        cwd: dir,
        providerFactories: { 'test-backend': factory },
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', path: mistyped.path });
      const printed = everythingPrinted(error);
      for (const secret of mistyped.secrets) expect(printed).not.toContain(secret);
      expect(printed).toMatch(/(variable|file) named in "(env|file)" .*(is not set|cannot be read)/);
    },
  );

  it('still names a variable or file that looks like one', async () => {
    for (const [reference, shown] of [
      [{ env: 'KS_TEST_UNSET_PIN' }, 'environment variable KS_TEST_UNSET_PIN is not set'],
      [
        { file: 'secrets/absent.pass' },
        `secret file secrets/absent.pass (relative to ${dir}) cannot be read (ENOENT)`,
      ],
      [
        { file: '/run/secrets/absent-hsm-pin' },
        'secret file /run/secrets/absent-hsm-pin cannot be read (ENOENT)',
      ],
      [{ file: './absent' }, `secret file ./absent (relative to ${dir}) cannot be read (ENOENT)`],
    ] as const) {
      const error = await Keyswitch.fromConfig(config(reference), {
        env: {},
        cwd: dir,
        providerFactories: { 'test-backend': factory },
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'CONFIG_INVALID',
        path: 'providers.dev.passphrase',
        detail: shown,
      });
    }
  });

  it('a missing secret file too; a present one loads, and the value is not kept (searched for in the heap)', async () => {
    const missing = await Keyswitch.fromConfig(config({ file: 'absent-secret' }), {
      cwd: dir,
      providerFactories: { 'test-backend': factory },
    }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'CONFIG_INVALID', path: 'providers.dev.passphrase' });

    // A child process (a small heap) loads a configuration from this package's sources, bundled, with
    // one secret in a variable and one in a file, then writes heap snapshots: with the registry alone
    // neither secret may be anywhere in the heap (a #private field that util.inspect cannot see
    // included); with the child's own control holding them, both must be found: the search can fail.
    const work = await mkdtemp(fileURLToPath(new URL('../node_modules/.keyswitch-test-', import.meta.url)));
    try {
      const bundle = join(work, 'core.mjs');
      await build({
        entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
        outfile: bundle,
        bundle: true,
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'error',
      });
      const secrets = { env: randomBytes(24).toString('hex'), file: randomBytes(24).toString('hex') };
      const secretFile = join(work, 'passphrase');
      await writeFile(secretFile, `${secrets.file}\n`);
      const [registryOnly, withControl] = [
        join(work, 'registry.heapsnapshot'),
        join(work, 'control.heapsnapshot'),
      ];
      const child = fileURLToPath(new URL('./fixtures/secret-kept-child.mjs', import.meta.url));
      const { stdout } = await execute(
        process.execPath,
        ['--expose-gc', child, pathToFileURL(bundle).href, registryOnly, withControl],
        {
          env: {
            PATH: process.env.PATH,
            KS_TEST_PASSPHRASE: secrets.env,
            KS_TEST_PASSPHRASE_FILE: secretFile,
          },
        },
      );
      expect(JSON.parse(stdout)).toEqual({ providers: ['env', 'file'], control: 2 });
      const [registryHeap, controlHeap] = await Promise.all([readFile(registryOnly), readFile(withControl)]);
      for (const [kind, secret] of Object.entries(secrets)) {
        expect(controlHeap.includes(secret), `the control's ${kind} secret is found`).toBe(true);
        expect(registryHeap.includes(secret), `the registry kept the ${kind} secret`).toBe(false);
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
