import {
  constants,
  createHash,
  createHmac,
  createPublicKey,
  publicEncrypt,
  randomBytes,
  verify,
} from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '../src/index.js';
import { type KmsResponse, kmsRequest, type SignOptions } from './support/kms-request.js';

const OTHER_ACCOUNT = {
  accessKeyId: 'OTHERACCOUNT',
  secretAccessKey: 'other-secret',
  accountId: '444455556666',
};

let server: KmsLocalServer;
let signed: SignOptions;
let other: SignOptions;
let symmetricKey: Record<string, unknown>;
let ecKey: Record<string, unknown>;

/** A request signed with the default credentials. */
function call(
  operation: string,
  payload: Record<string, unknown> = {},
  as: SignOptions = signed,
): Promise<KmsResponse> {
  return kmsRequest(server.endpoint, operation, payload, as);
}

function b64(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('base64');
}

function expectError(response: KmsResponse, type: string, status = 400): void {
  expect({ status: response.status, type: response.body.__type }).toEqual({ status, type });
  expect(typeof response.body.message).toBe('string');
  expect(response.contentType).toBe('application/x-amz-json-1.1');
}

beforeAll(async () => {
  server = await startKmsLocal({ credentials: [KMS_LOCAL_DEFAULT_CREDENTIALS, OTHER_ACCOUNT] });
  signed = { ...KMS_LOCAL_DEFAULT_CREDENTIALS, region: server.region };
  other = { ...OTHER_ACCOUNT, region: server.region };
  symmetricKey = (
    await call('CreateKey', { Description: 'symmetric', Tags: [{ TagKey: 'team', TagValue: 'acs' }] })
  ).body.KeyMetadata as Record<string, unknown>;
  ecKey = (await call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).body
    .KeyMetadata as Record<string, unknown>;
  await call('CreateAlias', { AliasName: 'alias/ec-sign', TargetKeyId: ecKey.KeyId });
});

afterAll(async () => {
  await server.close();
});

describe('SigV4', () => {
  it('refuses a request without an Authorization header', async () => {
    expectError(await kmsRequest(server.endpoint, 'ListKeys', {}), 'MissingAuthenticationTokenException');
  });

  it('refuses a malformed Authorization header', async () => {
    const response = await kmsRequest(server.endpoint, 'ListKeys', {}, undefined, {
      authorization: 'AWS4-HMAC-SHA256 Credential=KEYSWITCHLOCAL',
    });
    expectError(response, 'IncompleteSignatureException');
  });

  it('verifies the signature: a wrong secret, an unknown key id, another region, an old date', async () => {
    expectError(
      await call('ListKeys', {}, { ...signed, secretAccessKey: 'wrong' }),
      'InvalidSignatureException',
    );
    expectError(
      await call('ListKeys', {}, { ...signed, accessKeyId: 'NOBODY' }),
      'UnrecognizedClientException',
    );
    expectError(await call('ListKeys', {}, { ...signed, region: 'eu-west-1' }), 'InvalidSignatureException');
    const old = new Date(Date.now() - 20 * 60_000);
    expectError(await call('ListKeys', {}, { ...signed, date: old }), 'InvalidSignatureException');
    expect((await call('ListKeys')).status).toBe(200);
  });

  it("with credentials 'any', accepts a well-formed header whatever its signature", async () => {
    const open = await startKmsLocal({ credentials: 'any' });
    try {
      const response = await kmsRequest(
        open.endpoint,
        'GenerateRandom',
        { NumberOfBytes: 8 },
        { ...signed, secretAccessKey: 'x' },
      );
      expect(response.status).toBe(200);
      expectError(
        await kmsRequest(open.endpoint, 'GenerateRandom', { NumberOfBytes: 8 }),
        'MissingAuthenticationTokenException',
      );
    } finally {
      await open.close();
    }
  });
});

