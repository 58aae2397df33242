import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { p11KitServer } from '../../pkcs11/test/support/p11-kit.js';
import { createTestTokens, type TestTokens } from '../../pkcs11/test/support/tokens.js';
import { type CliRun, createWorkspace, type Workspace } from './cli-harness.js';

/**
 * `keyswitch conformance` against real PKCS#11 tokens made by scripts/test-tokens.sh: SoftHSM2 under its
 * own profile and under `generic`, and NSS softokn. Each provider passes the whole suite, and the suite
 * on its configured keys alone (`--keys-from-config`, with a key named `lifecycle` for the lifecycle
 * checks). NSS has a test file (so a
 * process) of its own: a run on NSS after SoftHSM2 in one test process ended that process once, which
 * is left for the execution work to look into.
 */

interface Report {
  summary: { total: number; failed: number; ok: boolean };
  results: { group: string; name: string; status: string }[];
}

/** The keys every provider gets in the configuration, by logical name (the provider name is added). */
const KEYS = {
  'acs-signing': {
    object: 'acs-signing',
    type: 'private',
    spec: 'ECC_NIST_P256',
    algorithm: 'ECDSA_SHA_256',
  },
  'ds-decrypt': { object: 'ds-decrypt', type: 'private', spec: 'RSA_2048', algorithm: 'RSAES_OAEP_SHA_1' },
  'pan-hmac': { object: 'pan-hmac', type: 'secret-key', spec: 'HMAC_256', algorithm: 'HMAC_SHA_256' },
  lifecycle: { object: 'lifecycle', type: 'secret-key', spec: 'HMAC_256', algorithm: 'HMAC_SHA_256' },
} as const;

const PROVIDERS = ['softhsm', 'generic', 'nss', 'p11kit'] as const;
/** A PKCS#11 provider of the test configuration. */
export type ProviderName = (typeof PROVIDERS)[number];

