import { fileURLToPath } from 'node:url';
import { AwsKmsProvider } from '@keyswitch/aws-kms';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, KMS_LOCAL_FLAGS } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, createWorkspace, type Workspace } from './cli-harness.js';

let workspace: Workspace;

beforeAll(async () => {
  workspace = await createWorkspace();
  expect((await workspace.run(['keys', 'create', 'acs-signing'])).exitCode).toBe(0);
});

afterAll(async () => {
  await workspace?.remove();
});

/** Starts `keyswitch kms-local`, waits for the endpoint it prints, calls `body`, then stops it as Ctrl-C would. */
async function withKmsLocal(
  args: readonly string[],
  body: (endpoint: string) => Promise<void>,
): Promise<CliRun> {
  const controller = new AbortController();
  let printed = '';
  let announce: (endpoint: string) => void = () => {};
  const endpoint = new Promise<string>((resolve) => {
    announce = resolve;
  });
  const running = workspace.run(['kms-local', '--port', '0', ...args], {
    signal: controller.signal,
    onStdout: (text) => {
      printed += text;
      const match = /listening on (\S+),/.exec(printed);
      if (match) announce(match[1]!);
    },
  });
  const early = running.then((run) => {
    throw new Error(`kms-local exited early with ${run.exitCode}: ${run.stderr}`);
  });
  try {
    await body(await Promise.race([endpoint, early]));
  } finally {
    controller.abort();
  }
  return running;
}

/** A KMS call without SigV4: kms-local must answer it, with a KMS-shaped error. */
async function unsignedCall(endpoint: string) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
    body: '{}',
  });
  return { status: response.status, body: (await response.json()) as { __type?: string } };
}

describe('keyswitch kms-local', () => {
  it('serves the KMS protocol on loopback, prints how to point the AWS SDK at it, and stops cleanly', async () => {
    const run = await withKmsLocal([], async (endpoint) => {
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const answer = await unsignedCall(endpoint);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(typeof answer.body.__type).toBe('string');
    });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/backed by an in-memory software HSM/);
    expect(run.stdout).toMatch(/^ {2}export AWS_ENDPOINT_URL_KMS=http:\/\/127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toMatch(/^ {2}export AWS_ACCESS_KEY_ID=\S+$/m);
    expect(run.stderr).toMatch(/kms-local: stopped/);
  });

  it('is backed by a configured provider with --provider', async () => {
    const run = await withKmsLocal(['--provider', 'dev'], async (endpoint) => {
      expect((await unsignedCall(endpoint)).status).toBeGreaterThanOrEqual(400);
    });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/backed by provider dev \(soft-hsm\)/);
  });

  it('refuses a non-loopback host and bad numbers', async () => {
    const host = await workspace.run(['kms-local', '--port', '0', '--host', '0.0.0.0']);
    expect(host.exitCode).toBe(2);
    expect(host.stderr).toMatch(/^keyswitch: CONFIG_INVALID: /);
    const port = await workspace.run(['kms-local', '--port', 'many']);
    expect(port).toMatchObject({
      exitCode: 2,
      stderr: 'keyswitch: USAGE: --port must be a number, got "many"\n',
    });
  });

  it("takes every flag from kms-local's one table, --seed-keys and --without included", async () => {
    const help = await workspace.run(['kms-local', '--help']);
    for (const { flag } of KMS_LOCAL_FLAGS) {
      if (flag !== '--config') expect(help.stdout, flag).toContain(flag);
    }
    const seeded = fileURLToPath(new URL('../../../examples/configs/kms-local.json', import.meta.url));
    await withKmsLocal(['--seed-keys', seeded, '--without', 'HMAC'], async (endpoint) => {
      const kms = await AwsKmsProvider.open({
        endpoint,
        region: 'us-east-1',
        credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
      });
      try {
        const { aliases } = await kms.listAliases();
        expect(aliases.map((alias) => alias.aliasName)).toContain('alias/acs-signing');
        const hmac = await kms.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' }).catch((e) => e);
        expect(hmac).toMatchObject({ code: expect.stringMatching(/^UNSUPPORTED_/) });
      } finally {
        await kms.close();
      }
    });
  });
});
