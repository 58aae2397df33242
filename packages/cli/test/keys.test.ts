import { createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, PASSPHRASE, type Workspace } from './cli-harness.js';

let workspace: Workspace;

beforeAll(async () => {
  workspace = await createWorkspace();
});

afterAll(async () => {
  await workspace?.remove();
});

describe('keyswitch keys', () => {
  it('lists configured keys as NOT_FOUND before they are created', async () => {
    const result = await workspace.run(['keys', 'list', '--json']);
    expect(result.exitCode).toBe(0);
    const keys = JSON.parse(result.stdout) as { name: string; state: string; algorithm: string }[];
    expect(keys.map((key) => [key.name, key.state])).toEqual([
      ['acs-signing', 'NOT_FOUND'],
      ['ds-signing', 'NOT_FOUND'],
      ['pan-kek', 'NOT_FOUND'],
      ['pan-hmac', 'NOT_FOUND'],
    ]);
    expect(keys.find((key) => key.name === 'pan-hmac')?.algorithm).toBe('HMAC_SHA_256');
  });

  it('creates configured keys by name, and refuses to create one twice', async () => {
    for (const name of ['acs-signing', 'ds-signing', 'pan-kek', 'pan-hmac']) {
      const result = await workspace.run(['keys', 'create', name]);
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^created .* key in provider dev: ref /);
    }
    const again = await workspace.run(['keys', 'create', 'acs-signing']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/^keyswitch: KEY_EXISTS: key "acs-signing" \(acs-signing\) already exists/);
  });

  it('lists them ENABLED in a table, with every column', async () => {
    const result = await workspace.run(['keys', 'list']);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^name\s+provider\s+ref\s+spec\s+usage\s+algorithm\s+state$/);
    expect(lines.find((line) => line.startsWith('acs-signing'))).toMatch(
      /acs-signing\s+dev\s+acs-signing\s+ECC_NIST_P256\s+SIGN_VERIFY\s+ECDSA_SHA_256\s+ENABLED/,
    );
    expect(lines).toHaveLength(6);
  });

  it("creates any key with --provider --spec --usage --label and lists the backend's own keys", async () => {
    const created = await workspace.run([
      'keys',
      'create',
      '--provider',
      'dev',
      '--spec',
      'RSA_2048',
      '--usage',
      'ENCRYPT_DECRYPT',
      '--label',
      'spare-rsa',
      '--json',
    ]);
    expect(created.exitCode).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      provider: 'dev',
      spec: 'RSA_2048',
      usage: 'ENCRYPT_DECRYPT',
    });
    const listed = await workspace.run(['keys', 'list', '--provider', 'dev', '--json']);
    expect(listed.exitCode).toBe(0);
    const keys = JSON.parse(listed.stdout) as { aliases: string[]; configuredAs: string[]; state: string }[];
    expect(keys).toHaveLength(5);
    const spare = keys.find(
      (key) => key.aliases.includes('spare-rsa') || JSON.stringify(key).includes('spare-rsa'),
    );
    expect(spare?.configuredAs).toEqual([]);
    expect(keys.flatMap((key) => key.configuredAs).sort()).toEqual([
      'acs-signing',
      'ds-signing',
      'pan-hmac',
      'pan-kek',
    ]);
    const table = await workspace.run(['keys', 'list', '--provider', 'dev']);
    expect(table.stdout).toMatch(/^ref\s+key id\s+spec\s+usage\s+state\s+aliases\s+configured as/);
  });

  it('rejects incomplete or contradictory create options with exit 2', async () => {
    const missing = await workspace.run(['keys', 'create', '--provider', 'dev', '--spec', 'RSA_2048']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^keyswitch: USAGE: keys create needs a logical key name, or --label/);
    const ambiguous = await workspace.run([
      'keys',
      'create',
      '--provider',
      'dev',
      '--spec',
      'RSA_2048',
      '--label',
      'x',
    ]);
    expect(ambiguous.stderr).toMatch(/needs --usage: SIGN_VERIFY or ENCRYPT_DECRYPT/);
    const badSpec = await workspace.run([
      'keys',
      'create',
      '--provider',
      'dev',
      '--spec',
      'RSA_1024',
      '--label',
      'x',
    ]);
    expect(badSpec.exitCode).toBe(2);
  });

  it('describes a key, with its kid, as text and JSON', async () => {
    const text = await workspace.run(['keys', 'describe', 'acs-signing']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^state:\s+ENABLED$/m);
    expect(text.stdout).toMatch(/^kid:\s+\S{43}$/m);
    const json = await workspace.run(['keys', 'describe', 'pan-kek', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      name: 'pan-kek',
      provider: 'dev',
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      algorithm: 'SYMMETRIC_DEFAULT',
      state: 'ENABLED',
      backend: { spec: 'SYMMETRIC_DEFAULT', state: 'ENABLED' },
    });
  });

  it('prints public keys as PEM, JWK and base64 DER that node:crypto reads', async () => {
    const pem = await workspace.run(['keys', 'public-key', 'acs-signing']);
    expect(pem.exitCode).toBe(0);
    expect(pem.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    const jwk = JSON.parse(
      (await workspace.run(['keys', 'public-key', 'acs-signing', '--format', 'jwk'])).stdout,
    );
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    const der = (
      await workspace.run(['keys', 'public-key', 'ds-signing', '--format', 'der-base64'])
    ).stdout.trim();
    const fromPem = createPublicKey(pem.stdout);
    const fromJwk = createPublicKey({ key: jwk, format: 'jwk' });
    expect(fromJwk.equals(fromPem)).toBe(true);
    expect(
      createPublicKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'spki' }).asymmetricKeyType,
    ).toBe('rsa');
    const symmetric = await workspace.run(['keys', 'public-key', 'pan-kek']);
    expect(symmetric.exitCode).toBe(1);
    expect(symmetric.stderr).toMatch(/^keyswitch: USAGE_MISMATCH: .*has no public key/);
    const badFormat = await workspace.run(['keys', 'public-key', 'acs-signing', '--format', 'ssh']);
    expect(badFormat.exitCode).toBe(2);
  });

  it('reports unknown keys and missing backend keys with their exit codes', async () => {
    const unknown = await workspace.run(['keys', 'describe', 'no-such-key']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(
      /^keyswitch: CONFIG_INVALID: at keys\.no-such-key: no key named "no-such-key"/,
    );
    const config = JSON.parse(await readFile(workspace.config, 'utf8'));
    config.keys['not-yet'] = { provider: 'dev', ref: 'not-yet', spec: 'HMAC_512' };
    const file = join(workspace.dir, 'with-missing.json');
    await writeFile(file, JSON.stringify(config));
    const missing = await workspace.run(['--config', file, 'keys', 'describe', 'not-yet']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^keyswitch: KEY_NOT_FOUND: .*keys create not-yet/);
  });

  it('shows a backend key that differs from its configuration as a mismatch (describe: exit 2)', async () => {
    const config = JSON.parse(await readFile(workspace.config, 'utf8'));
    config.keys['acs-signing'] = {
      provider: 'dev',
      ref: 'acs-signing',
      spec: 'RSA_2048',
      algorithm: 'RSASSA_PSS_SHA_256',
    };
    const file = join(workspace.dir, 'mismatch.json');
    await writeFile(file, JSON.stringify(config));
    const listed = await workspace.run(['--config', file, 'keys', 'list']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(
      /^acs-signing .*ENABLED \(MISMATCH: the backend key is ECC_NIST_P256, configured RSA_2048\)$/m,
    );
    const described = await workspace.run(['--config', file, 'keys', 'describe', 'acs-signing']);
    expect(described.exitCode).toBe(2);
    expect(described.stdout).toMatch(/^state:\s+ENABLED$/m);
    expect(described.stderr).toMatch(
      /^keyswitch: CONFIG_INVALID: key "acs-signing" does not match its backend key: /,
    );
  });

  it('never prints the keystore passphrase', async () => {
    const result = await workspace.run(['keys', 'list', '--json']);
    expect(result.stdout + result.stderr).not.toContain(PASSPHRASE);
  });
});
