import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counted, withArticle } from '../src/lib/english.js';
import { commandsWithoutExamples } from '../src/lib/help-examples.js';
import { buildProgram } from '../src/main.js';
import { createWorkspace, runCli, type Workspace } from './cli-harness.js';

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

  it('speaks plain English: an RSA_2048 key, 1 record', () => {
    expect(withArticle('RSA_2048')).toBe('an RSA_2048');
    expect(withArticle('HMAC_256')).toBe('an HMAC_256');
    expect(withArticle('ECC_NIST_P256')).toBe('an ECC_NIST_P256');
    expect(withArticle('SYMMETRIC_DEFAULT')).toBe('a SYMMETRIC_DEFAULT');
    expect(withArticle('KEY_AGREEMENT')).toBe('a KEY_AGREEMENT');
    expect(withArticle('ENCRYPT_DECRYPT')).toBe('an ENCRYPT_DECRYPT');
    expect(counted(1, 'record')).toBe('1 record');
    expect(counted(0, 'record')).toBe('0 records');
  });
});
