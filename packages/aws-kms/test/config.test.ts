import { readFile } from 'node:fs/promises';
import { Keyswitch, type KeyswitchConfigInput } from '@keyswitch/core';
import {
  KMS_LOCAL_DEFAULT_CREDENTIALS,
  type KmsLocalServer,
  kmsLocalKeysFromConfig,
  startKmsLocal,
} from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsKmsConfigSchema, providerFactory } from '../src/index.js';

const EXAMPLE = new URL('../../../examples/configs/kms-local.json', import.meta.url);

let server: KmsLocalServer;
let config: KeyswitchConfigInput;

beforeAll(async () => {
  config = JSON.parse(await readFile(EXAMPLE, 'utf8')) as KeyswitchConfigInput;
  // The keys the example configuration expects, created under their aliases, on a free port.
  server = await startKmsLocal({ keys: await kmsLocalKeysFromConfig(config) });
  (config.providers.kms as Record<string, unknown>).endpoint = server.endpoint;
});

afterAll(async () => {
  await server.close();
});

describe('configuration', () => {
  it('validates a provider section and names the JSON path of a problem', () => {
    expect(
      providerFactory.parseConfig(
        { type: 'aws-kms', region: 'eu-west-1', rateLimits: true },
        'providers.kms',
      ),
    ).toMatchObject({
      region: 'eu-west-1',
    });
    expect(() => providerFactory.parseConfig({ type: 'aws-kms', region: 'Europe' }, 'providers.kms')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', path: 'providers.kms.region' }),
    );
    expect(() =>
      providerFactory.parseConfig(
        { type: 'aws-kms', credentials: { accessKeyId: 'A', secretAccessKey: 'plain' } },
        'providers.kms',
      ),
    ).toThrow(expect.objectContaining({ path: 'providers.kms.credentials.secretAccessKey' }));
    expect(() =>
      providerFactory.parseConfig({ type: 'aws-kms', rateLimits: { rsa: 0 } }, 'providers.kms'),
    ).toThrow(expect.objectContaining({ path: 'providers.kms.rateLimits.rsa' }));
    expect(awsKmsConfigSchema.safeParse({ type: 'aws-kms', sessions: 3 }).success).toBe(false);
  });

  it('runs the example kms-local configuration through the registry, which loads this package by type', async () => {
    const env = { KMS_LOCAL_SECRET_ACCESS_KEY: KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey };
    const ks = await Keyswitch.fromConfig(config, { env });
    try {
      const signer = ks.signer('acs-signing');
      const payload = Buffer.from('ARes');
      const signature = await signer.sign(payload);
      expect(await signer.verify(payload, signature)).toBe(true);
      const ciphertext = await ks
        .encrypter('pan-kek')
        .encrypt(Buffer.from('4111111111111111'), { context: { tenant: 't1' } });
      const plaintext = await ks.encrypter('pan-kek').decrypt(ciphertext, { context: { tenant: 't1' } });
      expect(Buffer.from(plaintext).toString()).toBe('4111111111111111');
      expect((await ks.describe('ds-decrypt')).spec).toBe('RSA_2048');
    } finally {
      await ks.close();
    }
  });

  it('reports a missing secret as CONFIG_INVALID naming the path, when the configuration is loaded', async () => {
    await expect(Keyswitch.fromConfig(config, { env: {} })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'providers.kms.credentials.secretAccessKey',
    });
  });

  it("production refuses a plain-HTTP endpoint and kms-local's published credentials unless allowed", async () => {
    const env = { KMS_LOCAL_SECRET_ACCESS_KEY: KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey };
    const production = (extra: Record<string, unknown>): KeyswitchConfigInput => ({
      ...config,
      environment: 'production',
      providers: { kms: { ...config.providers.kms!, ...extra } },
    });
    const refusal = async (input: KeyswitchConfigInput) => {
      try {
        const ks = await Keyswitch.fromConfig(input, { env });
        try {
          await ks.provider('kms');
        } finally {
          await ks.close();
        }
      } catch (error) {
        return error as { code: string; path?: string; message: string };
      }
      return undefined;
    };
    const http = await refusal(production({}));
    expect(http).toMatchObject({ code: 'CONFIG_INVALID', path: 'providers.kms.endpoint' });
    const published = await refusal(production({ allowPlainHttp: true }));
    expect(published).toMatchObject({ code: 'CONFIG_INVALID', path: 'providers.kms.credentials' });
    expect(published?.message).not.toContain(KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey);
    expect(
      await refusal(
        production({ allowPlainHttp: true, allowKmsLocalCredentials: true }) as KeyswitchConfigInput,
      ),
    ).toBeUndefined();
    // Development configurations are untouched.
    expect(await refusal(config)).toBeUndefined();
  });

  it("production refuses kms-local's endpoint and credentials from the environment, unless allowed", async () => {
    // Nothing in the section points at kms-local: the AWS SDK finds the endpoint and the credentials in
    // the standard environment variables, and the guard checks what the client will really use.
    const variables = {
      AWS_ENDPOINT_URL_KMS: server.endpoint,
      AWS_ACCESS_KEY_ID: KMS_LOCAL_DEFAULT_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey,
    };
    const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
    Object.assign(process.env, variables);
    const open = async (extra: Record<string, unknown>) => {
      const ks = await Keyswitch.fromConfig({
        environment: 'production',
        providers: { kms: { type: 'aws-kms', region: server.region, ...extra } },
        keys: {},
      });
      try {
        const kms = await ks.provider('kms');
        return (await kms.generateRandom(8)).byteLength;
      } finally {
        await ks.close();
      }
    };
    try {
      await expect(open({})).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        path: 'providers.kms',
        message: expect.stringContaining(new URL(server.endpoint).host),
      });
      const credentials = await open({ allowPlainHttp: true }).catch((error: unknown) => error);
      expect(credentials).toMatchObject({ code: 'CONFIG_INVALID', path: 'providers.kms' });
      expect((credentials as Error).message).toMatch(/published credentials/);
      expect((credentials as Error).message).not.toContain(KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey);
      // Explicitly allowed, the same environment serves, over the real SDK to kms-local.
      expect(await open({ allowPlainHttp: true, allowKmsLocalCredentials: true })).toBe(8);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('checks options given in code with the same schema as the configuration', async () => {
    const { AwsKmsProvider } = await import('../src/index.js');
    await expect(AwsKmsProvider.open({ maxAttempts: 0 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'options.maxAttempts',
    });
    await expect(AwsKmsProvider.open({ localVerify: true, cachePublicKeys: false })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'options.cachePublicKeys',
    });
    // The production guard applies to code too.
    const local = {
      region: server.region,
      endpoint: server.endpoint,
      credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
      environment: 'production',
    };
    await expect(AwsKmsProvider.open(local)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'options.endpoint',
    });
    await expect(AwsKmsProvider.open({ ...local, allowPlainHttp: true })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'options.credentials',
    });
    const allowed = await AwsKmsProvider.open({
      ...local,
      allowPlainHttp: true,
      allowKmsLocalCredentials: true,
    });
    expect((await allowed.generateRandom(4)).byteLength).toBe(4);
    await allowed.close();
    expect(() =>
      providerFactory.parseConfig(
        { type: 'aws-kms', localEncrypt: true, cachePublicKeys: false },
        'providers.kms',
      ),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', path: 'providers.kms.cachePublicKeys' }));
  });
});
