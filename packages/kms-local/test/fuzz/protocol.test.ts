import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzParameters, mutatedText } from '../../../core/test/support/fuzz.js';
import {
  KMS_LOCAL_DEFAULT_CREDENTIALS,
  KMS_LOCAL_OPERATIONS,
  type KmsLocalServer,
  startKmsLocal,
} from '../../src/index.js';
import { type KmsResponse, kmsRequest, type SignOptions } from '../support/kms-request.js';

// Signatures are checked for form only, so that every fuzzed request reaches the operation itself.
let server: KmsLocalServer;
let signer: SignOptions;
const keyIds: string[] = [];
beforeAll(async () => {
  server = await startKmsLocal({ credentials: 'any' });
  signer = { ...KMS_LOCAL_DEFAULT_CREDENTIALS, region: server.region };
  for (const [KeySpec, KeyUsage] of [
    ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
    ['ECC_NIST_P256', 'SIGN_VERIFY'],
    ['HMAC_256', 'GENERATE_VERIFY_MAC'],
    ['ECC_NIST_P256', 'KEY_AGREEMENT'],
  ]) {
    const created = await kmsRequest(server.endpoint, 'CreateKey', { KeySpec, KeyUsage }, signer);
    keyIds.push((created.body.KeyMetadata as { KeyId: string }).KeyId);
  }
  await kmsRequest(
    server.endpoint,
    'CreateAlias',
    { AliasName: 'alias/fuzz', TargetKeyId: keyIds[0] },
    signer,
  );
});
afterAll(async () => {
  await server?.close();
});

/** A well-formed response: 200 with a JSON object, or a 4xx KMS error with its type and message. */
function expectWellFormed(response: KmsResponse): void {
  expect(response.contentType).toBe('application/x-amz-json-1.1');
  if (response.status === 200) return;
  expect(response.status, JSON.stringify(response.body)).toBeGreaterThanOrEqual(400);
  expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
  expect(typeof response.body.__type).toBe('string');
  expect(typeof response.body.message).toBe('string');
}

const FIELDS = [
  'KeyId',
  'Plaintext',
  'CiphertextBlob',
  'Message',
  'MessageType',
  'SigningAlgorithm',
  'EncryptionAlgorithm',
  'KeySpec',
  'KeyUsage',
  'GrantTokens',
  'EncryptionContext',
  'NumberOfBytes',
  'NumberOfBytesToGenerate',
  'AliasName',
  'TargetKeyId',
  'Tags',
  'Limit',
  'Marker',
  'Signature',
  'KeyAgreementAlgorithm',
  'PublicKey',
  'MacAlgorithm',
  'Mac',
  'PendingWindowInDays',
  'Origin',
  'Description',
  'DestinationKeyId',
  'SourceKeyId',
  'SourceEncryptionContext',
  'DestinationEncryptionContext',
  'WrappingAlgorithm',
  'WrappingKeySpec',
  'ImportToken',
  'EncryptedKeyMaterial',
  'DryRun',
  'KeySpec',
  'MultiRegion',
  'Policy',
];
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    'SYMMETRIC_DEFAULT',
    'ECDSA_SHA_256',
    'RSAES_OAEP_SHA_256',
    'HMAC_SHA_256',
    'ECDH',
    'RAW',
    'DIGEST',
    'ECC_NIST_P256',
    'HMAC_256',
    'SIGN_VERIFY',
    'alias/fuzz',
    'alias/none',
    'arn:aws:kms:x',
    'AAAA',
    '',
    'EXTERNAL',
  ),
  fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  fc.integer(),
  fc.double(),
);
const payload = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }),
    fc.option(fc.integer({ min: 0, max: 3 })),
  )
  .map(([fields, key]) => (key === null ? fields : { ...fields, KeyId: keyIds[key] }));

/** Sends a raw body with a well-formed (unverified) SigV4 header. */
async function rawRequest(target: string, body: string, contentType: string): Promise<KmsResponse> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const response = await fetch(server.endpoint, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-amz-target': target,
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${signer.accessKeyId}/${amzDate.slice(0, 8)}/${server.region}/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
    },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: JSON.parse(text),
  };
}

describe('fuzz: the kms-local protocol', () => {
  it('every operation with any fields answers 200 or a well-formed 4xx KMS error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KMS_LOCAL_OPERATIONS, 'MakeCoffee'),
        payload,
        async (operation, fields) => {
          expectWellFormed(await kmsRequest(server.endpoint, operation, fields, signer));
        },
      ),
      fuzzParameters(250),
    );
  });

  it('any body, content type and target answers a well-formed error, and the server keeps serving', async () => {
    const valid = JSON.stringify({ KeyId: 'alias/fuzz', Plaintext: 'AAAA', EncryptionContext: { a: 'b' } });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('TrentService.Encrypt', 'TrentService.', 'Encrypt', 'TrentService.Encrypt.x', ''),
          fc.constantFrom(...KMS_LOCAL_OPERATIONS).map((op) => `TrentService.${op}`),
        ),
        fc.oneof(
          mutatedText(valid, fc.constantFrom('{', '}', '"', ':', ',', '\\u0000', '\\', '1e999', 'null', '')),
          fc.string({ maxLength: 60 }),
        ),
        fc.constantFrom('application/x-amz-json-1.1', 'application/json', 'text/plain', ''),
        async (target, body, contentType) => {
          expectWellFormed(await rawRequest(target, body, contentType));
        },
      ),
      fuzzParameters(250),
    );
    const alive = await kmsRequest(server.endpoint, 'ListKeys', {}, signer);
    expect(alive.status).toBe(200);
  });
});
