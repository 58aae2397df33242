import {
  constants,
  createDecipheriv,
  generateKeyPair,
  type KeyObject,
  privateDecrypt,
  randomBytes,
} from 'node:crypto';
import { promisify } from 'node:util';
import { keySpecInfo } from '@keyswitch/core';
import type { LocalKey } from '../key-registry.js';
import { KmsException, validation } from '../kms-exception.js';
import {
  base64,
  epochSeconds,
  keyFor,
  type OperationContext,
  type OperationHandler,
  provider,
  requireNotPendingDeletion,
} from '../operation-context.js';
import { providerLabel } from './key-management.js';

const WRAPPING_ALGORITHMS = [
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
] as const;
type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];
const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];
const TOKEN_LIFETIME_MS = 24 * 3_600_000;
/** RFC 5649's alternative initial value, which node:crypto's AES key wrap with padding takes as its IV. */
const KWP_IV = Buffer.from('a65959a6', 'hex');

interface ImportToken {
  readonly keyId: string;
  readonly algorithm: WrappingAlgorithm;
  readonly wrappingKey: KeyObject;
  readonly validTo: Date;
}

const generateRsa = promisify(generateKeyPair);

/**
 * GetParametersForImport and ImportKeyMaterial for keys created with `Origin: EXTERNAL`: the caller
 * wraps its key material (raw bytes for symmetric and HMAC keys, PKCS #8 for RSA and EC keys) with an
 * RSA wrapping public key, and kms-local unwraps it and imports it into the backing provider, which must
 * be able to import (the software HSM can). One wrapping key pair per spec is made per server and reused,
 * unlike KMS, which makes one per request: RSA key generation is slow.
 */
