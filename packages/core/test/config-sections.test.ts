import { describe, expect, it } from 'vitest';
import { loadConfig, validateKeyVersions, validateMultiKeyrings } from '../src/index.js';
import { changed, configError } from './support/config-cases.js';

const base = {
  environment: 'test',
  providers: { kms: { type: 'aws-kms' }, hsm: { type: 'pkcs11' } },
  keys: {
    'pan-kek-2024': { provider: 'kms', ref: 'alias/pan-kek-2024', spec: 'SYMMETRIC_DEFAULT' },
    'pan-kek-2025': { provider: 'hsm', ref: 'pkcs11:object=pan-kek-2025', spec: 'SYMMETRIC_DEFAULT' },
  },
  versions: {
    'pan-kek': {
      cryptoperiodDays: 365,
      cryptoperiodEnforcement: 'warn',
      warnBeforeDays: 14,
      description: 'PAN key-encryption key',
      versions: [
        { id: '2024', key: 'pan-kek-2024', createdAt: '2024-01-15' },
        { id: '2025', provider: 'hsm', ref: 'pkcs11:object=pan-kek-2025', createdAt: '2025-01-15T09:00:00Z' },
      ],
      active: '2025',
    },
  },
  audit: { file: 'audit/keyswitch.jsonl' },
};

function withChange(change: (config: Record<string, any>) => void): unknown {
  return changed(base, change);
}

