import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';
import { changed, configError } from './support/config-cases.js';

const valid = {
  environment: 'test',
  providers: { dev: { type: 'soft-hsm' } },
  keys: {
    'acs-signing': { provider: 'dev', ref: 'acs-signing', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
    'pan-kek': { provider: 'dev', ref: 'pan-kek', spec: 'SYMMETRIC_DEFAULT' },
  },
};

function withChange(change: (config: Record<string, any>) => void): unknown {
  return changed(valid, change);
}

describe('configuration validation', () => {
  it('accepts a valid configuration and applies defaults', async () => {
    const { config } = await loadConfig(structuredClone(valid) as never);
    expect(config.keys['pan-kek']!.spec).toBe('SYMMETRIC_DEFAULT');
    const { config: noEnvironment } = await loadConfig(withChange((c) => delete c.environment) as never);
    expect(noEnvironment.environment).toBe('development');
  });

  const cases: [string, (config: Record<string, any>) => void, string, RegExp][] = [
    ['a non-object root', () => {}, '(root)', /expected object/i],
    ['an unknown top-level field', (c) => (c.extra = 1), '(root)', /unrecognized key.*extra/i],
    ['a bad environment', (c) => (c.environment = 'prod'), 'environment', /"production"/],
    ['providers not an object', (c) => (c.providers = []), 'providers', /object of providers/],
    ['a provider without type', (c) => delete c.providers.dev.type, 'providers.dev.type', /provider type/],
    [
      'a provider name with spaces',
      (c) => (c.providers['my hsm'] = { type: 'soft-hsm' }),
      'providers["my hsm"]',
      /name of letters/,
    ],
    [
      'a key without provider',
      (c) => delete c.keys['acs-signing'].provider,
      'keys.acs-signing.provider',
      /name of a provider/,
    ],
    [
      'a key naming an unknown provider',
      (c) => (c.keys['acs-signing'].provider = 'kms'),
      'keys.acs-signing.provider',
      /no provider named "kms"; expected one of dev/,
    ],
    [
      'an empty ref',
      (c) => (c.keys['acs-signing'].ref = ''),
      'keys.acs-signing.ref',
      /expected a non-empty key reference/,
    ],
    [
      'an unknown spec',
      (c) => (c.keys['acs-signing'].spec = 'ECC_P256'),
      'keys.acs-signing.spec',
      /expected one of RSA_2048/,
    ],
    [
      'an unknown algorithm',
      (c) => (c.keys['acs-signing'].algorithm = 'ES256'),
      'keys.acs-signing.algorithm',
      /expected one of RSASSA_PSS_SHA_256/,
    ],
    [
      'an algorithm the spec does not allow',
      (c) => (c.keys['acs-signing'].algorithm = 'ECDSA_SHA_384'),
      'keys.acs-signing.algorithm',
      /cannot be used with an ECC_NIST_P256 key.*expected one of ECDSA_SHA_256/,
    ],
    [
      'a usage the spec does not allow',
      (c) => (c.keys['pan-kek'].usage = 'SIGN_VERIFY'),
      'keys.pan-kek.usage',
      /cannot have usage SIGN_VERIFY/,
    ],
    [
      'an algorithm of another usage',
      (c) => Object.assign(c.keys['acs-signing'], { usage: 'KEY_AGREEMENT', algorithm: 'ECDSA_SHA_256' }),
      'keys.acs-signing.algorithm',
      /for KEY_AGREEMENT; expected one of ECDH/,
    ],
    [
      'an ambiguous spec without algorithm',
      (c) => delete c.keys['acs-signing'].algorithm,
      'keys.acs-signing.algorithm',
      /needs an "algorithm"/,
    ],
    [
      'an unknown key field',
      (c) => (c.keys['pan-kek'].alias = 'x'),
      'keys.pan-kek',
      /unrecognized key.*alias/i,
    ],
    ['keys not an object', (c) => (c.keys = 'none'), 'keys', /object of keys/],
  ];

  for (const [name, change, path, message] of cases) {
    it(`rejects ${name} with CONFIG_INVALID at ${path}`, async () => {
      const source = name === 'a non-object root' ? 'not an object' : withChange(change);
      const error = name === 'a non-object root' ? await configError([1]) : await configError(source);
      expect(error.path).toBe(path);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(path);
    });
  }

  it('reports every problem, the first as the path', async () => {
    const error = await configError(
      withChange((c) => {
        c.keys['acs-signing'].spec = 'BAD';
        c.keys['pan-kek'].ref = 7;
      }),
    );
    expect(error.path).toBe('keys.acs-signing.spec');
    expect(error.message).toMatch(/and 1 more: keys.pan-kek.ref: expected the key reference/);
  });

  it('never echoes a value it rejects', async () => {
    const error = await configError(withChange((c) => (c.keys['acs-signing'].spec = 'hunter2-secret-value')));
    expect(error.message).not.toContain('hunter2');
  });
});

describe('configuration files', () => {
  it('reads a file by path, resolving baseDir to its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-config-'));
    const file = join(dir, 'keyswitch.json');
    await writeFile(file, JSON.stringify(valid));
    const loaded = await loadConfig(file);
    expect(loaded.baseDir).toBe(dir);
    expect(loaded.source).toBe(file);
  });

  it('reads the file named by KEYSWITCH_CONFIG, then keyswitch.json in the working directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-config-'));
    await writeFile(join(dir, 'other.json'), JSON.stringify(valid));
    await writeFile(join(dir, 'keyswitch.json'), JSON.stringify({ ...valid, environment: 'staging' }));
    const named = await loadConfig(undefined, { cwd: dir, env: { KEYSWITCH_CONFIG: 'other.json' } });
    expect(named.config.environment).toBe('test');
    const fallback = await loadConfig(undefined, { cwd: dir, env: {} });
    expect(fallback.config.environment).toBe('staging');
  });

  it('names a missing file, invalid JSON, and problems inside a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyswitch-config-'));
    await expect(loadConfig(undefined, { cwd: dir, env: {} })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/keyswitch.json not found \(set KEYSWITCH_CONFIG/),
    });
    await writeFile(join(dir, 'broken.json'), '{ "providers": ');
    await expect(loadConfig(join(dir, 'broken.json'))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/broken.json is not valid JSON/),
    });
    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify(withChange((c) => (c.keys['pan-kek'].spec = 'AES'))),
    );
    await expect(loadConfig(join(dir, 'bad.json'))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'keys.pan-kek.spec',
      message: expect.stringMatching(/at keys.pan-kek.spec: .*bad.json: expected one of/),
    });
    await expect(loadConfig(dir)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/cannot be read \(EISDIR\)/),
    });
  });
});