export function keyImportOperations(): Readonly<Record<string, OperationHandler>> {
  const tokens = new Map<string, ImportToken>();
  const wrappingKeys = new Map<WrappingKeySpec, Promise<{ publicKey: KeyObject; privateKey: KeyObject }>>();

  function wrappingKey(spec: WrappingKeySpec) {
    let pair = wrappingKeys.get(spec);
    if (!pair) {
      pair = generateRsa('rsa', { modulusLength: Number(spec.slice(4)) });
      wrappingKeys.set(spec, pair);
    }
    return pair;
  }

  const getParametersForImport: OperationHandler = async (fields, context) => {
    const key = importableKey('GetParametersForImport', fields, context);
    const algorithm = fields.enumeration(
      'WrappingAlgorithm',
      [...WRAPPING_ALGORITHMS, 'RSAES_PKCS1_V1_5', 'SM2PKE'],
      {
        required: true,
      },
    );
    const spec = fields.enumeration('WrappingKeySpec', [...WRAPPING_KEY_SPECS, 'SM2'], { required: true });
    if (!(WRAPPING_ALGORITHMS as readonly string[]).includes(algorithm) || spec === 'SM2') {
      throw new KmsException(
        'UnsupportedOperationException',
        `kms-local does not support ${algorithm} with ${spec}.`,
      );
    }
    const { publicKey, privateKey } = await wrappingKey(spec);
    const token = randomBytes(32);
    const validTo = new Date(context.now().getTime() + TOKEN_LIFETIME_MS);
    tokens.set(token.toString('hex'), {
      keyId: key.keyId,
      algorithm: algorithm as WrappingAlgorithm,
      wrappingKey: privateKey,
      validTo,
    });
    return {
      KeyId: key.arn,
      ImportToken: base64(token),
      PublicKey: base64(publicKey.export({ format: 'der', type: 'spki' })),
      ParametersValidTo: epochSeconds(validTo),
    };
  };

  const importKeyMaterial: OperationHandler = async (fields, context) => {
    const key = importableKey('ImportKeyMaterial', fields, context);
    const tokenBytes = fields.blob('ImportToken', { required: true, max: 6144 });
    const wrapped = fields.blob('EncryptedKeyMaterial', { required: true, max: 6144 });
    const expiration = fields.enumeration('ExpirationModel', [
      'KEY_MATERIAL_EXPIRES',
      'KEY_MATERIAL_DOES_NOT_EXPIRE',
    ]);
    const validToSeconds = fields.has('ValidTo') ? fields.number('ValidTo') : undefined;
    if (expiration === 'KEY_MATERIAL_EXPIRES' && validToSeconds === undefined) {
      throw validation('ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.');
    }
    if (expiration !== 'KEY_MATERIAL_EXPIRES' && validToSeconds !== undefined) {
      throw validation('ValidTo is allowed only when ExpirationModel is KEY_MATERIAL_EXPIRES.');
    }
    const token = tokens.get(Buffer.from(tokenBytes).toString('hex'));
    if (!token || token.keyId !== key.keyId) {
      throw new KmsException('InvalidImportTokenException', 'The import token is not valid for this key.');
    }
    if (token.validTo <= context.now()) {
      throw new KmsException('ExpiredImportTokenException', 'The import token has expired.');
    }
    if (key.state !== 'PendingImport') {
      throw new KmsException(
        'KMSInvalidStateException',
        `${key.arn} already has key material; kms-local does not re-import.`,
      );
    }
    const material = unwrap(token, wrapped);
    const importing = context.provider;
    if ((await importing.capabilities()).operations.importKey !== true) {
      throw new KmsException(
        'UnsupportedOperationException',
        'The backing provider of kms-local cannot import key material.',
      );
    }
    const asymmetric = ['RSA', 'EC'].includes(keySpecInfo(key.spec).family);
    try {
      const imported = await provider(() =>
        importing.importKey({
          label: providerLabel(key.keyId),
          usage: key.usage,
          spec: key.spec,
          ...(asymmetric ? { pkcs8: material } : { raw: material }),
          ...(key.description ? { description: key.description } : {}),
        }),
      );
      key.providerRef = imported.ref;
    } catch (error) {
      if (error instanceof KmsException && error.type === 'ValidationException') {
        throw new KmsException(
          'IncorrectKeyMaterialException',
          `The key material does not fit a ${key.spec} key: ${error.message}`,
        );
      }
      throw error;
    } finally {
      material.fill(0);
    }
    tokens.delete(Buffer.from(tokenBytes).toString('hex'));
    key.state = 'Enabled';
    key.materialValidTo = validToSeconds === undefined ? undefined : new Date(validToSeconds * 1000);
    return { KeyId: key.arn, KeyMaterialId: key.keyId };
  };

  return { GetParametersForImport: getParametersForImport, ImportKeyMaterial: importKeyMaterial };
}

function importableKey(
  operation: string,
  fields: Parameters<OperationHandler>[0],
  context: OperationContext,
): LocalKey {
  const key = keyFor(operation, fields, context);
  requireNotPendingDeletion(key);
  if (key.origin !== 'EXTERNAL') {
    throw new KmsException(
      'UnsupportedOperationException',
      `${key.arn} was not created with Origin EXTERNAL.`,
    );
  }
  return key;
}

function unwrap(token: ImportToken, wrapped: Uint8Array): Buffer {
  const oaepHash = token.algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  const decrypt = (data: Uint8Array) =>
    privateDecrypt({ key: token.wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, data);
  try {
    if (token.algorithm.startsWith('RSAES_OAEP')) return decrypt(wrapped);
    const modulusBytes = (token.wrappingKey.asymmetricKeyDetails?.modulusLength ?? 2048) / 8;
    const aesKey = decrypt(wrapped.subarray(0, modulusBytes));
    const decipher = createDecipheriv('id-aes256-wrap-pad', aesKey, KWP_IV);
    const material = Buffer.concat([decipher.update(wrapped.subarray(modulusBytes)), decipher.final()]);
    aesKey.fill(0);
    return material;
  } catch {
    throw new KmsException(
      'InvalidCiphertextException',
      'The encrypted key material could not be unwrapped.',
    );
  }
}