describe('the versions and audit sections', () => {
  it('accepts them, with the audit fsync default', async () => {
    const { config } = await loadConfig(structuredClone(base) as never);
    expect(config.audit).toEqual({ file: 'audit/keyswitch.jsonl', fsync: 'always', failClosed: false });
    expect(config.versions?.['pan-kek']?.versions.map((version) => version.id)).toEqual(['2024', '2025']);
    const { config: without } = await loadConfig(
      withChange((c) => {
        delete c.versions;
        delete c.audit;
      }) as never,
    );
    expect(without.versions).toBeUndefined();
    expect(without.audit).toBeUndefined();
  });

  const v = (c: Record<string, any>) => c.versions['pan-kek'];
  const cases: [string, (config: Record<string, any>) => void, string, RegExp][] = [
    ['audit without a file', (c) => (c.audit = {}), 'audit.file', /audit file path/],
    ['a bad fsync', (c) => (c.audit.fsync = 'sometimes'), 'audit.fsync', /"always", "interval" or "never"/],
    ['audit not an object', (c) => (c.audit = 'audit.jsonl'), 'audit', /expected an object/],
    ['versions not an object', (c) => (c.versions = []), 'versions', /object of logical keys/],
    ['no versions', (c) => (v(c).versions = []), 'versions.pan-kek.versions', /non-empty array/],
    ['a bad version id', (c) => (v(c).versions[0].id = 'v:1'), 'versions.pan-kek.versions[0].id', /1 to 64/],
    [
      'a version id listed twice',
      (c) => (v(c).versions[1].id = '2024'),
      'versions.pan-kek.versions[1].id',
      /listed twice/,
    ],
    [
      'an unknown provider',
      (c) => (v(c).versions[1].provider = 'cloudhsm'),
      'versions.pan-kek.versions[1].provider',
      /no provider named "cloudhsm"; expected one of kms, hsm/,
    ],
    [
      'an unknown key',
      (c) => (v(c).versions[0].key = 'pan-kek-1999'),
      'versions.pan-kek.versions[0].key',
      /no key named "pan-kek-1999" in "keys"/,
    ],
    [
      'a provider without ref',
      (c) => delete v(c).versions[1].ref,
      'versions.pan-kek.versions[1].ref',
      /key reference/,
    ],
    [
      'neither key nor provider',
      (c) => (v(c).versions[0] = { id: 'x' }),
      'versions.pan-kek.versions[0].provider',
      /"provider" and "ref".*or "key"/,
    ],
    [
      'both key and provider',
      (c) => (v(c).versions[0].provider = 'kms'),
      'versions.pan-kek.versions[0]',
      /either "key" or "provider" and "ref", not both/,
    ],
    [
      'an active version not listed',
      (c) => (v(c).active = '2026'),
      'versions.pan-kek.active',
      /no version "2026"/,
    ],
    [
      'a date that is not ISO 8601',
      (c) => (v(c).versions[0].createdAt = '15/01/2024'),
      'versions.pan-kek.versions[0].createdAt',
      /ISO 8601/,
    ],
    [
      'a time without its zone',
      (c) => (v(c).versions[0].createdAt = '2024-01-15T09:00'),
      'versions.pan-kek.versions[0].createdAt',
      /needs its zone/,
    ],
    [
      'a cryptoperiod of 0 days',
      (c) => (v(c).cryptoperiodDays = 0),
      'versions.pan-kek.cryptoperiodDays',
      /1 to 36,500/,
    ],
    [
      'a bad enforcement',
      (c) => (v(c).cryptoperiodEnforcement = 'block'),
      'versions.pan-kek.cryptoperiodEnforcement',
      /"error" or "warn"/,
    ],
    ['an unknown field', (c) => (v(c).colour = 'red'), 'versions.pan-kek', /unrecognized key.*colour/i],
    [
      'a bad logical key name',
      (c) => (c.versions['pan kek'] = v(c)),
      'versions["pan kek"]',
      /name of letters/,
    ],
  ];

  for (const [name, change, path, message] of cases) {
    it(`rejects ${name} with CONFIG_INVALID at ${path}`, async () => {
      const error = await configError(withChange(change));
      expect(error.path).toBe(path);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(path);
    });
  }

  it('validates a versions section given apart, against the names of a registry', () => {
    const known = { providers: ['kms'], keys: ['pan-kek-2024'] };
    expect(validateKeyVersions({ k: { versions: [{ id: 'a', key: 'pan-kek-2024' }] } }, known)).toEqual({
      k: { versions: [{ id: 'a', key: 'pan-kek-2024' }] },
    });
    expect(() =>
      validateKeyVersions({ k: { versions: [{ id: 'a', provider: 'hsm', ref: 'x' }] } }, known),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', path: 'versions.k.versions[0].provider' }));
    expect(() => validateKeyVersions({ k: { versions: [{ id: 'a' }] } }, known)).toThrow(
      expect.objectContaining({ path: 'versions.k.versions[0].provider' }),
    );
  });
});

describe('the multiKeyrings section', () => {
  const multi = (change: (config: Record<string, any>) => void) =>
    withChange((c) => {
      c.multiKeyrings = { 'card-data': { keys: ['pan-kek-2024', 'pan-kek-2025'], timeoutMs: 1500 } };
      change(c);
    });

  it('accepts keys of the file, in order, with an optional retired list and timeout', async () => {
    const { config } = await loadConfig(multi(() => undefined) as never);
    expect(config.multiKeyrings).toEqual({
      'card-data': { keys: ['pan-kek-2024', 'pan-kek-2025'], timeoutMs: 1500 },
    });
  });

  const cases: Array<[string, (config: Record<string, any>) => void, string, RegExp]> = [
    [
      'an unknown key',
      (c) => c.multiKeyrings['card-data'].keys.push('nope'),
      'multiKeyrings.card-data.keys[2]',
      /not a key of the keyswitch configuration/,
    ],
    [
      'a key listed twice',
      (c) => (c.multiKeyrings['card-data'].retired = ['pan-kek-2024']),
      'multiKeyrings.card-data',
      /listed twice/,
    ],
    [
      'no keys',
      (c) => (c.multiKeyrings['card-data'].keys = []),
      'multiKeyrings.card-data.keys',
      /non-empty array/,
    ],
    [
      'nine keys',
      (c) => (c.multiKeyrings['card-data'].keys = Array(9).fill('pan-kek-2024')),
      'multiKeyrings.card-data.keys',
      /at most 8 keys/,
    ],
    [
      'a zero timeout',
      (c) => (c.multiKeyrings['card-data'].timeoutMs = 0),
      'multiKeyrings.card-data.timeoutMs',
      /1 to 600,000/,
    ],
    [
      'a name that also has versions',
      (c) => (c.multiKeyrings['pan-kek'] = { keys: ['pan-kek-2024'] }),
      'multiKeyrings.pan-kek',
      /already has versions/,
    ],
    ['an unknown member', (c) => (c.multiKeyrings['card-data'].key = 'x'), 'multiKeyrings.card-data', /key/],
    [
      'a reserved name',
      (c) => (c.multiKeyrings = JSON.parse('{"__proto__": {"keys": ["pan-kek-2024"]}}')),
      'multiKeyrings.__proto__',
      /cannot be a name/,
    ],
  ];
  for (const [name, change, path, message] of cases) {
    it(`rejects ${name} with CONFIG_INVALID at ${path}`, async () => {
      const error = await configError(multi(change));
      expect(error.path).toBe(path);
      expect(error.message).toMatch(message);
    });
  }

  it('validates a section given apart, against the keys and versioned names of a registry', () => {
    const known = { keys: ['a', 'b'], versionedKeys: ['v'] };
    expect(validateMultiKeyrings({ m: { keys: ['a', 'b'] } }, known)).toEqual({ m: { keys: ['a', 'b'] } });
    expect(() => validateMultiKeyrings({ v: { keys: ['a'] } }, known)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', path: 'multiKeyrings.v' }),
    );
  });
});
