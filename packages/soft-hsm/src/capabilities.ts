import { ALGORITHMS, type Capabilities, KEY_SPECS, keySpecInfo } from '@keyswitch/core';

/**
 * What the software HSM can do: everything in the contract. Every key spec with every usage it allows,
 * every algorithm, every operation, and deletion windows of 7 to 30 days (as AWS KMS).
 *
 * @example
 * ```ts
 * softHsmCapabilities.keySpecs.RSA_4096; // { usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], create: true }
 * ```
 */
export const softHsmCapabilities: Capabilities = Object.freeze({
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
  importKinds: Object.freeze(['private', 'secret'] as const),
  signing: Object.freeze({
    // node:crypto signs r ‖ s directly (dsaEncoding 'ieee-p1363'), and so does the digest path: the core
    // converts a signature only when the caller asks for DER.
    ecdsaSignatureFormat: 'P1363',
    rawMessageBytes: Object.freeze({ min: 0, max: Number.POSITIVE_INFINITY }),
  }),
  deletionWindowDays: Object.freeze({ min: 7, max: 30 }),
  notes: Object.freeze([
    'a software HSM on node:crypto, for development and tests: keys are protected by a passphrase, not by hardware',
  ]),
});
