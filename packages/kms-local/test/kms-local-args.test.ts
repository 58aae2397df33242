import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  KMS_LOCAL_DEFAULTS,
  KMS_LOCAL_FLAGS,
  KMS_LOCAL_USAGE,
  parseKmsLocalArgs,
  startKmsLocalFromArgs,
} from '../src/index.js';
import { kmsRequest } from './support/kms-request.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/configs/kms-local.json', import.meta.url));

describe('parseKmsLocalArgs', () => {
  it('reads ports, addresses, faults and credentials from the environment', () => {
    const args = parseKmsLocalArgs(
      [
        '--port=0',
        '--region',
        'eu-west-1',
        '--throttle-rate',
        '0.25',
        '--fault-seed',
        '3',
        '--fault-operations',
        'Sign,Decrypt',
      ],
      { KMS_LOCAL_ACCESS_KEY_ID: 'ID', KMS_LOCAL_SECRET_ACCESS_KEY: 'SECRET' },
    );
    expect(args).toEqual({
      options: {
        port: 0,
        region: 'eu-west-1',
        credentials: [{ accessKeyId: 'ID', secretAccessKey: 'SECRET' }],
        faults: { throttleRate: 0.25, seed: 3, operations: ['Sign', 'Decrypt'] },
      },
      help: false,
    });
    expect(parseKmsLocalArgs([], {}).options.port).toBe(KMS_LOCAL_DEFAULTS.cliPort);
    expect(parseKmsLocalArgs(['--help'], {}).help).toBe(true);
  });

  it('reads --without, --seed-keys and --log, and its help lists every flag of the one table', () => {
    const args = parseKmsLocalArgs(['--without', 'hmac,key-agreement', '--seed-keys', 'k.json', '--log'], {});
    expect(args.options.without).toEqual(['HMAC', 'KEY_AGREEMENT']);
    expect(args.seedKeys).toBe('k.json');
    expect(args.log).toBe(true);
    for (const { flag } of KMS_LOCAL_FLAGS) expect(KMS_LOCAL_USAGE).toContain(flag);
  });

  it('refuses unknown flags, missing values and out-of-range numbers', () => {
    for (const argv of [
      ['--without', 'SM2'],
      ['--bogus'],
      ['--port'],
      ['--throttle-rate', '2'],
      ['--port', '-1'],
      ['--provider', 'hsm'],
    ]) {
      expect(() => parseKmsLocalArgs(argv, {}), argv.join(' ')).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
    }
  });
});

describe('startKmsLocalFromArgs', () => {
  it('starts a server with the keys a configuration expects', async () => {
    const server = await startKmsLocalFromArgs(['--port', '0', '--seed-keys', EXAMPLE], { env: {} });
    try {
      const sign = { ...server!.credentials!, region: server!.region };
      const response = await kmsRequest(server!.endpoint, 'ListAliases', {}, sign);
      expect(
        (response.body.Aliases as { AliasName: string }[]).map((alias) => alias.AliasName).sort(),
      ).toEqual(['alias/acs-signing', 'alias/ds-decrypt', 'alias/pan-hmac', 'alias/pan-kek']);
    } finally {
      await server?.close();
    }
    expect(await startKmsLocalFromArgs(['--help'])).toBeUndefined();
  });
});
