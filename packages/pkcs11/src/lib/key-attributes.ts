import { createPublicKey } from 'node:crypto';
import { endianness } from 'node:os';
import {
  type CurveName,
  ecPointToSpki,
  type KeySpec,
  KeyswitchError,
  type KeyUsage,
  unwrapEcPointOctetString,
} from '@keyswitch/core';
import { CKA, CKK } from './ck.js';

/** CKA_EC_PARAMS for each curve: the DER namedCurve OID. */
export const EC_PARAMS: Readonly<Record<CurveName, Buffer>> = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
  'P-521': Buffer.from('06052b81040023', 'hex'),
};

const RSA_SPECS: Readonly<Record<number, KeySpec>> = { 2048: 'RSA_2048', 3072: 'RSA_3072', 4096: 'RSA_4096' };
const EC_SPECS: Readonly<Record<string, KeySpec>> = {
  [EC_PARAMS['P-256'].toString('hex')]: 'ECC_NIST_P256',
  [EC_PARAMS['P-384'].toString('hex')]: 'ECC_NIST_P384',
  [EC_PARAMS['P-521'].toString('hex')]: 'ECC_NIST_P521',
};
const HMAC_SPECS_BY_LENGTH: Readonly<Record<number, KeySpec>> = {
  32: 'HMAC_256',
  48: 'HMAC_384',
  64: 'HMAC_512',
};
const HMAC_SPECS_BY_TYPE: Readonly<Record<number, KeySpec>> = {
  [CKK.SHA256_HMAC]: 'HMAC_256',
  [CKK.SHA384_HMAC]: 'HMAC_384',
  [CKK.SHA512_HMAC]: 'HMAC_512',
};

/** A CK_BBOOL attribute value. */
export function readBoolean(value: Buffer | undefined): boolean {
  return value !== undefined && value.length > 0 && value[0] !== 0;
}

/** A CK_ULONG attribute value (native byte order, 4 or 8 bytes). */
export function readUlong(value: Buffer | undefined): number {
  if (value === undefined || value.length === 0) return Number.NaN;
  if (value.length === 4) return endianness() === 'LE' ? value.readUInt32LE(0) : value.readUInt32BE(0);
  return endianness() === 'LE'
    ? value.readUInt32LE(0) + value.readUInt32LE(4) * 2 ** 32
    : value.readUInt32BE(4) + value.readUInt32BE(0) * 2 ** 32;
}

/** The number of significant bits in an unsigned big-endian integer. */
export function bitLength(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length && bytes[index] === 0) index += 1;
  if (index === bytes.length) return 0;
  return (bytes.length - index - 1) * 8 + (32 - Math.clz32(bytes[index]!));
}

/** What the attributes of a key's objects say about it. */
export interface KeyAttributeFacts {
  readonly keyType: number;
  /** For RSA keys: CKA_MODULUS. */
  readonly modulus?: Buffer | undefined;
  /** For EC keys: CKA_EC_PARAMS. */
  readonly ecParams?: Buffer | undefined;
  /** For secret keys: CKA_VALUE_LEN. */
  readonly valueLength?: number | undefined;
}

/**
 * The keyswitch key spec of a PKCS#11 key, from its type and size attributes.
 *
 * @throws UNSUPPORTED_ALGORITHM for keys keyswitch has no spec for (RSA-1024, secp256k1, AES-128, DES…)
 */
export function keySpecOf(facts: KeyAttributeFacts): KeySpec {
  switch (facts.keyType) {
    case CKK.RSA: {
      const bits = facts.modulus === undefined ? 0 : bitLength(facts.modulus);
      const spec = RSA_SPECS[bits];
      if (spec === undefined)
        throw unsupported(`an RSA key of ${bits} bits (keyswitch supports 2048, 3072 and 4096)`);
      return spec;
    }
    case CKK.EC: {
      const spec = facts.ecParams === undefined ? undefined : EC_SPECS[facts.ecParams.toString('hex')];
      if (spec === undefined) throw unsupported('an EC key on a curve other than P-256, P-384 or P-521');
      return spec;
    }
    case CKK.AES:
      if (facts.valueLength !== 32)
        throw unsupported(`an AES key of ${facts.valueLength} bytes (keyswitch supports AES-256)`);
      return 'SYMMETRIC_DEFAULT';
    case CKK.GENERIC_SECRET: {
      const spec = HMAC_SPECS_BY_LENGTH[facts.valueLength ?? 0];
      if (spec === undefined) {
        throw unsupported(
          `a generic secret of ${facts.valueLength} bytes (HMAC keys are 32, 48 or 64 bytes)`,
        );
      }
      return spec;
    }
    default: {
      const spec = HMAC_SPECS_BY_TYPE[facts.keyType];
      if (spec === undefined) throw unsupported(`a key of type CKK 0x${facts.keyType.toString(16)}`);
      return spec;
    }
  }
}

/** The usage flags of a key's objects, as read from the token. */
export interface UsageFlags {
  /** Private or secret key: CKA_SIGN, CKA_DECRYPT, CKA_DERIVE, CKA_ENCRYPT, CKA_VERIFY. */
  readonly primary: ReadonlyMap<number, boolean>;
  /** Public key (pairs only): CKA_VERIFY, CKA_ENCRYPT. */
  readonly public?: ReadonlyMap<number, boolean> | undefined;
}

/** The attributes that say what a private key may do. */
export const PRIVATE_USAGE_ATTRIBUTES: readonly number[] = [CKA.SIGN, CKA.DECRYPT, CKA.DERIVE];
/** The attributes that say what a public key may do. */
export const PUBLIC_USAGE_ATTRIBUTES: readonly number[] = [CKA.VERIFY, CKA.ENCRYPT];
/** The attributes that say what a secret key may do. */
export const SECRET_USAGE_ATTRIBUTES: readonly number[] = [CKA.ENCRYPT, CKA.DECRYPT, CKA.SIGN, CKA.VERIFY];

