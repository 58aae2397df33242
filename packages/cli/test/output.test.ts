import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsWithoutExamples } from '../src/lib/help-examples.js';
import { buildProgram } from '../src/main.js';
import { createWorkspace, runCli, testConfig, type Workspace } from './cli-harness.js';

let workspace: Workspace;
const message = '{"messageType":"CReq","threeDSServerTransID":"8a880dc0"}';

beforeAll(async () => {
  workspace = await createWorkspace();
  expect((await workspace.run(['keys', 'create', 'acs-signing'])).exitCode).toBe(0);
});

afterAll(async () => {
  await workspace?.remove();
});

describe('the CLI output layer', () => {
  it('--json gives one JSON document for results, and {"error":{code,message}} for every failure', async () => {
    const signed = await workspace.run(['sign', 'acs-signing', '--in', '-', '--json'], { stdin: message });
    expect(signed.exitCode).toBe(0);
    const { signature, algorithm } = JSON.parse(signed.stdout);
    expect(algorithm).toBe('ECDSA_SHA_256');
    const publicKey = JSON.parse(
      (await workspace.run(['keys', 'public-key', 'acs-signing', '--json'])).stdout,
    );
    const key = createPublicKey({ key: publicKey.jwk, format: 'jwk' });
    expect(nodeVerify('sha256', Buffer.from(message), key, Buffer.from(signature, 'base64'))).toBe(true);
    expect(createPublicKey(publicKey.pem).equals(key)).toBe(true);

    const sigFile = `${workspace.dir}/m.sig`;
    await workspace.run(['sign', 'acs-signing', '--in', '-', '--out', sigFile], { stdin: message });
    const verified = await workspace.run(
      ['verify', 'acs-signing', '--in', '-', '--signature', sigFile, '--json'],
      {
        stdin: message,
      },
    );
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true });
    const tampered = await workspace.run(
      ['verify', 'acs-signing', '--in', '-', '--signature', sigFile, '--json'],
      {
        stdin: `${message} `,
      },
    );
    expect(tampered.exitCode).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ valid: false });

    for (const [args, code] of [
      [['sign', 'no-such-key', '--in', '-', '--json'], 'CONFIG_INVALID'],
      [['keys', 'describe', 'acs-signing', '--bogus', '--json'], 'USAGE'],
      [['audit', 'verify', `${workspace.dir}/missing.jsonl`, '--json'], undefined],
    ] as const) {
      const failed = await workspace.run(args, { stdin: message });
      expect(failed.exitCode, args.join(' ')).not.toBe(0);
      expect(failed.stderr, args.join(' ')).toBe('');
      const parsed = JSON.parse(failed.stdout);
      expect(Object.keys(parsed)).toEqual(['error']);
      expect(Object.keys(parsed.error)).toEqual(['code', 'message']);
      if (code) expect(parsed.error.code).toBe(code);
    }
  });

  it('every command has an example in its --help, and the help points to the repository, not docs/', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout).toMatch(/Examples:/);
    expect(help.stdout).toMatch(/https:\/\/github\.com\/keyswitch\/keyswitch\/blob\/main\/docs\/cli\.md/);
    expect(help.stdout).not.toMatch(/Reference: docs\/cli\.md/);
    for (const path of [['keys', 'create'], ['sign'], ['kms-local'], ['audit', 'verify']]) {
      const commandHelp = await runCli([...path, '--help']);
      expect(commandHelp.stdout, path.join(' ')).toMatch(/Examples?:\n\s+(\$ )?keyswitch /);
    }
    const program = buildProgram({
      io: { stdout: { write: () => true }, stderr: { write: () => true } },
      env: {},
      cwd: process.cwd(),
      configPath: () => undefined,
      exitCode: 0,
    });
    expect(program.commands.length).toBeGreaterThanOrEqual(9);
    expect(commandsWithoutExamples(program)).toEqual([]);
  });

  it('speaks plain English: an RSA_2048 key', async () => {
    const usage = await workspace.run([
      'keys',
      'create',
      '--provider',
      'dev',
      '--spec',
      'RSA_2048',
      '--usage',
      'GENERATE_VERIFY_MAC',
      '--label',
      'never-made',
    ]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toBe(
      'keyswitch: USAGE: --usage for an RSA_2048 key must be one of SIGN_VERIFY, ENCRYPT_DECRYPT\n',
    );
    const config = join(workspace.dir, 'rsa-hmac.json');
    await writeFile(
      config,
      JSON.stringify({
        ...testConfig(),
        keys: { 'ds-signing': { provider: 'dev', ref: 'ds', spec: 'RSA_2048', algorithm: 'HMAC_SHA_256' } },
      }),
    );
    const listed = await runCli(['--config', config, 'keys', 'list'], { env: workspace.env });
    expect(listed.exitCode).toBe(2);
    expect(listed.stderr).toMatch(
      /keys\.ds-signing\.algorithm.*HMAC_SHA_256 cannot be used with an RSA_2048 key/,
    );
  });

  it('speaks plain English: a rewrap of 1 record', async () => {
    await writeFile(
      join(workspace.dir, 'one.jsonl'),
      `${JSON.stringify({ id: 1, envelope: 'not an envelope' })}\n`,
    );
    const rewrap = await workspace.run(['rewrap', '--in', 'one.jsonl', '--out', 'one.out.jsonl']);
    expect(rewrap.exitCode).toBe(1);
    expect(rewrap.stderr).toMatch(/^rewrap: 1 record\n/);
    expect(rewrap.stderr).toContain('rewrap: 1/1 record (rewrapped 0, unchanged 0, failed 1)\n');
    expect(rewrap.stderr).toContain(
      'keyswitch: REWRAP_FAILED: 1 of 1 record could not be re-wrapped; it is in one.out.jsonl unchanged\n',
    );
    expect(rewrap.stdout).toMatch(/^rewrapped 0, unchanged 0, failed 1 of 1 record → one\.out\.jsonl\n/);
    expect(`${rewrap.stdout}${rewrap.stderr}`).not.toMatch(/\b1 records\b/);
  });
});