/** Declares the CLI conformance tests for these providers. */
export function declareCliConformance(providers: readonly ProviderName[]): void {
  const tokens = createTestTokens();
  const skip = 'skip' in tokens;

  function config() {
    const softhsm2 = {
      type: 'pkcs11',
      module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
      token: { label: 'keyswitch' },
      pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
    };
    const keys: Record<string, unknown> = {};
    for (const provider of PROVIDERS) {
      for (const [name, key] of Object.entries(KEYS)) {
        // Labels are unique per token: the two SoftHSM2 providers share one.
        keys[`${provider}-${name}`] = {
          provider,
          ref: `pkcs11:object=${provider}-${key.object};type=${key.type}`,
          spec: key.spec,
          algorithm: key.algorithm,
        };
      }
    }
    return {
      environment: 'test',
      providers: {
        softhsm: { ...softhsm2, profile: 'softhsm' },
        generic: { ...softhsm2, profile: 'generic' },
        nss: {
          type: 'pkcs11',
          profile: 'nss',
          module: { env: 'KEYSWITCH_NSS_MODULE' },
          libraryParameters: { env: 'KEYSWITCH_NSS_LIBRARY_PARAMETERS' },
          token: { label: 'NSS Certificate DB' },
          pin: { env: 'KEYSWITCH_NSS_PIN' },
        },
        // The same SoftHSM2 token served by `p11-kit server`, reached through p11-kit's client module: a
        // remote token, as a network HSM's client library sees one.
        p11kit: {
          type: 'pkcs11',
          profile: 'softhsm',
          module: { env: 'KEYSWITCH_P11KIT_CLIENT_MODULE' },
          token: { label: 'keyswitch' },
          pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
        },
        memory: { type: 'soft-hsm' },
      },
      keys,
    };
  }

  let workspace: Workspace;
  const server = !skip && providers.includes('p11kit') ? p11KitServer(tokens as TestTokens) : undefined;
  const run = (args: readonly string[]): Promise<CliRun> =>
    workspace.run(args, {
      env: {
        ...workspace.env,
        ...(tokens as TestTokens).env,
        ...(server === undefined ? {} : { P11_KIT_SERVER_ADDRESS: server.address }),
      },
    });

  /** The lines of a run's progress that are not passes: the message of a failed exit-code assertion. */
  function problems(stderr: string): string {
    return stderr
      .split('\n')
      .filter((line) => line.includes('FAIL') || line.startsWith('keyswitch:'))
      .join('\n');
  }

  async function readReport(directory: string): Promise<Report> {
    const files = await readdir(join(workspace.dir, directory));
    const file = files.find((name) => name.startsWith('conformance-') && name.endsWith('.json'));
    expect(file, `a JSON report in ${files.join(', ')}`).toBeDefined();
    return JSON.parse(await readFile(join(workspace.dir, directory, file!), 'utf8')) as Report;
  }

  beforeAll(async () => {
    if (skip) return;
    await server?.start();
    workspace = await createWorkspace(config());
  });

  afterAll(async () => {
    await workspace?.remove();
    await server?.close();
    if (!skip) (tokens as TestTokens).remove();
  });

  describe.skipIf(skip).each(providers)(
    'keyswitch conformance on PKCS#11 provider %s',
    (provider: ProviderName) => {
      it('passes the whole suite and exits 0', { timeout: 600_000 }, async () => {
        const result = await run(['conformance', '--provider', provider, '--report-dir', `${provider}-full`]);
        expect(result.exitCode, problems(result.stderr)).toBe(0);
        const report = await readReport(`${provider}-full`);
        expect(report.summary).toMatchObject({ failed: 0, ok: true });
        const passed = (pattern: RegExp) =>
          report.results.some((result) => pattern.test(result.name) && result.status === 'passed');
        // The checks the CLI used to fail: an unknown reference, forged ciphertexts (CKR_GENERAL_ERROR on
        // SoftHSM2 under `generic`, CKR_ARGUMENTS_BAD from NSS for c ≥ n).
        expect(passed(/^an unknown key reference fails with KEY_NOT_FOUND/)).toBe(true);
        expect(passed(/› tampered ciphertext fails with INVALID_CIPHERTEXT/)).toBe(true);
        expect(passed(/› a ciphertext not below the modulus \(c ≥ n\) fails with INVALID_CIPHERTEXT/)).toBe(
          true,
        );
      });

      it('passes on its configured keys alone, changing only the key named lifecycle', {
        timeout: 600_000,
      }, async () => {
        for (const name of Object.keys(KEYS)) {
          const created = await run(['keys', 'create', `${provider}-${name}`]);
          expect(created.exitCode, created.stderr).toBe(0);
        }
        // The configured name of the lifecycle key is `<provider>-lifecycle`; the suite reads a key named
        // `lifecycle`, so this run names it so in a configuration of its own.
        const base = config();
        const keys = Object.fromEntries(
          Object.entries(base.keys)
            .filter(([name]) => name.startsWith(`${provider}-`))
            .map(([name, key]) => [name === `${provider}-lifecycle` ? 'lifecycle' : name, key]),
        );
        const file = join(workspace.dir, `${provider}.json`);
        await writeFile(file, JSON.stringify({ ...base, keys }, null, 2));
        const result = await run([
          '--config',
          file,
          'conformance',
          '--provider',
          provider,
          '--keys-from-config',
          '--report-dir',
          `${provider}-provisioned`,
        ]);
        expect(result.stderr).toMatch(/using 4 configured keys; the run creates none and changes none/);
        expect(result.stderr).toMatch(
          / lifecycle \(pkcs11:object=\S+-lifecycle;type=secret-key\) for lifecycle/,
        );
        expect(result.exitCode, problems(result.stderr)).toBe(0);
        const report = await readReport(`${provider}-provisioned`);
        expect(
          report.results
            .filter((check) => /^(disableKey|enableKey):/.test(check.name))
            .map((check) => check.status),
        ).toEqual(['passed', 'passed']);
        const describeKey = async (name: string) => {
          const described = await run(['--config', file, 'keys', 'describe', name, '--json']);
          expect(described.exitCode, described.stderr).toBe(0);
          return JSON.parse(described.stdout) as { state: string };
        };
        // The other configured keys are untouched: still enabled.
        const signing = await describeKey(`${provider}-acs-signing`);
        expect(signing.state).toBe('ENABLED');
      });
    },
  );
}
