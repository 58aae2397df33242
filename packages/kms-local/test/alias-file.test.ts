import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '../src/index.js';
import { kmsRequest } from './support/kms-request.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-local-aliases-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** kms-local over a software HSM keystore in `dir`, with its alias file beside the keystore. */
async function start(): Promise<KmsLocalServer> {
  const provider = await SoftHsm.open({
    keystore: join(dir, 'kms.keystore'),
    passphrase: 'correct horse battery',
  });
  return startKmsLocal({ provider, closeProvider: true, aliasFile: join(dir, 'kms.aliases.json') });
}

describe('aliases persisted with a keystore', () => {
  it('a key and its alias are both there after a restart; a deleted alias stays deleted', async () => {
    let server = await start();
    const sign = () => ({ ...KMS_LOCAL_DEFAULT_CREDENTIALS, region: server.region });
    const created = await kmsRequest(
      server.endpoint,
      'CreateKey',
      { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
      sign(),
    );
    const keyId = (created.body.KeyMetadata as { KeyId: string }).KeyId;
    expect(
      (
        await kmsRequest(
          server.endpoint,
          'CreateAlias',
          { AliasName: 'alias/acs-signing', TargetKeyId: keyId },
          sign(),
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await kmsRequest(
          server.endpoint,
          'CreateAlias',
          { AliasName: 'alias/old-name', TargetKeyId: keyId },
          sign(),
        )
      ).status,
    ).toBe(200);
    expect(
      (await kmsRequest(server.endpoint, 'DeleteAlias', { AliasName: 'alias/old-name' }, sign())).status,
    ).toBe(200);
    await server.close();

    server = await start();
    try {
      const described = await kmsRequest(
        server.endpoint,
        'DescribeKey',
        { KeyId: 'alias/acs-signing' },
        sign(),
      );
      expect((described.body.KeyMetadata as { KeyId: string }).KeyId).toBe(keyId);
      const gone = await kmsRequest(server.endpoint, 'DescribeKey', { KeyId: 'alias/old-name' }, sign());
      expect(gone.body.__type).toBe('NotFoundException');
    } finally {
      await server.close();
    }
  });

  it('keeps aliases beside a keystore when no alias file is named, so a restart with the keystore alone finds them', async () => {
    const keystore = join(dir, 'alone.keystore');
    const open = async () =>
      startKmsLocal({
        provider: await SoftHsm.open({ keystore, passphrase: 'correct horse battery' }),
        closeProvider: true,
      });
    let server = await open();
    expect(server.aliasFile).toBe(`${keystore}.aliases.json`);
    const sign = () => ({ ...KMS_LOCAL_DEFAULT_CREDENTIALS, region: server.region });
    const created = await kmsRequest(
      server.endpoint,
      'CreateKey',
      { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' },
      sign(),
    );
    const keyId = (created.body.KeyMetadata as { KeyId: string }).KeyId;
    const alias = { AliasName: 'alias/pan-kek', TargetKeyId: keyId };
    expect((await kmsRequest(server.endpoint, 'CreateAlias', alias, sign())).status).toBe(200);
    await server.close();

    server = await open();
    try {
      const described = await kmsRequest(server.endpoint, 'DescribeKey', { KeyId: 'alias/pan-kek' }, sign());
      expect((described.body.KeyMetadata as { KeyId: string } | undefined)?.KeyId).toBe(keyId);
    } finally {
      await server.close();
    }
    // An in-memory server has no alias file.
    const memory = await startKmsLocal();
    expect(memory.aliasFile).toBeUndefined();
    await memory.close();
  });

  it('refuses a file that is not its alias file, naming it', async () => {
    const path = join(dir, 'not-aliases.json');
    await writeFile(path, '{"hello": "world"}');
    await expect(startKmsLocal({ aliasFile: path })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(await readFile(path, 'utf8')).toBe('{"hello": "world"}');
  });
});
