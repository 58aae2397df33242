import { createPublicKey, verify } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Keyswitch } from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, testConfig, type Workspace } from './cli-harness.js';

// `keyswitch keys rotate NAME`: the next version is created on the active version's backend, and the
// printed configuration change, applied as printed, gives a key whose new version signs once it is made
// active (node:crypto checks the signature with the public key the CLI prints).
let workspace: Workspace;
const message = new TextEncoder().encode('signed after the rotation');

beforeAll(async () => {
  workspace = await createWorkspace({
    ...testConfig({
      'ds-2025': { provider: 'other', ref: 'ds-2025', spec: 'RSA_2048', algorithm: 'RSASSA_PSS_SHA_256' },
    }),
    versions: { 'ds-signing-key': { versions: [{ id: '2025', key: 'ds-2025' }] } },
  });
  for (const name of ['acs-signing', 'ds-2025'])
    expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
});

afterAll(async () => {
  await workspace?.remove();
});

/** Merges a printed change into the workspace's configuration file, as an operator would. */
async function apply(change: { keys: object; versions: object }, active?: Record<string, string>) {
  const config = JSON.parse(await readFile(workspace.config, 'utf8'));
  config.keys = { ...config.keys, ...change.keys };
  config.versions = { ...config.versions, ...change.versions };
  for (const [name, id] of Object.entries(active ?? {})) config.versions[name].active = id;
  await writeFile(workspace.config, JSON.stringify(config, null, 2));
  return config;
}

describe('keyswitch keys rotate', () => {
  it('turns a plain key into version 1 and creates version 2 on its backend; the current version stays active', async () => {
    const run = await workspace.run(['keys', 'rotate', 'acs-signing', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      key: 'acs-signing',
      active: '1',
      version: { id: '2', provider: 'dev', ref: 'acs-signing-2' },
      configChange: {
        keys: {
          'acs-signing-2': {
            provider: 'dev',
            ref: 'acs-signing-2',
            spec: 'ECC_NIST_P256',
            algorithm: 'ECDSA_SHA_256',
          },
        },
        versions: {
          'acs-signing': {
            active: '1',
            versions: [
              { id: '1', key: 'acs-signing' },
              { id: '2', key: 'acs-signing-2' },
            ],
          },
        },
      },
    });
    const config = await apply(result.configChange);
    const jwk = await workspace.run(['keys', 'public-key', 'acs-signing-2', '--format', 'jwk']);
    expect(jwk.exitCode, jwk.stderr).toBe(0);
    const publicKey = createPublicKey({ key: JSON.parse(jwk.stdout), format: 'jwk' });

    const ks = await Keyswitch.fromConfig(
      { ...config, versions: { 'acs-signing': { ...config.versions['acs-signing'], active: '2' } } },
      { env: workspace.env, cwd: workspace.dir },
    );
    try {
      const signer = ks.signer('acs-signing');
      expect(signer.versions().map(({ id, status }) => [id, status])).toEqual([
        ['1', 'retired'],
        ['2', 'active'],
      ]);
      expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
    } finally {
      await ks.close();
    }
  });

  it('a key with versions gets the next id and a label of the same form; ids are never reused', async () => {
    const run = await workspace.run(['keys', 'rotate', 'ds-signing-key']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'ds-signing-key: created version 2026, RSA_2048 SIGN_VERIFY, in provider other: ref ds-2026',
    );
    expect(run.stdout).toContain('version 2025 stays active');
    const change = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
    expect(change.versions['ds-signing-key'].versions.map((version: { id: string }) => version.id)).toEqual([
      '2025',
      '2026',
    ]);
    await apply(change);
    const again = await workspace.run(['keys', 'rotate', 'ds-signing-key', '--id', '2026', '--json']);
    expect(again.exitCode).toBe(2);
    expect(JSON.parse(again.stdout).error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(JSON.parse(again.stdout).error.message).toContain('already has a version "2026"');
  });
});
