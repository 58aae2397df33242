import { type KeySpec, type KeyUsage, keySpecInfo } from '@keyswitch/core';
import type { Mechanism, Template } from 'pkcs11js';
import { CKA, CKK, CKM, CKO } from './ck.js';
import { EC_PARAMS } from './key-attributes.js';

/** What C_GenerateKey or C_GenerateKeyPair needs to create a key. */
export type KeyGeneration =
  | { readonly kind: 'secret'; readonly mechanism: Mechanism; readonly template: Template }
  | {
      readonly kind: 'pair';
      readonly mechanism: Mechanism;
      readonly publicTemplate: Template;
      readonly privateTemplate: Template;
    };

const RSA_PUBLIC_EXPONENT = Buffer.from([0x01, 0x00, 0x01]);

/**
 * The templates keyswitch creates keys with. Private and secret keys are token objects, private
 * (login required), sensitive and never extractable; only the attributes of the key's one usage are true
 * (the rest are set false explicitly, so a token's defaults cannot widen them); CKA_ID is the caller's
 * random unique id and CKA_LABEL the requested label. CKA_MODULUS_BITS and CKA_PUBLIC_EXPONENT go in the
 * public template only (AWS CloudHSM mishandles them in the private one).
 *
 * @example
 * ```ts
 * const generation = keyGeneration('ECC_NIST_P256', 'SIGN_VERIFY', randomBytes(16), 'acs-signing');
 * ```
 */
export function keyGeneration(
  spec: KeySpec,
  usage: KeyUsage,
  id: Buffer,
  label: string | undefined,
): KeyGeneration {
  const info = keySpecInfo(spec);
  const naming: Template = [
    { type: CKA.ID, value: id },
    ...(label === undefined ? [] : [{ type: CKA.LABEL, value: label }]),
  ];
  const protectedKey: Template = [
    { type: CKA.TOKEN, value: true },
    { type: CKA.PRIVATE, value: true },
    { type: CKA.SENSITIVE, value: true },
    { type: CKA.EXTRACTABLE, value: false },
  ];
  switch (info.family) {
    case 'AES':
      return {
        kind: 'secret',
        mechanism: { mechanism: CKM.AES_KEY_GEN },
        template: [
          { type: CKA.CLASS, value: CKO.SECRET_KEY },
          { type: CKA.KEY_TYPE, value: CKK.AES },
          { type: CKA.VALUE_LEN, value: info.bits / 8 },
          ...protectedKey,
          ...naming,
          ...flags({ [CKA.ENCRYPT]: true, [CKA.DECRYPT]: true }, SECRET_FLAGS),
        ],
      };
    case 'HMAC':
      return {
        kind: 'secret',
        mechanism: { mechanism: CKM.GENERIC_SECRET_KEY_GEN },
        template: [
          { type: CKA.CLASS, value: CKO.SECRET_KEY },
          { type: CKA.KEY_TYPE, value: CKK.GENERIC_SECRET },
          { type: CKA.VALUE_LEN, value: info.bits / 8 },
          ...protectedKey,
          ...naming,
          ...flags({ [CKA.SIGN]: true, [CKA.VERIFY]: true }, SECRET_FLAGS),
        ],
      };
    case 'RSA': {
      const sign = usage === 'SIGN_VERIFY';
      return {
        kind: 'pair',
        mechanism: { mechanism: CKM.RSA_PKCS_KEY_PAIR_GEN },
        publicTemplate: [
          { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
          { type: CKA.KEY_TYPE, value: CKK.RSA },
          { type: CKA.TOKEN, value: true },
          { type: CKA.PRIVATE, value: false },
          { type: CKA.MODULUS_BITS, value: info.bits },
          { type: CKA.PUBLIC_EXPONENT, value: RSA_PUBLIC_EXPONENT },
          ...naming,
          ...flags({ [CKA.VERIFY]: sign, [CKA.ENCRYPT]: !sign }, PUBLIC_FLAGS),
        ],
        privateTemplate: [
          { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
          { type: CKA.KEY_TYPE, value: CKK.RSA },
          ...protectedKey,
          ...naming,
          ...flags({ [CKA.SIGN]: sign, [CKA.DECRYPT]: !sign }, PRIVATE_FLAGS),
        ],
      };
    }
    case 'EC': {
      const sign = usage === 'SIGN_VERIFY';
      return {
        kind: 'pair',
        mechanism: { mechanism: CKM.EC_KEY_PAIR_GEN },
        publicTemplate: [
          { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
          { type: CKA.KEY_TYPE, value: CKK.EC },
          { type: CKA.TOKEN, value: true },
          { type: CKA.PRIVATE, value: false },
          { type: CKA.EC_PARAMS, value: EC_PARAMS[info.curve!] },
          ...naming,
          ...flags({ [CKA.VERIFY]: sign }, PUBLIC_FLAGS),
        ],
        privateTemplate: [
          { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
          { type: CKA.KEY_TYPE, value: CKK.EC },
          ...protectedKey,
          ...naming,
          ...flags({ [CKA.SIGN]: sign, [CKA.DERIVE]: !sign }, PRIVATE_FLAGS),
        ],
      };
    }
  }
}

/** Usage attributes of each object class; every one not granted is set false. */
const SECRET_FLAGS = [CKA.ENCRYPT, CKA.DECRYPT, CKA.SIGN, CKA.VERIFY, CKA.WRAP, CKA.UNWRAP, CKA.DERIVE];
const PUBLIC_FLAGS = [CKA.VERIFY, CKA.ENCRYPT, CKA.WRAP, CKA.VERIFY_RECOVER];
const PRIVATE_FLAGS = [CKA.SIGN, CKA.DECRYPT, CKA.DERIVE, CKA.UNWRAP, CKA.SIGN_RECOVER];

function flags(granted: Readonly<Record<number, boolean>>, all: readonly number[]): Template {
  return all.map((type) => ({ type, value: granted[type] === true }));
}

/**
 * The template of the short-lived session object C_DeriveKey produces for ECDH: a generic secret the
 * size of the field, extractable and not sensitive, because its value (the raw shared secret) is what the
 * caller asked for. It is destroyed as soon as it has been read.
 */
export function sharedSecretTemplate(valueLength: number): Template {
  return [
    { type: CKA.CLASS, value: CKO.SECRET_KEY },
    { type: CKA.KEY_TYPE, value: CKK.GENERIC_SECRET },
    { type: CKA.TOKEN, value: false },
    { type: CKA.PRIVATE, value: true },
    { type: CKA.SENSITIVE, value: false },
    { type: CKA.EXTRACTABLE, value: true },
    { type: CKA.VALUE_LEN, value: valueLength },
  ];
}