/**
 * The attributes on the private or secret key that carry a usage: keyswitch's "enabled" means at least one
 * of them is true. Disabling clears every usage attribute of the key; enabling sets these.
 */
export function enablingAttributes(spec: KeySpec, usage: KeyUsage): readonly number[] {
  if (spec === 'SYMMETRIC_DEFAULT') return [CKA.ENCRYPT, CKA.DECRYPT];
  if (spec.startsWith('HMAC_')) return [CKA.SIGN, CKA.VERIFY];
  switch (usage) {
    case 'SIGN_VERIFY':
      return [CKA.SIGN];
    case 'ENCRYPT_DECRYPT':
      return [CKA.DECRYPT];
    case 'KEY_AGREEMENT':
      return [CKA.DERIVE];
    default:
      return [];
  }
}

/**
 * The attributes of a private or secret key of this spec whose being all false means "disabled": what
 * every operation checks first.
 */
export function stateAttributes(spec: KeySpec): readonly number[] {
  if (spec === 'SYMMETRIC_DEFAULT') return [CKA.ENCRYPT, CKA.DECRYPT];
  if (spec.startsWith('HMAC_')) return [CKA.SIGN, CKA.VERIFY];
  return spec.startsWith('RSA_') ? [CKA.SIGN, CKA.DECRYPT] : [CKA.SIGN, CKA.DERIVE];
}

/**
 * A key's usages and whether it is enabled, from its flags. Keys made by other tools often allow several
 * things (an RSA key that signs and decrypts, an EC key that signs and derives): `usages` lists every one
 * the key allows, and `usage` is the first of them (signing first), what keyswitch reports as the key's
 * usage. A key configured for any of its usages is accepted for it. A private key that allows nothing is a
 * disabled key, and its public half (left untouched by disableKey) tells its usages. A public key alone is
 * always enabled.
 *
 * @example
 * ```ts
 * usageOf('RSA_2048', 'pair', { primary: new Map([[CKA.SIGN, true], [CKA.DECRYPT, true]]) });
 * // { usage: 'SIGN_VERIFY', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], enabled: true }
 * ```
 */
export function usageOf(
  spec: KeySpec,
  kind: 'pair' | 'public' | 'secret',
  flags: UsageFlags,
): { usage: KeyUsage; usages: readonly KeyUsage[]; enabled: boolean } {
  const primary = (attribute: number) => flags.primary.get(attribute) === true;
  const publicFlag = (attribute: number) => flags.public?.get(attribute) === true;
  const one = (usage: KeyUsage, enabled: boolean) => ({ usage, usages: [usage], enabled });
  if (spec === 'SYMMETRIC_DEFAULT')
    return one('ENCRYPT_DECRYPT', primary(CKA.ENCRYPT) || primary(CKA.DECRYPT));
  if (spec.startsWith('HMAC_')) return one('GENERATE_VERIFY_MAC', primary(CKA.SIGN) || primary(CKA.VERIFY));
  const rsa = spec.startsWith('RSA_');
  const fallback: KeyUsage = rsa ? 'SIGN_VERIFY' : 'KEY_AGREEMENT';
  const found = (pairs: ReadonlyArray<readonly [boolean, KeyUsage]>) =>
    pairs.filter(([allowed]) => allowed).map(([, usage]) => usage);
  // What the public half allows: a public key alone, or the pair of a disabled private key.
  const fromPublic = (has: (attribute: number) => boolean) =>
    found([
      [has(CKA.VERIFY), 'SIGN_VERIFY'],
      [rsa && has(CKA.ENCRYPT), 'ENCRYPT_DECRYPT'],
    ]);
  if (kind === 'public') {
    const usages = fromPublic(primary);
    return usages.length > 0 ? { usage: usages[0]!, usages, enabled: true } : one(fallback, true);
  }
  const usages = found([
    [primary(CKA.SIGN), 'SIGN_VERIFY'],
    [rsa && primary(CKA.DECRYPT), 'ENCRYPT_DECRYPT'],
    [!rsa && primary(CKA.DERIVE), 'KEY_AGREEMENT'],
  ]);
  if (usages.length > 0) return { usage: usages[0]!, usages, enabled: true };
  // Disabled: the public key still says what the pair was for.
  const before = fromPublic(publicFlag);
  return before.length > 0 ? { usage: before[0]!, usages: before, enabled: false } : one(fallback, false);
}

function unsupported(what: string): KeyswitchError {
  return new KeyswitchError(
    'UNSUPPORTED_ALGORITHM',
    `the reference names ${what}, which keyswitch cannot use`,
  );
}

/**
 * The SubjectPublicKeyInfo of an EC public key from the CKA_EC_POINT the token returned, checked to be a
 * point on the curve (node:crypto decodes it). A malformed answer is the token's fault, not the caller's.
 *
 * @throws INTERNAL naming the token when the value is not a point on `curve`
 * @example
 * ```ts
 * const spki = ecPublicKeyFromToken('P-256', ckaEcPoint, 'payments');
 * ```
 */
export function ecPublicKeyFromToken(curve: CurveName, ckaEcPoint: Buffer, tokenLabel: string): Uint8Array {
  try {
    const spki = ecPointToSpki(curve, unwrapEcPointOctetString(ckaEcPoint));
    createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    return spki;
  } catch (error) {
    throw new KeyswitchError(
      'INTERNAL',
      `token "${tokenLabel}" returned a CKA_EC_POINT that is not a point on ${curve}: the token is faulty`,
      { cause: error, retryable: false },
    );
  }
}
