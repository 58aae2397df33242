import { ALGORITHMS, type Capabilities, KEY_SPECS, keySpecInfo } from '@keyswitch/core';

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
  }),
  deletionWindowDays: Object.freeze({ min: 7, max: 30 }),
  notes: Object.freeze([
    'AWS KMS: keys in FIPS 140-3 validated HSMs; ECC_SECG_P256K1, SM2, HMAC_224 and ML-DSA keys are outside keyswitch and are skipped',
  ]),
});
