import { createHash } from 'node:crypto';
import { invalidInput } from '@keyswitch/core';
import { BitString, OctetString } from 'asn1js';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Extension,
  ExtKeyUsage,
  type GeneralNames,
  PublicKeyInfo,
} from 'pkijs';

/** Key usage bits (RFC 5280 §4.2.1.3). */
export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';

/** Extended key usages by name (RFC 5280 §4.2.1.12), or any purpose by its OID. */
export type ExtendedKeyUsageName =
  | 'serverAuth'
  | 'clientAuth'
  | 'codeSigning'
  | 'emailProtection'
  | 'timeStamping'
  | 'OCSPSigning'
  | `${number}.${number}.${string}`;

const KEY_USAGE_BITS: Readonly<Record<KeyUsageName, number>> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

const EXTENDED_KEY_USAGES: Readonly<Record<string, string>> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
};

/** The bit of a key usage name (RFC 5280 §4.2.1.3), or `undefined` for an unknown name. */
export function keyUsageBit(usage: string): number | undefined {
  return Object.hasOwn(KEY_USAGE_BITS, usage) ? KEY_USAGE_BITS[usage as KeyUsageName] : undefined;
}

/** The OID of an extended key usage name, an OID as it is, or `undefined` for neither. */
export function extendedKeyUsageOid(usage: string): string | undefined {
  return EXTENDED_KEY_USAGES[usage] ?? (/^\d+(\.\d+)+$/.test(usage) ? usage : undefined);
}

/** basicConstraints, critical: a CA (with an optional path length) or an end entity. */
export function basicConstraintsExtension(ca: boolean, pathLength?: number): Extension {
  if (
    pathLength !== undefined &&
    (!ca || !Number.isInteger(pathLength) || pathLength < 0 || pathLength > 16)
  ) {
    throw invalidInput('pathLength is for CA certificates only, an integer from 0 to 16');
  }
  const value = new BasicConstraints(
    pathLength === undefined ? { cA: ca } : { cA: ca, pathLenConstraint: pathLength },
  );
  return new Extension({ extnID: '2.5.29.19', critical: true, extnValue: value.toSchema().toBER(false) });
}

/** keyUsage, critical, as a DER named bit list (trailing zero bits dropped). */
export function keyUsageExtension(usages: readonly KeyUsageName[]): Extension {
  if (!Array.isArray(usages) || usages.length === 0) throw invalidInput('keyUsage must be a non-empty list');
  const bits = new Uint8Array(1);
  let highest = 0;
  for (const usage of usages) {
    const bit = Object.hasOwn(KEY_USAGE_BITS, usage) ? KEY_USAGE_BITS[usage as KeyUsageName] : undefined;
    if (bit === undefined) {
      throw invalidInput(
        `unknown key usage "${String(usage)}"; known: ${Object.keys(KEY_USAGE_BITS).join(', ')}`,
      );
    }
    bits[0]! |= 0x80 >> bit;
    highest = Math.max(highest, bit);
  }
  const value = new BitString({ valueHex: bits, unusedBits: 7 - highest });
  return new Extension({ extnID: '2.5.29.15', critical: true, extnValue: value.toBER(false) });
}

/** extKeyUsage, not critical. */
export function extendedKeyUsageExtension(usages: readonly ExtendedKeyUsageName[]): Extension {
  if (!Array.isArray(usages) || usages.length === 0)
    throw invalidInput('extendedKeyUsage must be a non-empty list');
  const keyPurposes = usages.map((usage) => {
    const oid = EXTENDED_KEY_USAGES[usage] ?? (/^\d+(\.\d+)+$/.test(usage) ? usage : undefined);
    if (oid === undefined) {
      throw invalidInput(
        `unknown extended key usage "${String(usage)}"; use ${Object.keys(EXTENDED_KEY_USAGES).join(', ')} or an OID`,
      );
    }
    return oid;
  });
  return new Extension({
    extnID: '2.5.29.37',
    critical: false,
    extnValue: new ExtKeyUsage({ keyPurposes }).toSchema().toBER(false),
  });
}

/** subjectAltName; critical only when the subject is empty (RFC 5280 §4.2.1.6). */
export function subjectAltNameExtension(names: GeneralNames, critical: boolean): Extension {
  return new Extension({ extnID: '2.5.29.17', critical, extnValue: names.toSchema().toBER(false) });
}

/** subjectKeyIdentifier. */
export function subjectKeyIdentifierExtension(keyIdentifier: Uint8Array): Extension {
  return new Extension({
    extnID: '2.5.29.14',
    critical: false,
    extnValue: new OctetString({ valueHex: keyIdentifier }).toBER(false),
  });
}

/** authorityKeyIdentifier with the issuer's key identifier. */
export function authorityKeyIdentifierExtension(keyIdentifier: Uint8Array): Extension {
  const value = new AuthorityKeyIdentifier({ keyIdentifier: new OctetString({ valueHex: keyIdentifier }) });
  return new Extension({ extnID: '2.5.29.35', critical: false, extnValue: value.toSchema().toBER(false) });
}

/** RFC 5280 §4.2.1.2 method 1: the SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function keyIdentifierOf(spki: Uint8Array): Uint8Array {
  const info = PublicKeyInfo.fromBER(spki);
  return new Uint8Array(createHash('sha1').update(info.subjectPublicKey.valueBlock.valueHexView).digest());
}
