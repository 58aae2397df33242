import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type Workspace } from './cli-harness.js';

let workspace: Workspace;
let message: string;

beforeAll(async () => {
  workspace = await createWorkspace();
  for (const name of ['acs-signing', 'ds-signing', 'pan-kek']) {
    expect((await workspace.run(['keys', 'create', name])).exitCode).toBe(0);
  }
  message = join(workspace.dir, 'creq.json');
  await writeFile(message, '{"messageType":"CReq","threeDSServerTransID":"8a880dc0"}');
});

afterAll(async () => {
  await workspace?.remove();
});

describe('keyswitch sign and verify', () => {
  it('signs to stdout in base64; node:crypto and verify accept the signature', async () => {
    const signed = await workspace.run(['sign', 'acs-signing', '--in', message]);
    expect(signed.exitCode).toBe(0);
    const signature = Buffer.from(signed.stdout.trim(), 'base64');
    const pem = (await workspace.run(['keys', 'public-key', 'acs-signing'])).stdout;
    expect(nodeVerify('sha256', await readFile(message), createPublicKey(pem), signature)).toBe(true);
    const signatureFile = join(workspace.dir, 'creq.sig.b64');
    await writeFile(signatureFile, signed.stdout);
    const verified = await workspace.run([
      'verify',
      'acs-signing',
      '--in',
      message,
      '--signature',
      signatureFile,
    ]);
    expect(verified).toMatchObject({ exitCode: 0, stdout: 'valid\n' });
  });

  it('writes binary P1363 signatures with --out and recognises them when verifying', async () => {
    const out = join(workspace.dir, 'creq.sig');
    const signed = await workspace.run([
      'sign',
      'acs-signing',
      '--in',
      message,
      '--format',
      'p1363',
      '--out',
      out,
    ]);
    expect(signed.exitCode).toBe(0);
    expect(signed.stderr).toMatch(/wrote a 64-byte ECDSA_SHA_256 signature/);
    expect((await readFile(out)).length).toBe(64);
    const verified = await workspace.run(['verify', 'acs-signing', '--in', message, '--signature', out]);
    expect(verified.stdout).toBe('valid\n');
    const explicit = await workspace.run([
      'verify',
      'acs-signing',
      '--in',
      message,
      '--signature',
      out,
      '--format',
      'p1363',
    ]);
    expect(explicit.exitCode).toBe(0);
  });

  it('signs RSA-PSS and says invalid (exit 1) for another message', async () => {
    const out = join(workspace.dir, 'pss.sig');
    expect((await workspace.run(['sign', 'ds-signing', '--in', message, '--out', out])).exitCode).toBe(0);
    const other = join(workspace.dir, 'other.json');
    await writeFile(other, '{"messageType":"CRes"}');
    const verified = await workspace.run(['verify', 'ds-signing', '--in', other, '--signature', out]);
    expect(verified).toMatchObject({ exitCode: 1, stdout: 'invalid\n' });
  });

  it('signs a precomputed digest with --digest', async () => {
    const digest = join(workspace.dir, 'digest.bin');
    const { createHash } = await import('node:crypto');
    await writeFile(
      digest,
      createHash('sha256')
        .update(await readFile(message))
        .digest(),
    );
    const signed = await workspace.run(['sign', 'acs-signing', '--in', digest, '--digest']);
    const signatureFile = join(workspace.dir, 'digest.sig');
    await writeFile(signatureFile, signed.stdout);
    expect(
      (await workspace.run(['verify', 'acs-signing', '--in', message, '--signature', signatureFile])).stdout,
    ).toBe('valid\n');
    const short = await workspace.run(['sign', 'acs-signing', '--in', message, '--digest']);
    expect(short.exitCode).toBe(1);
    expect(short.stderr).toMatch(/^keyswitch: INVALID_INPUT: .*digest must be 32 bytes/);
  });

  it('gives usage errors (exit 2) for bad options and missing files, operation errors (exit 1) otherwise', async () => {
    expect((await workspace.run(['sign', 'acs-signing'])).exitCode).toBe(2);
    const missing = await workspace.run(['sign', 'acs-signing', '--in', join(workspace.dir, 'nope')]);
    expect(missing).toMatchObject({ exitCode: 2 });
    expect(missing.stderr).toMatch(/^keyswitch: INVALID_INPUT: cannot read --in file .*nope \(ENOENT\)/);
    const rsaFormat = await workspace.run(['sign', 'ds-signing', '--in', message, '--format', 'p1363']);
    expect(rsaFormat.stderr).toMatch(/--format applies to ECDSA signatures/);
    expect(rsaFormat.exitCode).toBe(2);
    const wrongKey = await workspace.run(['sign', 'pan-kek', '--in', message]);
    expect(wrongKey.exitCode).toBe(1);
    expect(wrongKey.stderr).toMatch(/^keyswitch: USAGE_MISMATCH: /);
    const unknownOption = await workspace.run(['sign', 'acs-signing', '--in', message, '--nope']);
    expect(unknownOption.exitCode).toBe(2);
    expect(unknownOption.stderr).toMatch(/^keyswitch: USAGE: unknown option '--nope'/);
  });
});
