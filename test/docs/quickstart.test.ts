// README's quick start runs as written: `pnpm demo` is `pnpm build && node examples/quickstart/main.mjs`.
// The build is what `pnpm test` has done before any test runs; this runs the rest of the demo script as a
// reader's shell would, in a child process on the BUILT packages (plain node resolves `@keyswitch/*` to
// their dist/, never to the sources), and checks what it prints. The demo checks its signature with
// node:crypto itself; here its output is held to what README says it shows.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../support/softhsm2-tokens.js';

const { scripts } = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

function runShell(command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-eo', 'pipefail', '-c', command], {
      cwd: repositoryRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('README quick start: the demo', () => {
  it('the demo script is the build, then examples/quickstart/main.mjs', () => {
    expect(scripts.demo).toBe('pnpm build && node examples/quickstart/main.mjs');
    for (const name of ['core', 'soft-hsm'])
      expect(existsSync(join(repositoryRoot, `packages/${name}/dist/index.js`)), 'run pnpm build first').toBe(
        true,
      );
  });

  it('signs, encrypts and hashes on the software HSM, and prints what README promises', async () => {
    const afterBuild = scripts.demo!.replace(/^pnpm build && /, '');
    const { code, stdout, stderr } = await runShell(afterBuild);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stderr).toBe('');
    for (const key of ['acs-signing', 'pan-kek', 'pan-hmac'])
      expect(stdout).toMatch(new RegExp(`^provisioned ${key} +\\S+ for \\S+ in the software HSM$`, 'm'));
    // "an ACS-style signed payload verified independently by node:crypto"
    expect(stdout).toMatch(/^ACS signed content \(JWS ES256, kid [A-Za-z0-9_-]{12}…\): \d+ characters$/m);
    expect(stdout).toMatch(/^ {2}verified by keyswitch: true$/m);
    expect(stdout).toMatch(/^ {2}verified by node:crypto with the exported JWK: true$/m);
    // "a card record encrypted under an encryption context"
    expect(stdout).toMatch(/^ {2}decrypted with the same context: identical$/m);
    expect(stdout).toMatch(/^ {2}decrypted with another tenant's context: refused \(INVALID_CIPHERTEXT\)$/m);
    // "and a PAN lookup token"
    expect(stdout).toMatch(/^PAN lookup token \(HMAC_SHA_256\): [0-9a-f]{64}…$/m);
    expect(stdout).toMatch(/^ {2}same PAN gives the same token: true$/m);
    expect(stdout).toMatch(/^audit: \d+ events \(1 refused\), e\.g\. \{.*"operation":"sign".*\}$/m);
    // Nothing it prints, audit events included, holds the PAN or the record.
    expect(stdout).not.toContain('4111111111111111');
    expect(stdout).not.toContain('12/29');
  });
});
