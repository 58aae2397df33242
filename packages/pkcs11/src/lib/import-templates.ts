import type { KeyObject } from 'node:crypto';
import {
  type ImportKeyKind,
  type KeySpec,
  KeyswitchError,
  type KeyUsage,
  keySpecInfo,
} from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { CKA } from './ck.js';
import { EC_PARAMS } from './key-attributes.js';
import { keyGeneration, type TemplateStyle } from './key-templates.js';

/**
 * What C_CreateObject needs to import a key: the templates of its objects (a pair's private and public
 * key, a secret key, or a public key alone), each with the usage attributes a template style could not
 * set false (`narrow`: cleared after writing, as after a generation), the key's CKA_ID and its spec.
 */
export type KeyImport =
  | {
      readonly kind: 'secret';
      readonly id: Buffer;
      readonly spec: KeySpec;
      readonly template: Template;
      readonly narrow: { readonly primary: readonly number[] };
    }
  | {
      readonly kind: 'pair';
      readonly id: Buffer;
      readonly spec: KeySpec;
      readonly privateTemplate: Template;
      readonly publicTemplate: Template;
      readonly narrow: { readonly primary: readonly number[]; readonly public: readonly number[] };
    }
  | {
      readonly kind: 'public';
      readonly id: Buffer;
      readonly spec: KeySpec;
      readonly publicTemplate: Template;
      readonly narrow: { readonly public: readonly number[] };
    };

/** What a key to import is: the core's reading of the request. */
export interface ImportMaterial {
  readonly kind: ImportKeyKind;
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** node:crypto key material: private, secret or public by `kind`. */
  readonly key: KeyObject;
}

/** Attributes that only key generation takes: C_CreateObject gets the key's own values instead. */
const GENERATION_ONLY: ReadonlySet<number> = new Set([CKA.VALUE_LEN, CKA.MODULUS_BITS, CKA.PUBLIC_EXPONENT]);

/** Attributes holding secret key material: wiped once written. */
const SECRET_VALUES: ReadonlySet<number> = new Set([
  CKA.VALUE,
  CKA.PRIVATE_EXPONENT,
  CKA.PRIME_1,
  CKA.PRIME_2,
  CKA.EXPONENT_1,
  CKA.EXPONENT_2,
  CKA.COEFFICIENT,
]);

/**
 * The C_CreateObject templates that import `material`: keyswitch's key creation templates (the same
 * protection, naming and usage attributes, in the template style the token was found to accept) with the
 * key's values in place of what a generation would choose. A secret key must be as long as its spec
 * (HMAC_256: 32 bytes, HMAC_384: 48, HMAC_512: 64): a token tells an HMAC key's spec by its length.
 *
 * @throws UNSUPPORTED_ALGORITHM for an HMAC key of another length
 * @example
 * ```ts
 * const keyImport = importTemplates(material, randomBytes(16), 'acs-signing', 'explicit-false');
 * ```
 */
export function importTemplates(
  material: ImportMaterial,
  id: Buffer,
  label: string | undefined,
  style: TemplateStyle,
): KeyImport {
  const { kind, spec, usage, key } = material;
  const info = keySpecInfo(spec);
  const generation = keyGeneration(spec, usage, id, label, style);
  const jwk = key.export({ format: 'jwk' });
  const value = (field: string | undefined) => Buffer.from(field ?? '', 'base64url');
  if (generation.kind === 'secret') {
    const secret = key.export();
    if (secret.length !== info.bits / 8) {
      secret.fill(0);
      throw new KeyswitchError(
        'UNSUPPORTED_ALGORITHM',
        `this backend imports ${spec} keys of ${info.bits / 8} bytes only, not ${secret.length}: a PKCS#11 token tells an HMAC key's spec by its length`,
      );
    }
    return {
      kind: 'secret',
      id,
      spec,
      template: [...withoutGenerationOnly(generation.template), { type: CKA.VALUE, value: secret }],
      narrow: generation.narrow,
    };
  }
  const rsa = info.family === 'RSA';
  const size = info.coordinateBytes ?? 0;
  const publicValues: Template = rsa
    ? [
        { type: CKA.MODULUS, value: value(jwk.n) },
        { type: CKA.PUBLIC_EXPONENT, value: value(jwk.e) },
      ]
    : [
        {
          type: CKA.EC_POINT,
          value: derOctetString(
            Buffer.concat([Buffer.from([4]), padded(value(jwk.x), size), padded(value(jwk.y), size)]),
          ),
        },
      ];
  const publicTemplate = [...withoutGenerationOnly(generation.publicTemplate), ...publicValues];
  if (kind === 'public') {
    return { kind: 'public', id, spec, publicTemplate, narrow: { public: generation.narrow.public } };
  }
  const privateValues: Template = rsa
    ? [
        ...publicValues,
        { type: CKA.PRIVATE_EXPONENT, value: value(jwk.d) },
        { type: CKA.PRIME_1, value: value(jwk.p) },
        { type: CKA.PRIME_2, value: value(jwk.q) },
        { type: CKA.EXPONENT_1, value: value(jwk.dp) },
        { type: CKA.EXPONENT_2, value: value(jwk.dq) },
        { type: CKA.COEFFICIENT, value: value(jwk.qi) },
      ]
    : [
        { type: CKA.EC_PARAMS, value: EC_PARAMS[info.curve!] },
        { type: CKA.VALUE, value: padded(value(jwk.d), size) },
      ];
  return {
    kind: 'pair',
    id,
    spec,
    privateTemplate: [...withoutGenerationOnly(generation.privateTemplate), ...privateValues],
    publicTemplate,
    narrow: generation.narrow,
  };
}

/**
 * Overwrites the secret key material of an import's templates with zeros, once it is written (or not
 * needed any more).
 *
 * @example
 * ```ts
 * try { write(keyImport); } finally { wipeKeyImport(keyImport); }
 * ```
 */
export function wipeKeyImport(keyImport: KeyImport): void {
  const templates =
    keyImport.kind === 'secret'
      ? [keyImport.template]
      : keyImport.kind === 'pair'
        ? [keyImport.privateTemplate]
        : [];
  for (const template of templates) {
    for (const attribute of template) {
      if (SECRET_VALUES.has(attribute.type) && Buffer.isBuffer(attribute.value)) attribute.value.fill(0);
    }
  }
}

function withoutGenerationOnly(template: Template): Template {
  return template.filter((attribute) => !GENERATION_ONLY.has(attribute.type));
}

/** An unsigned big-endian integer left-padded with zeros to `size` bytes (JWK drops leading zeros). */
function padded(bytes: Buffer, size: number): Buffer {
  return bytes.length >= size ? bytes : Buffer.concat([Buffer.alloc(size - bytes.length), bytes]);
}

/** The DER OCTET STRING CKA_EC_POINT takes: an uncompressed point is at most 133 bytes (P-521). */
function derOctetString(point: Buffer): Buffer {
  const length = point.length < 0x80 ? [point.length] : [0x81, point.length];
  return Buffer.concat([Buffer.from([0x04, ...length]), point]);
}
