import {
  algorithmInfo,
  type EncryptionAlgorithm,
  type EncryptionContext,
  keySpecInfo,
  type MacAlgorithm,
  type SigningAlgorithm,
} from '@keyswitch/core';
import { unwrapCiphertext, wrapCiphertext } from '../ciphertext-blob.js';
import type { LocalKey } from '../key-registry.js';
import { KmsException, validation } from '../kms-exception.js';
import {
  algorithmFields,
  base64,
  dryRunCheck,
  keyFor,
  type OperationContext,
  type OperationHandler,
  provider,
  requireEnabled,
  requireUsage,
} from '../operation-context.js';
import type { RequestFields } from '../request-fields.js';

/** KMS's limits, in bytes. */
const MAX_MESSAGE = 4096;
const MAX_PLAINTEXT = 4096;
const MAX_CIPHERTEXT = 6144;
const MAX_SIGNATURE = 6144;
const MAX_PUBLIC_KEY = 8192;

function usableKey(
  operation: string,
  fields: RequestFields,
  context: OperationContext,
  field = 'KeyId',
): LocalKey {
  const key = keyFor(operation, fields, context, field);
  requireEnabled(key);
  return key;
}

// ---- signing -------------------------------------------------------------------------------------

function signingInput(operation: 'Sign' | 'Verify', fields: RequestFields, context: OperationContext) {
  const key = usableKey(operation, fields, context);
  const message = fields.blob('Message', { required: true, max: MAX_MESSAGE });
  const messageType = fields.enumeration('MessageType', ['RAW', 'DIGEST', 'EXTERNAL_MU']) ?? 'RAW';
  const algorithm = fields.string('SigningAlgorithm', { required: true });
  requireUsage(key, 'SIGN_VERIFY', operation, algorithm);
  if (messageType === 'EXTERNAL_MU') {
    throw new KmsException(
      'InvalidKeyUsageException',
      `MessageType EXTERNAL_MU is valid only for ML-DSA keys, not ${key.spec}.`,
    );
  }
  const signing = algorithm as SigningAlgorithm;
  const digestBytes = algorithmInfo(signing).digestBytes!;
  if (messageType === 'DIGEST' && message.byteLength !== digestBytes) {
    throw validation(`Digest is invalid length for algorithm ${algorithm}: expected ${digestBytes} bytes.`);
  }
  return { key, message, messageType, algorithm: signing } as const;
}

const sign: OperationHandler = async (fields, context) => {
  const { key, message, messageType, algorithm } = signingInput('Sign', fields, context);
  dryRunCheck(fields);
  const signature = await provider(() =>
    context.provider.sign({ ref: key.providerRef, algorithm, message, messageType }),
  );
  return { KeyId: key.arn, Signature: base64(signature), SigningAlgorithm: algorithm };
};

const verify: OperationHandler = async (fields, context) => {
  const { key, message, messageType, algorithm } = signingInput('Verify', fields, context);
  const signature = fields.blob('Signature', { required: true, max: MAX_SIGNATURE });
  dryRunCheck(fields);
  const valid = await provider(() =>
    context.provider.verify({ ref: key.providerRef, algorithm, message, messageType, signature }),
  );
  if (!valid) throw new KmsException('KMSInvalidSignatureException', 'The signature is not valid.');
  return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: algorithm };
};

const getPublicKey: OperationHandler = async (fields, context) => {
  const key = usableKey('GetPublicKey', fields, context);
  const family = keySpecInfo(key.spec).family;
  if (family !== 'RSA' && family !== 'EC') {
    throw new KmsException(
      'UnsupportedOperationException',
      `${key.arn} is a ${key.spec} key, which has no public key.`,
    );
  }
  const publicKey = await provider(() => context.provider.getPublicKey(key.providerRef));
  return {
    KeyId: key.arn,
    PublicKey: base64(publicKey.spki),
    CustomerMasterKeySpec: key.spec,
    KeySpec: key.spec,
    KeyUsage: key.usage,
    ...algorithmFields(key),
  };
};

// ---- encryption ----------------------------------------------------------------------------------