describe('protocol', () => {
  it('answers an unknown operation and a body that is not JSON', async () => {
    expectError(await call('MakeCoffee'), 'UnknownOperationException');
    const response = await fetch(server.endpoint, { method: 'POST', body: 'x' });
    expect(response.status).toBe(400);
  });

  it('gives KeyMetadata in KMS shape, with an ARN, dates as epoch seconds and algorithms', async () => {
    expect(symmetricKey).toMatchObject({
      AWSAccountId: server.accountId,
      Arn: `arn:aws:kms:${server.region}:${server.accountId}:key/${symmetricKey.KeyId}`,
      Enabled: true,
      KeyState: 'Enabled',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      Origin: 'AWS_KMS',
      Description: 'symmetric',
    });
    expect(Math.abs((symmetricKey.CreationDate as number) - Date.now() / 1000)).toBeLessThan(60);
    const described = await call('DescribeKey', { KeyId: 'alias/ec-sign' });
    expect(described.body.KeyMetadata).toMatchObject({
      KeyId: ecKey.KeyId,
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
  });

  it('resolves key id, key ARN, alias name and alias ARN; unknown ones are NotFoundException', async () => {
    const aliasArn = `arn:aws:kms:${server.region}:${server.accountId}:alias/ec-sign`;
    for (const KeyId of [ecKey.KeyId, ecKey.Arn, 'alias/ec-sign', aliasArn]) {
      expect((await call('DescribeKey', { KeyId })).body.KeyMetadata).toMatchObject({ KeyId: ecKey.KeyId });
    }
    expectError(await call('DescribeKey', { KeyId: 'alias/missing' }), 'NotFoundException');
    expectError(await call('DescribeKey', { KeyId: 'not-a-key' }), 'NotFoundException');
    expectError(await call('DescribeKey', {}), 'ValidationException');
  });

  it('pages ListKeys with Limit and Marker', async () => {
    const first = await call('ListKeys', { Limit: 1 });
    expect(first.body).toMatchObject({ Truncated: true });
    const second = await call('ListKeys', { Limit: 1, Marker: first.body.NextMarker });
    const ids = [first.body.Keys, second.body.Keys].flat().map((key) => (key as { KeyId: string }).KeyId);
    expect(new Set(ids).size).toBe(2);
    expectError(await call('ListKeys', { Marker: 'bogus' }), 'InvalidMarkerException');
  });
});

describe('signing', () => {
  it('signs RAW up to 4,096 bytes and refuses more with ValidationException', async () => {
    const message = Buffer.alloc(4096, 1);
    const response = await call('Sign', {
      KeyId: 'alias/ec-sign',
      Message: b64(message),
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(response.body).toMatchObject({ KeyId: ecKey.Arn, SigningAlgorithm: 'ECDSA_SHA_256' });
    const publicKey = await call('GetPublicKey', { KeyId: ecKey.KeyId });
    expect(publicKey.body).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const key = createPublicKey({
      key: Buffer.from(publicKey.body.PublicKey as string, 'base64'),
      format: 'der',
      type: 'spki',
    });
    expect(verify('sha256', message, key, Buffer.from(response.body.Signature as string, 'base64'))).toBe(
      true,
    );

    const tooLong = await call('Sign', {
      KeyId: ecKey.KeyId,
      Message: b64(Buffer.alloc(4097)),
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expectError(tooLong, 'ValidationException');
    expect(tooLong.body.message).toContain('4096');
  });

  it('signs a DIGEST of the right length and verifies; a bad signature is KMSInvalidSignatureException', async () => {
    const digest = createHash('sha256').update('payload').digest();
    const signature = (
      await call('Sign', {
        KeyId: ecKey.KeyId,
        Message: b64(digest),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      })
    ).body.Signature as string;
    const verified = await call('Verify', {
      KeyId: ecKey.KeyId,
      Message: b64('payload'),
      Signature: signature,
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(verified.body).toMatchObject({ SignatureValid: true });
    const wrong = await call('Verify', {
      KeyId: ecKey.KeyId,
      Message: b64('other'),
      Signature: signature,
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expectError(wrong, 'KMSInvalidSignatureException');
    const short = await call('Sign', {
      KeyId: ecKey.KeyId,
      Message: b64(digest.subarray(1)),
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expectError(short, 'ValidationException');
  });

  it('checks key usage and algorithm: InvalidKeyUsageException', async () => {
    expectError(
      await call('Sign', { KeyId: symmetricKey.KeyId, Message: b64('x'), SigningAlgorithm: 'ECDSA_SHA_256' }),
      'InvalidKeyUsageException',
    );
    expectError(
      await call('Sign', { KeyId: ecKey.KeyId, Message: b64('x'), SigningAlgorithm: 'ECDSA_SHA_384' }),
      'InvalidKeyUsageException',
    );
    expectError(await call('GetPublicKey', { KeyId: symmetricKey.KeyId }), 'UnsupportedOperationException');
  });

  it('uses a PSS salt as long as the digest', async () => {
    const rsa = (await call('CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).body
      .KeyMetadata as { KeyId: string };
    const message = Buffer.from('pss');
    const signature = Buffer.from(
      (
        await call('Sign', {
          KeyId: rsa.KeyId,
          Message: b64(message),
          SigningAlgorithm: 'RSASSA_PSS_SHA_256',
        })
      ).body.Signature as string,
      'base64',
    );
    const spki = Buffer.from(
      (await call('GetPublicKey', { KeyId: rsa.KeyId })).body.PublicKey as string,
      'base64',
    );
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const withSalt = (saltLength: number) =>
      verify('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
    expect(withSalt(32)).toBe(true);
    expect(withSalt(20)).toBe(false);
  });
});

describe('encryption', () => {
  it('gives ciphertext blobs that carry their key: Decrypt without KeyId, IncorrectKeyException with another', async () => {
    const context = { tenant: 't1' };
    const encrypted = await call('Encrypt', { KeyId: 'alias/missing', Plaintext: b64('x') });
    expectError(encrypted, 'NotFoundException');
    const blob = (
      await call('Encrypt', {
        KeyId: symmetricKey.Arn,
        Plaintext: b64('4111111111111111'),
        EncryptionContext: context,
      })
    ).body.CiphertextBlob as string;
    const decrypted = await call('Decrypt', { CiphertextBlob: blob, EncryptionContext: context });
    expect(decrypted.body).toMatchObject({
      KeyId: symmetricKey.Arn,
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
    expect(Buffer.from(decrypted.body.Plaintext as string, 'base64').toString()).toBe('4111111111111111');
    expectError(
      await call('Decrypt', { CiphertextBlob: blob, EncryptionContext: { tenant: 't2' } }),
      'InvalidCiphertextException',
    );
    expectError(
      await call('Decrypt', { CiphertextBlob: blob, KeyId: ecKey.KeyId, EncryptionContext: context }),
      'InvalidKeyUsageException',
    );
    const second = (await call('CreateKey')).body.KeyMetadata as { KeyId: string };
    expectError(
      await call('Decrypt', { CiphertextBlob: blob, KeyId: second.KeyId, EncryptionContext: context }),
      'IncorrectKeyException',
    );
    const tampered = Buffer.from(blob, 'base64');
    tampered[tampered.length - 1]! ^= 1;
    expectError(
      await call('Decrypt', { CiphertextBlob: b64(tampered), EncryptionContext: context }),
      'InvalidCiphertextException',
    );
    expectError(await call('Decrypt', { CiphertextBlob: b64('garbage') }), 'InvalidCiphertextException');
  });

  it('generates data keys with and without plaintext, by KeySpec or NumberOfBytes', async () => {
    const withPlaintext = await call('GenerateDataKey', { KeyId: symmetricKey.KeyId, KeySpec: 'AES_256' });
    expect(Buffer.from(withPlaintext.body.Plaintext as string, 'base64')).toHaveLength(32);
    const opened = await call('Decrypt', { CiphertextBlob: withPlaintext.body.CiphertextBlob });
    expect(opened.body.Plaintext).toBe(withPlaintext.body.Plaintext);
    const without = await call('GenerateDataKeyWithoutPlaintext', {
      KeyId: symmetricKey.KeyId,
      NumberOfBytes: 24,
    });
    expect(without.body.Plaintext).toBeUndefined();
    const unwrapped = await call('Decrypt', { CiphertextBlob: without.body.CiphertextBlob });
    expect(Buffer.from(unwrapped.body.Plaintext as string, 'base64')).toHaveLength(24);
    expectError(await call('GenerateDataKey', { KeyId: symmetricKey.KeyId }), 'ValidationException');
    expectError(
      await call('GenerateDataKey', { KeyId: ecKey.KeyId, KeySpec: 'AES_256' }),
      'InvalidKeyUsageException',
    );
  });

  it('re-encrypts under another key', async () => {
    const target = (await call('CreateKey')).body.KeyMetadata as { KeyId: string; Arn: string };
    const blob = (await call('Encrypt', { KeyId: symmetricKey.KeyId, Plaintext: b64('secret') })).body
      .CiphertextBlob;
    const moved = await call('ReEncrypt', {
      CiphertextBlob: blob,
      DestinationKeyId: target.KeyId,
      DestinationEncryptionContext: { v: '2' },
    });
    expect(moved.body).toMatchObject({ SourceKeyId: symmetricKey.Arn, KeyId: target.Arn });
    const opened = await call('Decrypt', {
      CiphertextBlob: moved.body.CiphertextBlob,
      EncryptionContext: { v: '2' },
    });
    expect(Buffer.from(opened.body.Plaintext as string, 'base64').toString()).toBe('secret');
  });

  it('answers GenerateRandom with the bytes asked for, 1 to 1,024', async () => {
    const random = await call('GenerateRandom', { NumberOfBytes: 48 });
    expect(Buffer.from(random.body.Plaintext as string, 'base64')).toHaveLength(48);
    expectError(await call('GenerateRandom', { NumberOfBytes: 1025 }), 'ValidationException');
  });
});

describe('key state, aliases, tags and rotation', () => {
  it('refuses disabled keys with DisabledException and keys pending deletion with KMSInvalidStateException', async () => {
    const key = (await call('CreateKey')).body.KeyMetadata as { KeyId: string; Arn: string };
    await call('DisableKey', { KeyId: key.KeyId });
    expectError(await call('Encrypt', { KeyId: key.KeyId, Plaintext: b64('x') }), 'DisabledException');
    expect((await call('DescribeKey', { KeyId: key.KeyId })).body.KeyMetadata).toMatchObject({
      KeyState: 'Disabled',
      Enabled: false,
    });
    await call('EnableKey', { KeyId: key.Arn });
    expect((await call('Encrypt', { KeyId: key.KeyId, Plaintext: b64('x') })).status).toBe(200);
    const scheduled = await call('ScheduleKeyDeletion', { KeyId: key.KeyId, PendingWindowInDays: 7 });
    expect(scheduled.body).toMatchObject({
      KeyId: key.Arn,
      KeyState: 'PendingDeletion',
      PendingWindowInDays: 7,
    });
    expectError(await call('Encrypt', { KeyId: key.KeyId, Plaintext: b64('x') }), 'KMSInvalidStateException');
    expectError(await call('EnableKey', { KeyId: key.KeyId }), 'KMSInvalidStateException');
    expectError(
      await call('ScheduleKeyDeletion', { KeyId: key.KeyId, PendingWindowInDays: 6 }),
      'ValidationException',
    );
    await call('CancelKeyDeletion', { KeyId: key.KeyId });
    expect((await call('DescribeKey', { KeyId: key.KeyId })).body.KeyMetadata).toMatchObject({
      KeyState: 'Disabled',
    });
  });

  it('creates, lists and deletes aliases; refuses duplicates, aws/ names and aliases where KMS wants a key id', async () => {
    expectError(
      await call('CreateAlias', { AliasName: 'alias/ec-sign', TargetKeyId: ecKey.KeyId }),
      'AlreadyExistsException',
    );
    expectError(
      await call('CreateAlias', { AliasName: 'alias/aws/mine', TargetKeyId: ecKey.KeyId }),
      'InvalidAliasNameException',
    );
    expectError(
      await call('CreateAlias', { AliasName: 'no-prefix', TargetKeyId: ecKey.KeyId }),
      'ValidationException',
    );
    expectError(await call('DisableKey', { KeyId: 'alias/ec-sign' }), 'NotFoundException');
    await call('CreateAlias', { AliasName: 'alias/temp', TargetKeyId: ecKey.Arn });
    const listed = await call('ListAliases', { KeyId: ecKey.KeyId });
    expect((listed.body.Aliases as { AliasName: string }[]).map((alias) => alias.AliasName).sort()).toEqual([
      'alias/ec-sign',
      'alias/temp',
    ]);
    expect(listed.body.Aliases).toContainEqual(
      expect.objectContaining({
        AliasArn: `arn:aws:kms:${server.region}:${server.accountId}:alias/temp`,
        TargetKeyId: ecKey.KeyId,
      }),
    );
    await call('DeleteAlias', { AliasName: 'alias/temp' });
    expectError(await call('DeleteAlias', { AliasName: 'alias/temp' }), 'NotFoundException');
  });

  it('keeps tags', async () => {
    expect((await call('ListResourceTags', { KeyId: symmetricKey.KeyId })).body.Tags).toEqual([
      { TagKey: 'team', TagValue: 'acs' },
    ]);
    await call('TagResource', { KeyId: symmetricKey.KeyId, Tags: [{ TagKey: 'env', TagValue: 'dev' }] });
    await call('UntagResource', { KeyId: symmetricKey.KeyId, TagKeys: ['team'] });
    expect((await call('ListResourceTags', { KeyId: symmetricKey.KeyId })).body.Tags).toEqual([
      { TagKey: 'env', TagValue: 'dev' },
    ]);
  });

  it('enables rotation for symmetric keys only', async () => {
    expect((await call('GetKeyRotationStatus', { KeyId: symmetricKey.KeyId })).body).toMatchObject({
      KeyRotationEnabled: false,
    });
    await call('EnableKeyRotation', { KeyId: symmetricKey.KeyId, RotationPeriodInDays: 180 });
    const status = await call('GetKeyRotationStatus', { KeyId: symmetricKey.KeyId });
    expect(status.body).toMatchObject({
      KeyRotationEnabled: true,
      RotationPeriodInDays: 180,
      KeyId: symmetricKey.Arn,
    });
    expect(typeof status.body.NextRotationDate).toBe('number');
    expectError(await call('EnableKeyRotation', { KeyId: ecKey.KeyId }), 'UnsupportedOperationException');
  });
});

describe('key import', () => {
  it('imports wrapped material into an EXTERNAL key, which then MACs as node:crypto does', async () => {
    const key = (
      await call('CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', Origin: 'EXTERNAL' })
    ).body.KeyMetadata as { KeyId: string; KeyState: string; Origin: string };
    expect(key).toMatchObject({ KeyState: 'PendingImport', Origin: 'EXTERNAL' });
    expectError(
      await call('GenerateMac', { KeyId: key.KeyId, Message: b64('x'), MacAlgorithm: 'HMAC_SHA_256' }),
      'KMSInvalidStateException',
    );
    const parameters = await call('GetParametersForImport', {
      KeyId: key.KeyId,
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
      WrappingKeySpec: 'RSA_2048',
    });
    const wrappingKey = createPublicKey({
      key: Buffer.from(parameters.body.PublicKey as string, 'base64'),
      format: 'der',
      type: 'spki',
    });
    const material = randomBytes(32);
    const wrapped = publicEncrypt(
      { key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      material,
    );
    const wrongToken = await call('ImportKeyMaterial', {
      KeyId: key.KeyId,
      ImportToken: b64(randomBytes(32)),
      EncryptedKeyMaterial: b64(wrapped),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    });
    expectError(wrongToken, 'InvalidImportTokenException');
    const imported = await call('ImportKeyMaterial', {
      KeyId: key.KeyId,
      ImportToken: parameters.body.ImportToken,
      EncryptedKeyMaterial: b64(wrapped),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    });
    expect(imported.status).toBe(200);
    const mac = await call('GenerateMac', {
      KeyId: key.KeyId,
      Message: b64('4111'),
      MacAlgorithm: 'HMAC_SHA_256',
    });
    expect(mac.body.Mac).toBe(createHmac('sha256', material).update('4111').digest('base64'));
    expectError(
      await call('GetParametersForImport', {
        KeyId: symmetricKey.KeyId,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      }),
      'UnsupportedOperationException',
    );
  });
});

describe('accounts', () => {
  it('lets another account use a key by ARN, not by alias name, and not manage it', async () => {
    const aliasArn = `arn:aws:kms:${server.region}:${server.accountId}:alias/ec-sign`;
    for (const KeyId of [ecKey.Arn, aliasArn]) {
      const response = await call(
        'Sign',
        { KeyId, Message: b64('x'), SigningAlgorithm: 'ECDSA_SHA_256' },
        other,
      );
      expect(response.status).toBe(200);
    }
    expectError(
      await call(
        'Sign',
        { KeyId: 'alias/ec-sign', Message: b64('x'), SigningAlgorithm: 'ECDSA_SHA_256' },
        other,
      ),
      'NotFoundException',
    );
    expectError(await call('DisableKey', { KeyId: ecKey.Arn }, other), 'AccessDeniedException');
    expect((await call('ListKeys', {}, other)).body.Keys).toEqual([]);
  });
});

describe('faults', () => {
  it('throttles a seeded, reproducible share of requests', async () => {
    const pattern = async () => {
      server.setFaults({ throttleRate: 0.5, seed: 42, operations: ['GenerateRandom'] });
      const outcomes: string[] = [];
      for (let index = 0; index < 12; index += 1) {
        const response = await call('GenerateRandom', { NumberOfBytes: 1 });
        outcomes.push(response.status === 200 ? 'ok' : String(response.body.__type));
      }
      return outcomes;
    };
    try {
      const first = await pattern();
      expect(first).toEqual(await pattern());
      expect(first).toContain('ThrottlingException');
      expect(first).toContain('ok');
      expect((await call('ListKeys')).status).toBe(200);
    } finally {
      server.setFaults(undefined);
    }
  });

  it('delays requests', async () => {
    server.setFaults({ delayRate: 1, delayMs: 150 });
    try {
      // The server holds the answer on a 150 ms timer of this process: a 100 ms timer set now fires first.
      let earlier = false;
      setTimeout(() => {
        earlier = true;
      }, 100);
      expect((await call('ListKeys')).status).toBe(200);
      expect(earlier).toBe(true);
    } finally {
      server.setFaults(undefined);
    }
  });

  it('counts requests by operation', async () => {
    server.resetRequestCounts();
    await call('ListKeys');
    await call('ListKeys');
    expect(server.requests()).toEqual({ total: 2, byOperation: { ListKeys: 2 } });
  });
});

describe('startKmsLocal', () => {
  it('refuses a non-loopback address unless allowed', async () => {
    await expect(startKmsLocal({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(startKmsLocal({ faults: { throttleRate: 2 } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });

  it('creates seeded keys under their aliases, and serves the keys a provider already holds', async () => {
    const seeded = await startKmsLocal({
      keys: [{ alias: 'acs-signing', spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' }],
    });
    try {
      const response = await kmsRequest(
        seeded.endpoint,
        'DescribeKey',
        { KeyId: 'alias/acs-signing' },
        { ...signed, region: seeded.region },
      );
      expect(response.body.KeyMetadata).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      const again = await startKmsLocal({ provider: seeded.provider });
      try {
        const adopted = await kmsRequest(
          again.endpoint,
          'DescribeKey',
          { KeyId: (response.body.KeyMetadata as { KeyId: string }).KeyId },
          {
            ...signed,
            region: again.region,
          },
        );
        expect(adopted.status).toBe(200);
      } finally {
        await again.close();
      }
    } finally {
      await seeded.close();
    }
  });
});
