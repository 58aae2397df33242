import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type Workspace } from './cli-harness.js';

// OpenSSL is the independent check of every CSR. Without it the check is skipped with a warning, except
// under CI=true, where a missing openssl is a failure (never a silent skip in CI).
const opensslFound = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
if (!opensslFound && process.env['CI'] === 'true') {
  throw new Error('[keyswitch] openssl is not on PATH; CI needs it to verify CSRs');
}
if (!opensslFound) console.warn('[keyswitch] openssl not found: the CSR checks by OpenSSL are skipped');

/** `openssl req -verify -text` on a CSR file: throws when OpenSSL does not verify its signature. */
function opensslVerify(file: string): string {
  return execFileSync('openssl', ['req', '-in', file, '-verify', '-noout', '-text'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

let workspace: Workspace;

beforeAll(async () => {
  workspace = await createWorkspace();
  expect((await workspace.run(['keys', 'create', 'acs-signing'])).exitCode).toBe(0);
});

afterAll(async () => {
  await workspace?.remove();
});

describe('keyswitch csr', () => {
  it('prints a PEM CSR signed by the configured key, which OpenSSL verifies', async () => {
    const run = await workspace.run(['csr', 'acs-signing', '--subject', 'CN=acs.example.com,O=Example']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(
      /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----\n$/,
    );
    expect(run.stderr).toBe('');
    const pem = (await workspace.run(['keys', 'public-key', 'acs-signing'])).stdout;
    if (!opensslFound) return;
    const file = join(workspace.dir, 'stdout.csr');
    await writeFile(file, run.stdout);
    const text = opensslVerify(file);
    expect(text).toMatch(/Subject: O\s?=\s?Example, CN\s?=\s?acs\.example\.com/);
    expect(text).toMatch(/ecdsa-with-SHA256/);
    // The CSR's key is the configured key's public key.
    const csrKey = execFileSync('openssl', ['req', '-in', file, '-noout', '-pubkey'], { encoding: 'utf8' });
    expect(csrKey.trim()).toBe(pem.trim());
  });

  it('writes --out with the requested SANs, and OpenSSL verifies it', async () => {
    const out = join(workspace.dir, 'acs.csr');
    const run = await workspace.run([
      'csr',
      'acs-signing',
      '--subject',
      'CN=acs.example.com,O=Example',
      '--san',
      'dns:acs.example.com',
      '--san',
      'IP:192.0.2.10',
      '--out',
      'acs.csr',
    ]);
    expect(run).toMatchObject({ exitCode: 0, stdout: '' });
    expect(run.stderr).toMatch(
      /wrote a certificate signing request for acs-signing \(ECDSA_SHA_256\) to acs\.csr/,
    );
    expect(await readFile(out, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    if (!opensslFound) return;
    const text = opensslVerify(out);
    expect(text).toMatch(/DNS:acs\.example\.com, IP Address:192\.0\.2\.10/);
  });

  it('refuses a malformed subject or SAN as a usage error (exit 2)', async () => {
    const subject = await workspace.run(['csr', 'acs-signing', '--subject', 'no-equals-sign']);
    expect(subject.exitCode).toBe(2);
    expect(subject.stderr).toMatch(/^keyswitch: INVALID_INPUT: /);
    const san = await workspace.run(['csr', 'acs-signing', '--subject', 'CN=a', '--san', 'dns:not a name']);
    expect(san.exitCode).toBe(2);
    expect(san.stderr).toMatch(/not a DNS name/);
    const missing = await workspace.run(['csr', 'acs-signing']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/--subject/);
  });

  it('fails (exit 1) for a key that cannot sign or is not in the backend', async () => {
    const kek = await workspace.run(['csr', 'pan-kek', '--subject', 'CN=a']);
    expect(kek.exitCode).toBe(1);
    expect(kek.stderr).toMatch(/^keyswitch: USAGE_MISMATCH: /);
    const absent = await workspace.run(['csr', 'ds-signing', '--subject', 'CN=a']);
    expect(absent.exitCode).toBe(1);
    expect(absent.stderr).toMatch(/^keyswitch: KEY_NOT_FOUND: /);
  });
});
