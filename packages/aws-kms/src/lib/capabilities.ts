import { ALGORITHMS, type Capabilities, KEY_SPECS, keySpecInfo } from '@keyswitch/core';
import { KMS_MAX_RAW_MESSAGE_BYTES } from './kms-message.js';

/** What an AWS KMS endpoint offers keyswitch. */
export const KMS_CAPABILITIES: Capabilities = Object.freeze({
  keySpecs: Object.freeze(
    Object.fromEntries(
      KEY_SPECS.map((spec) => [spec, Object.freeze({ usages: keySpecInfo(spec).usages, create: true })]),
    ),
  ),
  algorithms: ALGORITHMS,
  operations: Object.freeze({
    createKey: true,
    enableKey: true,
    disableKey: true,
    scheduleKeyDeletion: true,
    cancelKeyDeletion: true,
    listKeys: true,
    generateDataKey: true,
    generateRandom: true,
    importKey: true,
  }),
  deletionWindowDays: Object.freeze({ min: 7, max: 30 }),
  importKinds: Object.freeze(['private', 'secret'] as const),
  extensions: Object.freeze({
    reEncrypt: Object.freeze({ changesState: false }),
    enableKeyRotation: Object.freeze({ changesState: true }),
    disableKeyRotation: Object.freeze({ changesState: true }),
    getKeyRotationStatus: Object.freeze({ changesState: false }),
    createAlias: Object.freeze({ changesState: true }),
    updateAlias: Object.freeze({ changesState: true }),
    deleteAlias: Object.freeze({ changesState: true }),
    listAliases: Object.freeze({ changesState: false }),
  }),
  // KMS returns DER and signs RAW messages of 1 to 4,096 bytes; the core hashes any other message.
  signing: Object.freeze({
    ecdsaSignatureFormat: 'DER',
    rawMessageBytes: Object.freeze({ min: 1, max: KMS_MAX_RAW_MESSAGE_BYTES }),
  }),
  notes: Object.freeze([
    'AWS KMS: keys in FIPS 140-3 validated HSMs; ECC_SECG_P256K1, SM2, HMAC_224 and ML-DSA keys are outside keyswitch and are skipped',
  ]),
});
