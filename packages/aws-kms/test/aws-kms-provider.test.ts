import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  verify,
} from 'node:crypto';
import { type AuditEvent, isKeyswitchError, type KeyDescription } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKmsProvider } from '../src/index.js';

const OTHER_ACCOUNT = {
  accessKeyId: 'OTHERACCOUNT',
  secretAccessKey: 'other-secret',
  accountId: '444455556666',
};

let server: KmsLocalServer;
let kms: AwsKmsProvider;
const keys: Record<'ecSign' | 'rsaSign' | 'rsaEncrypt' | 'symmetric' | 'hmac' | 'ecdh', KeyDescription> =
  {} as never;
const audit: AuditEvent[] = [];

function open(options: Parameters<typeof AwsKmsProvider.open>[0] = {}): Promise<AwsKmsProvider> {
  return AwsKmsProvider.open({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
    maxAttempts: 2,
    ...options,
  });
}

async function expectCode(promise: Promise<unknown>, code: string, retryable?: boolean): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isKeyswitchError(error), `expected a KeyswitchError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (retryable !== undefined) expect((error as { retryable: boolean }).retryable).toBe(retryable);
}

function nodeKey(spki: Uint8Array) {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

beforeAll(async () => {
  server = await startKmsLocal({ credentials: [KMS_LOCAL_DEFAULT_CREDENTIALS, OTHER_ACCOUNT] });
  kms = await open();
  kms.audit.subscribe((event) => audit.push(event));
  const [ecSign, rsaSign, rsaEncrypt, symmetric, hmac, ecdh] = await Promise.all([
    kms.createKey({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      label: 'acs-signing',
      tags: { team: 'acs' },
    }),
    kms.createKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', label: 'rsa-signing' }),
    kms.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', label: 'ds-decrypt' }),
    kms.createKey({
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      label: 'pan-kek',
      description: 'PAN key',
    }),
    kms.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'pan-hmac' }),
    kms.createKey({ spec: 'ECC_NIST_P256', usage: 'KEY_AGREEMENT', label: 'ecdh' }),
  ]);
  Object.assign(keys, { ecSign, rsaSign, rsaEncrypt, symmetric, hmac, ecdh });
});

afterAll(async () => {
  await kms?.close();
  await server?.close();
});

describe('keys', () => {
  it('creates keys with an alias and tags, referenced by their ARN', () => {
    expect(keys.ecSign).toMatchObject({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      state: 'ENABLED',
      aliases: ['alias/acs-signing'],
      tags: { team: 'acs' },
      algorithms: ['ECDSA_SHA_256'],
    });
    expect(keys.ecSign.ref).toBe(`arn:aws:kms:${server.region}:${server.accountId}:key/${keys.ecSign.keyId}`);
    expect(keys.symmetric.description).toBe('PAN key');
  });

  it('describes a key by key id, key ARN, alias name and alias ARN', async () => {
    const aliasArn = `arn:aws:kms:${server.region}:${server.accountId}:alias/acs-signing`;
    for (const ref of [keys.ecSign.keyId, keys.ecSign.ref, 'alias/acs-signing', aliasArn]) {
      expect(await kms.describeKey(ref)).toMatchObject({ keyId: keys.ecSign.keyId, ref: keys.ecSign.ref });
    }
  });

  it('lists keys a page at a time', async () => {
    const first = await kms.listKeys({ limit: 4 });
    expect(first.keys).toHaveLength(4);
    const second = await kms.listKeys({ limit: 4, nextToken: first.nextToken! });
    const ids = [...first.keys, ...second.keys].map((key) => key.keyId);
    expect(ids).toEqual(expect.arrayContaining(Object.values(keys).map((key) => key.keyId)));
  });

  it('lists aliases, creates and deletes them', async () => {
    await kms.createAlias('acs-signing-2025', keys.ecSign.ref);
    const { aliases } = await kms.listAliases({ ref: 'alias/acs-signing' });
    expect(aliases.map((alias) => alias.aliasName).sort()).toEqual([
      'alias/acs-signing',
      'alias/acs-signing-2025',
    ]);
    expect(aliases[0]).toMatchObject({ targetKeyId: keys.ecSign.keyId });
    await kms.deleteAlias('alias/acs-signing-2025');
    expect((await kms.listAliases({ ref: keys.ecSign.keyId })).aliases).toHaveLength(1);
    await expectCode(kms.createAlias('alias/acs-signing', keys.ecSign.ref), 'KEY_EXISTS');
  });

  it('enables rotation for symmetric keys, and maps UnsupportedOperationException for others', async () => {
    await kms.enableKeyRotation('alias/pan-kek', { rotationPeriodDays: 365 });
    expect(await kms.getKeyRotationStatus(keys.symmetric.ref)).toMatchObject({
      enabled: true,
      rotationPeriodDays: 365,
    });
    await kms.disableKeyRotation('alias/pan-kek');
    expect((await kms.getKeyRotationStatus('alias/pan-kek')).enabled).toBe(false);
    await expectCode(kms.enableKeyRotation('alias/acs-signing'), 'UNSUPPORTED_OPERATION');
  });

  it('moves an alias with updateAlias', async () => {
    await kms.createAlias('alias/moved-once', keys.ecSign.ref);
    await kms.updateAlias('alias/moved-once', keys.rsaSign.ref);
    expect((await kms.describeKey('alias/moved-once')).keyId).toBe(keys.rsaSign.keyId);
    await kms.deleteAlias('alias/moved-once');
  });
});

describe('signing, checked by node:crypto', () => {
  it('ECDSA: DER signatures that node verifies with the SPKI from GetPublicKey; P1363 on request', async () => {
    const message = Buffer.from('AReq payload');
    const signature = await kms.sign({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message });
    const publicKey = await kms.getPublicKey('alias/acs-signing');
    expect(verify('sha256', message, nodeKey(publicKey.spki), signature)).toBe(true);
    const p1363 = await kms.sign({
      ref: 'alias/acs-signing',
      algorithm: 'ECDSA_SHA_256',
      message,
      signatureFormat: 'P1363',
    });
    expect(p1363).toHaveLength(64);
    expect(
      verify('sha256', message, { key: nodeKey(publicKey.spki), dsaEncoding: 'ieee-p1363' }, p1363),
    ).toBe(true);
    expect(
      await kms.verify({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message, signature }),
    ).toBe(true);
    const other = Buffer.from('another payload');
    expect(
      await kms.verify({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message: other, signature }),
    ).toBe(false);
  });

  it('RSA-PSS with a digest-length salt and PKCS #1 v1.5', async () => {
    const message = Buffer.from('CRes payload');
    const key = nodeKey((await kms.getPublicKey(keys.rsaSign.ref)).spki);
    const pss = await kms.sign({ ref: keys.rsaSign.ref, algorithm: 'RSASSA_PSS_SHA_256', message });
    expect(
      verify('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss),
    ).toBe(true);
    const pkcs1 = await kms.sign({ ref: keys.rsaSign.ref, algorithm: 'RSASSA_PKCS1_V1_5_SHA_512', message });
    expect(verify('sha512', message, key, pkcs1)).toBe(true);
  });

  it('signs and verifies a 10,000-byte message by sending its digest (RAW is refused past 4,096 bytes)', async () => {
    const message = randomBytes(10_000);
    const signature = await kms.sign({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message });
    const publicKey = await kms.getPublicKey('alias/acs-signing');
    expect(verify('sha256', message, nodeKey(publicKey.spki), signature)).toBe(true);
    expect(
      await kms.verify({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message, signature }),
    ).toBe(true);
    const digest = createHash('sha256').update(message).digest();
    expect(
      await kms.verify({
        ref: 'alias/acs-signing',
        algorithm: 'ECDSA_SHA_256',
        message: digest,
        messageType: 'DIGEST',
        signature,
      }),
    ).toBe(true);
  });
});

describe('encryption, checked by node:crypto', () => {
  it("decrypts node's RSA-OAEP ciphertext (SHA-256 and SHA-1)", async () => {
    const key = nodeKey((await kms.getPublicKey('alias/ds-decrypt')).spki);
    for (const [algorithm, oaepHash] of [
      ['RSAES_OAEP_SHA_256', 'sha256'],
      ['RSAES_OAEP_SHA_1', 'sha1'],
    ] as const) {
      const ciphertext = publicEncrypt(
        { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
        Buffer.from('CEK'),
      );
      const plaintext = await kms.decrypt({ ref: 'alias/ds-decrypt', algorithm, ciphertext });
      expect(Buffer.from(plaintext).toString()).toBe('CEK');
    }
    const ciphertext = await kms.encrypt({
      ref: 'alias/ds-decrypt',
      algorithm: 'RSAES_OAEP_SHA_256',
      plaintext: Buffer.from('k'),
    });
    expect(ciphertext).toHaveLength(256);
    expect(
      Buffer.from(
        await kms.decrypt({ ref: 'alias/ds-decrypt', algorithm: 'RSAES_OAEP_SHA_256', ciphertext }),
      ).toString(),
    ).toBe('k');
  });

  it('binds the encryption context; tampered ciphertext, a wrong context or key are INVALID_CIPHERTEXT', async () => {
    const context = { tenant: 't1' };
    const ciphertext = await kms.encrypt({
      ref: 'alias/pan-kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      plaintext: Buffer.from('4111111111111111'),
      context,
    });
    const plaintext = await kms.decrypt({
      ref: 'alias/pan-kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      ciphertext,
      context,
    });
    expect(Buffer.from(plaintext).toString()).toBe('4111111111111111');
    await expectCode(
      kms.decrypt({
        ref: 'alias/pan-kek',
        algorithm: 'SYMMETRIC_DEFAULT',
        ciphertext,
        context: { tenant: 't2' },
      }),
      'INVALID_CIPHERTEXT',
    );
    const tampered = Buffer.from(ciphertext);
    tampered[tampered.length - 2]! ^= 0x40;
    await expectCode(
      kms.decrypt({ ref: 'alias/pan-kek', algorithm: 'SYMMETRIC_DEFAULT', ciphertext: tampered, context }),
      'INVALID_CIPHERTEXT',
    );
    // Another key's id with this ciphertext: KMS's IncorrectKeyException.
    const other = await kms.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT' });
    await expectCode(
      kms.decrypt({ ref: other.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext, context }),
      'INVALID_CIPHERTEXT',
    );
  });

  it('ECDH: the shared secret equals the one node derives', async () => {
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const secret = await kms.deriveSharedSecret({
      ref: 'alias/ecdh',
      algorithm: 'ECDH',
      publicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
    });
    const kmsPublic = nodeKey((await kms.getPublicKey('alias/ecdh')).spki);
    expect(Buffer.from(secret)).toEqual(diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublic }));
  });

  it('data keys unwrap with decrypt and work as AES keys in node; without plaintext calls GenerateDataKeyWithoutPlaintext', async () => {
    const context = { purpose: 'pan-vault' };
    const dataKey = await kms.generateDataKey({ ref: 'alias/pan-kek', dataKeySpec: 'AES_256', context });
    expect(dataKey.plaintext).toHaveLength(32);
    const unwrapped = await kms.decrypt({
      ref: 'alias/pan-kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      ciphertext: dataKey.ciphertextBlob,
      context,
    });
    expect(Buffer.from(unwrapped)).toEqual(Buffer.from(dataKey.plaintext!));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext!, iv);
    const sealed = Buffer.concat([cipher.update('record'), cipher.final()]);
    const decipher = createDecipheriv('aes-256-gcm', unwrapped, iv).setAuthTag(cipher.getAuthTag());
    expect(Buffer.concat([decipher.update(sealed), decipher.final()]).toString()).toBe('record');

    server.resetRequestCounts();
    const wrappedOnly = await kms.generateDataKeyWithoutPlaintext({
      ref: 'alias/pan-kek',
      dataKeySpec: 'AES_128',
      context,
    });
    expect(wrappedOnly.plaintext).toBeUndefined();
    expect(server.requests().byOperation).toEqual({ GenerateDataKeyWithoutPlaintext: 1 });
    const opened = await kms.decrypt({
      ref: 'alias/pan-kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      ciphertext: wrappedOnly.ciphertextBlob,
      context,
    });
    expect(opened).toHaveLength(16);
  });

  it('re-encrypts under another key inside KMS', async () => {
    const target = await kms.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT' });
    const ciphertext = await kms.encrypt({
      ref: 'alias/pan-kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      plaintext: Buffer.from('pan'),
      context: { v: '1' },
    });
    const moved = await kms.reEncrypt({
      ciphertext,
      destinationRef: target.ref,
      sourceContext: { v: '1' },
      destinationContext: { v: '2' },
    });
    expect(moved).toMatchObject({ sourceKeyArn: keys.symmetric.ref, destinationKeyArn: target.ref });
    const plaintext = await kms.decrypt({
      ref: target.keyId,
      algorithm: 'SYMMETRIC_DEFAULT',
      ciphertext: moved.ciphertext,
      context: { v: '2' },
    });
    expect(Buffer.from(plaintext).toString()).toBe('pan');
    await expectCode(
      kms.reEncrypt({ ciphertext, destinationRef: 'alias/pan-hmac', sourceContext: { v: '1' } }),
      'USAGE_MISMATCH',
    );
  });

  it('MACs verify, and a wrong tag verifies false; random bytes come from KMS', async () => {
    const message = Buffer.from('4111111111111111');
    const mac = await kms.generateMac({ ref: 'alias/pan-hmac', algorithm: 'HMAC_SHA_256', message });
    expect(mac).toHaveLength(32);
    expect(await kms.verifyMac({ ref: 'alias/pan-hmac', algorithm: 'HMAC_SHA_256', message, mac })).toBe(
      true,
    );
    const wrong = Buffer.from(mac);
    wrong[0]! ^= 1;
    expect(
      await kms.verifyMac({ ref: 'alias/pan-hmac', algorithm: 'HMAC_SHA_256', message, mac: wrong }),
    ).toBe(false);
    expect(await kms.generateRandom(64)).toHaveLength(64);
  });
});

describe('errors, end to end', () => {
  it('a disabled key is KEY_DISABLED, and works again once enabled; pending deletion is KEY_DISABLED', async () => {
    const key = await kms.createKey({
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      label: 'to-disable',
    });
    const request = {
      ref: 'alias/to-disable',
      algorithm: 'SYMMETRIC_DEFAULT',
      plaintext: Buffer.from('x'),
    } as const;
    await kms.disableKey('alias/to-disable');
    await expectCode(kms.encrypt(request), 'KEY_DISABLED', false);
    expect((await kms.describeKey(key.ref)).state).toBe('DISABLED');
    await kms.enableKey(key.keyId);
    await kms.encrypt(request);
    const deletion = await kms.scheduleKeyDeletion('alias/to-disable', { pendingWindowDays: 7 });
    expect(deletion.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    await expectCode(kms.encrypt(request), 'KEY_DISABLED');
    expect((await kms.describeKey(key.ref)).state).toBe('PENDING_DELETION');
  });

  it('an unknown alias is KEY_NOT_FOUND', async () => {
    await expectCode(kms.describeKey('alias/no-such-key'), 'KEY_NOT_FOUND', false);
    await expectCode(
      kms.sign({ ref: 'alias/no-such-key', algorithm: 'ECDSA_SHA_256', message: Buffer.from('x') }),
      'KEY_NOT_FOUND',
    );
  });

  it('wrong credentials are ACCESS_DENIED; another account may sign by ARN but not manage the key', async () => {
    const stranger = await open({ credentials: { accessKeyId: 'KEYSWITCHLOCAL', secretAccessKey: 'wrong' } });
    const otherAccount = await open({
      credentials: { accessKeyId: OTHER_ACCOUNT.accessKeyId, secretAccessKey: OTHER_ACCOUNT.secretAccessKey },
    });
    try {
      await expectCode(stranger.describeKey('alias/acs-signing'), 'ACCESS_DENIED', false);
      const aliasArn = `arn:aws:kms:${server.region}:${server.accountId}:alias/acs-signing`;
      const signature = await otherAccount.sign({
        ref: aliasArn,
        algorithm: 'ECDSA_SHA_256',
        message: Buffer.from('x'),
      });
      expect(
        await kms.verify({
          ref: keys.ecSign.ref,
          algorithm: 'ECDSA_SHA_256',
          message: Buffer.from('x'),
          signature,
        }),
      ).toBe(true);
      await expectCode(otherAccount.describeKey('alias/acs-signing'), 'KEY_NOT_FOUND');
      await expectCode(otherAccount.disableKey(keys.ecSign.ref), 'ACCESS_DENIED');
    } finally {
      await stranger.close();
      await otherAccount.close();
    }
  });

  it('a request without a SigV4 Authorization header gets an error response', async () => {
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });

  it('the provider is audited, and refuses work once closed', async () => {
    expect(audit).toContainEqual(
      expect.objectContaining({ operation: 'sign', providerType: 'aws-kms', outcome: 'success' }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({ operation: 'describeKey', outcome: 'failure', errorCode: 'KEY_NOT_FOUND' }),
    );
    // Every state-changing extension is audited under its own name, through the core's path.
    for (const operation of [
      'createAlias',
      'updateAlias',
      'deleteAlias',
      'enableKeyRotation',
      'disableKeyRotation',
    ]) {
      expect(audit, operation).toContainEqual(
        expect.objectContaining({ operation, providerType: 'aws-kms', outcome: 'success' }),
      );
    }
    expect((await kms.capabilities()).extensions).toMatchObject({
      updateAlias: { changesState: true },
      listAliases: { changesState: false },
    });
    const closing = await open();
    await closing.close();
    await expectCode(closing.generateRandom(8), 'CLOSED');
    await expectCode(
      closing.reEncrypt({ ciphertext: Buffer.from('x'), destinationRef: 'alias/pan-kek' }),
      'CLOSED',
    );
  });
});

describe('caching', () => {
  it('a second getPublicKey, and verify with localVerify, make no request', async () => {
    const local = await open({ localVerify: true, localEncrypt: true });
    try {
      await local.capabilities(); // the endpoint is probed once, at first use
      const message = Buffer.from('cached');
      const signature = await kms.sign({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message });
      server.resetRequestCounts();
      const first = await local.getPublicKey('alias/acs-signing');
      expect(server.requests().byOperation).toEqual({ DescribeKey: 1, GetPublicKey: 1 });
      server.resetRequestCounts();
      expect((await local.getPublicKey('alias/acs-signing')).pem()).toBe(first.pem());
      expect(
        await local.verify({ ref: 'alias/acs-signing', algorithm: 'ECDSA_SHA_256', message, signature }),
      ).toBe(true);
      expect(
        await local.verify({
          ref: 'alias/acs-signing',
          algorithm: 'ECDSA_SHA_256',
          message: Buffer.from('no'),
          signature,
        }),
      ).toBe(false);
      expect(server.requests().total).toBe(0);

      await local.getPublicKey('alias/ds-decrypt');
      server.resetRequestCounts();
      const ciphertext = await local.encrypt({
        ref: 'alias/ds-decrypt',
        algorithm: 'RSAES_OAEP_SHA_256',
        plaintext: Buffer.from('local'),
      });
      expect(server.requests().total).toBe(0);
      expect(
        Buffer.from(
          await kms.decrypt({ ref: 'alias/ds-decrypt', algorithm: 'RSAES_OAEP_SHA_256', ciphertext }),
        ).toString(),
      ).toBe('local');
    } finally {
      await local.close();
    }
  });
});