function encryptionAlgorithm(fields: RequestFields, name: string): EncryptionAlgorithm {
  return (
    (fields.enumeration(name, [
      'SYMMETRIC_DEFAULT',
      'RSAES_OAEP_SHA_1',
      'RSAES_OAEP_SHA_256',
      'SM2PKE',
    ]) as EncryptionAlgorithm) ?? 'SYMMETRIC_DEFAULT'
  );
}

function checkContext(key: LocalKey, context: EncryptionContext | undefined): EncryptionContext | undefined {
  if (key.spec !== 'SYMMETRIC_DEFAULT') {
    if (context !== undefined && Object.keys(context).length > 0) {
      throw validation(`EncryptionContext is not supported with ${key.spec} keys.`);
    }
    return undefined;
  }
  return context;
}

async function encryptWith(
  context: OperationContext,
  key: LocalKey,
  algorithm: EncryptionAlgorithm,
  plaintext: Uint8Array,
  encryptionContext: EncryptionContext | undefined,
): Promise<Uint8Array> {
  if (algorithm !== 'SYMMETRIC_DEFAULT') {
    const max = keySpecInfo(key.spec).bits / 8 - 2 * algorithmInfo(algorithm).digestBytes! - 2;
    if (plaintext.byteLength > max) {
      throw validation(
        `Plaintext is ${plaintext.byteLength} bytes; ${algorithm} with a ${key.spec} key takes at most ${max}.`,
      );
    }
  }
  const ciphertext = await provider(() =>
    context.provider.encrypt({
      ref: key.providerRef,
      algorithm,
      plaintext,
      ...(encryptionContext === undefined ? {} : { context: encryptionContext }),
    }),
  );
  return algorithm === 'SYMMETRIC_DEFAULT' ? wrapCiphertext(key.keyId, ciphertext) : ciphertext;
}

/** Decrypt's rules, shared with ReEncrypt's source side. */
async function decryptWith(
  operation: 'Decrypt' | 'ReEncrypt',
  fields: RequestFields,
  context: OperationContext,
  names: { blob: string; keyId: string; algorithm: string; context: string },
): Promise<{ key: LocalKey; plaintext: Uint8Array; algorithm: EncryptionAlgorithm }> {
  const blob = fields.blob(names.blob, { required: true, max: MAX_CIPHERTEXT });
  const algorithm = encryptionAlgorithm(fields, names.algorithm);
  const encryptionContext = fields.context(names.context);
  const named = fields.has(names.keyId)
    ? keyFor(operation === 'ReEncrypt' ? 'Decrypt' : operation, fields, context, names.keyId)
    : undefined;
  if (named) {
    requireEnabled(named);
    requireUsage(named, 'ENCRYPT_DECRYPT', operation, algorithm);
  }
  let key: LocalKey;
  let ciphertext: Uint8Array;
  if (algorithm === 'SYMMETRIC_DEFAULT') {
    const parsed = unwrapCiphertext(blob);
    const owner = parsed && context.registry.byKeyId(parsed.keyId);
    if (!parsed || !owner) throw new KmsException('InvalidCiphertextException', '');
    if (named && named.keyId !== owner.keyId) {
      throw new KmsException(
        'IncorrectKeyException',
        'The key ID in the request does not identify a KMS key that can perform this operation.',
      );
    }
    key = owner;
    requireEnabled(key);
    requireUsage(key, 'ENCRYPT_DECRYPT', operation, algorithm);
    ciphertext = parsed.ciphertext;
  } else {
    if (!named) {
      throw validation(`${names.keyId} is required to decrypt with an asymmetric KMS key (${algorithm}).`);
    }
    key = named;
    ciphertext = blob;
  }
  const bound = checkContext(key, encryptionContext);
  const plaintext = await provider(() =>
    context.provider.decrypt({
      ref: key.providerRef,
      algorithm,
      ciphertext,
      ...(bound === undefined ? {} : { context: bound }),
    }),
  );
  return { key, plaintext, algorithm };
}

