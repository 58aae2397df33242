import { type KeySpec, type KeyUsage, keySpecInfo } from '@keyswitch/core';
import type { Mechanism, Template } from 'pkcs11js';
import { CKA, CKK, CKM, CKO } from './ck.js';
import { EC_PARAMS } from './key-attributes.js';

/**
 * What C_GenerateKey or C_GenerateKeyPair needs to create a key. `narrow` lists the usage attributes the
 * templates left out (style `only-true`) that must end false: the token's defaults may have set them, and
 * they are cleared after generation.
 */
export type KeyGeneration =
  | {
      readonly kind: 'secret';
      readonly mechanism: Mechanism;
      readonly template: Template;
      readonly narrow: { readonly primary: readonly number[] };
    }
  | {
      readonly kind: 'pair';
      readonly mechanism: Mechanism;
      readonly publicTemplate: Template;
      readonly privateTemplate: Template;
      readonly narrow: { readonly primary: readonly number[]; readonly public: readonly number[] };
    };

/**
 * How a creation template carries usage attributes: `explicit-false` sets every usage attribute of the
 * object class, the ones not granted to false, so a token's defaults cannot widen a key; `only-true` sends
 * only the granted ones, for tokens that refuse a usage attribute set false (the capability probe finds
 * which one a token takes).
 */
export type TemplateStyle = 'explicit-false' | 'only-true';

const RSA_PUBLIC_EXPONENT = Buffer.from([0x01, 0x00, 0x01]);

/**
 * The templates keyswitch creates keys with. Private and secret keys are token objects, private
 * (login required), sensitive and never extractable; only the attributes of the key's one usage are true
 * (the rest are set false explicitly, unless `style` is `only-true`); CKA_ID is the caller's
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
  style: TemplateStyle = 'explicit-false',
): KeyGeneration {
  const info = keySpecInfo(spec);
  const flags = (granted: Readonly<Record<number, boolean>>, all: readonly number[]): Template =>
    all
      .map((type) => ({ type, value: granted[type] === true }))
      .filter((attribute) => style === 'explicit-false' || attribute.value);
  const narrow = (granted: Readonly<Record<number, boolean>>, all: readonly number[]): number[] =>
    style === 'explicit-false' ? [] : all.filter((type) => granted[type] !== true);
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
        narrow: { primary: narrow({ [CKA.ENCRYPT]: true, [CKA.DECRYPT]: true }, SECRET_FLAGS) },
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
        narrow: { primary: narrow({ [CKA.SIGN]: true, [CKA.VERIFY]: true }, SECRET_FLAGS) },
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
        narrow: {
          primary: narrow({ [CKA.SIGN]: sign, [CKA.DECRYPT]: !sign }, PRIVATE_FLAGS),
          public: narrow({ [CKA.VERIFY]: sign, [CKA.ENCRYPT]: !sign }, PUBLIC_FLAGS),
        },
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
        narrow: {
          primary: narrow({ [CKA.SIGN]: sign, [CKA.DERIVE]: !sign }, PRIVATE_FLAGS),
          public: narrow({ [CKA.VERIFY]: sign }, PUBLIC_FLAGS),
        },
      };
    }
  }
}

/** Usage attributes of each object class; every one not granted is set false. */
const SECRET_FLAGS = [CKA.ENCRYPT, CKA.DECRYPT, CKA.SIGN, CKA.VERIFY, CKA.WRAP, CKA.UNWRAP, CKA.DERIVE];
const PUBLIC_FLAGS = [CKA.VERIFY, CKA.ENCRYPT, CKA.WRAP, CKA.VERIFY_RECOVER];
const PRIVATE_FLAGS = [CKA.SIGN, CKA.DECRYPT, CKA.DERIVE, CKA.UNWRAP, CKA.SIGN_RECOVER];

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