const encrypt: OperationHandler = async (fields, context) => {
  const key = usableKey('Encrypt', fields, context);
  const plaintext = fields.blob('Plaintext', { required: true, max: MAX_PLAINTEXT });
  const algorithm = encryptionAlgorithm(fields, 'EncryptionAlgorithm');
  const encryptionContext = fields.context('EncryptionContext');
  requireUsage(key, 'ENCRYPT_DECRYPT', 'Encrypt', algorithm);
  const bound = checkContext(key, encryptionContext);
  dryRunCheck(fields);
  const blob = await encryptWith(context, key, algorithm, plaintext, bound);
  return { CiphertextBlob: base64(blob), KeyId: key.arn, EncryptionAlgorithm: algorithm };
};

const decrypt: OperationHandler = async (fields, context) => {
  if (fields.has('Recipient')) {
    throw new KmsException(
      'UnsupportedOperationException',
      'kms-local does not support Nitro Enclaves recipients.',
    );
  }
  const { key, plaintext, algorithm } = await decryptWith('Decrypt', fields, context, {
    blob: 'CiphertextBlob',
    keyId: 'KeyId',
    algorithm: 'EncryptionAlgorithm',
    context: 'EncryptionContext',
  });
  dryRunCheck(fields);
  return { KeyId: key.arn, Plaintext: base64(plaintext), EncryptionAlgorithm: algorithm };
};

const reEncrypt: OperationHandler = async (fields, context) => {
  const destination = usableKey('ReEncrypt', fields, context, 'DestinationKeyId');
  const destinationAlgorithm = encryptionAlgorithm(fields, 'DestinationEncryptionAlgorithm');
  const destinationContext = fields.context('DestinationEncryptionContext');
  requireUsage(destination, 'ENCRYPT_DECRYPT', 'ReEncrypt', destinationAlgorithm);
  const bound = checkContext(destination, destinationContext);
  const source = await decryptWith('ReEncrypt', fields, context, {
    blob: 'CiphertextBlob',
    keyId: 'SourceKeyId',
    algorithm: 'SourceEncryptionAlgorithm',
    context: 'SourceEncryptionContext',
  });
  try {
    dryRunCheck(fields);
    const blob = await encryptWith(context, destination, destinationAlgorithm, source.plaintext, bound);
    return {
      CiphertextBlob: base64(blob),
      SourceKeyId: source.key.arn,
      KeyId: destination.arn,
      SourceEncryptionAlgorithm: source.algorithm,
      DestinationEncryptionAlgorithm: destinationAlgorithm,
    };
  } finally {
    source.plaintext.fill(0);
  }
};

function dataKeyOperation(withPlaintext: boolean): OperationHandler {
  const operation = withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext';
  return async (fields, context) => {
    const key = usableKey(operation, fields, context);
    const keySpec = fields.enumeration('KeySpec', ['AES_256', 'AES_128']);
    const numberOfBytes = fields.integer('NumberOfBytes', { min: 1, max: 1024 });
    const encryptionContext = fields.context('EncryptionContext');
    if ((keySpec === undefined) === (numberOfBytes === undefined)) {
      throw validation('Please specify either number of bytes or key spec.');
    }
    if (key.spec !== 'SYMMETRIC_DEFAULT') {
      throw new KmsException(
        'InvalidKeyUsageException',
        `${key.arn} is a ${key.spec} key; data keys need a symmetric encryption key.`,
      );
    }
    requireUsage(key, 'ENCRYPT_DECRYPT', operation);
    dryRunCheck(fields);
    const options = encryptionContext === undefined ? {} : { context: encryptionContext };
    let plaintext: Uint8Array | undefined;
    let ciphertext: Uint8Array;
    if (keySpec !== undefined) {
      const dataKey = await provider(() =>
        context.provider.generateDataKey({
          ref: key.providerRef,
          dataKeySpec: keySpec,
          withPlaintext,
          ...options,
        }),
      );
      plaintext = dataKey.plaintext;
      ciphertext = dataKey.ciphertextBlob;
    } else {
      const random = await provider(() => context.provider.generateRandom(numberOfBytes!));
      ciphertext = await provider(() =>
        context.provider.encrypt({
          ref: key.providerRef,
          algorithm: 'SYMMETRIC_DEFAULT',
          plaintext: random,
          ...options,
        }),
      );
      if (withPlaintext) plaintext = random;
      else random.fill(0);
    }
    return {
      CiphertextBlob: base64(wrapCiphertext(key.keyId, ciphertext)),
      ...(withPlaintext && plaintext ? { Plaintext: base64(plaintext) } : {}),
      KeyId: key.arn,
    };
  };
}

const generateRandom: OperationHandler = async (fields, context) => {
  if (fields.has('CustomKeyStoreId') || fields.has('Recipient')) {
    throw new KmsException(
      'UnsupportedOperationException',
      'kms-local does not support custom key stores or recipients.',
    );
  }
  const length = fields.integer('NumberOfBytes', { required: true, min: 1, max: 1024 })!;
  const random = await provider(() => context.provider.generateRandom(length));
  return { Plaintext: base64(random) };
};

// ---- MACs and key agreement ----------------------------------------------------------------------

function macInput(operation: 'GenerateMac' | 'VerifyMac', fields: RequestFields, context: OperationContext) {
  const key = usableKey(operation, fields, context);
  const message = fields.blob('Message', { required: true, max: MAX_MESSAGE });
  const algorithm = fields.string('MacAlgorithm', { required: true });
  requireUsage(key, 'GENERATE_VERIFY_MAC', operation, algorithm);
  return { key, message, algorithm: algorithm as MacAlgorithm };
}

const generateMac: OperationHandler = async (fields, context) => {
  const { key, message, algorithm } = macInput('GenerateMac', fields, context);
  dryRunCheck(fields);
  const mac = await provider(() =>
    context.provider.generateMac({ ref: key.providerRef, algorithm, message }),
  );
  return { Mac: base64(mac), MacAlgorithm: algorithm, KeyId: key.arn };
};

const verifyMac: OperationHandler = async (fields, context) => {
  const { key, message, algorithm } = macInput('VerifyMac', fields, context);
  const mac = fields.blob('Mac', { required: true, max: 64 });
  dryRunCheck(fields);
  const valid = await provider(() =>
    context.provider.verifyMac({ ref: key.providerRef, algorithm, message, mac }),
  );
  if (!valid) throw new KmsException('KMSInvalidMacException', 'The MAC is not valid.');
  return { KeyId: key.arn, MacValid: true, MacAlgorithm: algorithm };
};

const deriveSharedSecret: OperationHandler = async (fields, context) => {
  const key = usableKey('DeriveSharedSecret', fields, context);
  const algorithm = fields.enumeration('KeyAgreementAlgorithm', ['ECDH'], { required: true });
  const publicKey = fields.blob('PublicKey', { required: true, max: MAX_PUBLIC_KEY });
  if (fields.has('Recipient')) {
    throw new KmsException(
      'UnsupportedOperationException',
      'kms-local does not support Nitro Enclaves recipients.',
    );
  }
  requireUsage(key, 'KEY_AGREEMENT', 'DeriveSharedSecret', algorithm);
  dryRunCheck(fields);
  const secret = await provider(() =>
    context.provider.deriveSharedSecret({ ref: key.providerRef, algorithm, publicKey }),
  );
  return {
    KeyId: key.arn,
    SharedSecret: base64(secret),
    KeyAgreementAlgorithm: algorithm,
    KeyOrigin: 'AWS_KMS',
  };
};

/** The cryptographic operations, and GetPublicKey and GenerateRandom. */
export const cryptographicOperations: Readonly<Record<string, OperationHandler>> = {
  Sign: sign,
  Verify: verify,
  GetPublicKey: getPublicKey,
  Encrypt: encrypt,
  Decrypt: decrypt,
  ReEncrypt: reEncrypt,
  GenerateDataKey: dataKeyOperation(true),
  GenerateDataKeyWithoutPlaintext: dataKeyOperation(false),
  GenerateRandom: generateRandom,
  GenerateMac: generateMac,
  VerifyMac: verifyMac,
  DeriveSharedSecret: deriveSharedSecret,
};
