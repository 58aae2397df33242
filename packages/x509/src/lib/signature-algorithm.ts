import { algorithmInfo, type HashName, invalidInput, type SigningAlgorithm } from '@keyswitch/core';
import { Null } from 'asn1js';
import { AlgorithmIdentifier, RSASSAPSSParams } from 'pkijs';

const HASH_OID: Readonly<Record<Exclude<HashName, 'sha1'>, string>> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

const RSA_PKCS1_OID: Readonly<Record<string, string>> = {
  sha256: '1.2.840.113549.1.1.11',
  sha384: '1.2.840.113549.1.1.12',
  sha512: '1.2.840.113549.1.1.13',
};

const ECDSA_OID: Readonly<Record<string, string>> = {
  sha256: '1.2.840.10045.4.3.2',
  sha384: '1.2.840.10045.4.3.3',
  sha512: '1.2.840.10045.4.3.4',
};

const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';

/** How a signature made by keyswitch is described in X.509 and checked by node:crypto. */
export interface SignatureAlgorithm {
  readonly family: 'RSA_PSS' | 'RSA_PKCS1' | 'ECDSA';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly digestBytes: number;
  /** RSA-PSS: the salt length (keyswitch always uses the digest length). */
  readonly saltLength?: number;
}

/**
 * The X.509 AlgorithmIdentifier of a keyswitch signing algorithm. RSASSA-PSS carries explicit parameters
 * (RFC 4055): the hash, MGF1 with the same hash, and a salt as long as the digest; the hash
 * AlgorithmIdentifiers carry NULL parameters, as OpenSSL writes them. ECDSA identifiers have no parameters,
 * PKCS#1 v1.5 ones NULL.
 */
export function signatureAlgorithmIdentifier(algorithm: SigningAlgorithm): AlgorithmIdentifier {
  const facts = signatureAlgorithmOf(algorithm);
  if (facts.family === 'ECDSA') return new AlgorithmIdentifier({ algorithmId: ECDSA_OID[facts.hash]! });
  if (facts.family === 'RSA_PKCS1') {
    return new AlgorithmIdentifier({ algorithmId: RSA_PKCS1_OID[facts.hash]!, algorithmParams: new Null() });
  }
  const hashAlgorithm = new AlgorithmIdentifier({
    algorithmId: HASH_OID[facts.hash],
    algorithmParams: new Null(),
  });
  const params = new RSASSAPSSParams({
    hashAlgorithm,
    maskGenAlgorithm: new AlgorithmIdentifier({
      algorithmId: MGF1,
      algorithmParams: hashAlgorithm.toSchema(),
    }),
    saltLength: facts.digestBytes,
  });
  return new AlgorithmIdentifier({ algorithmId: RSASSA_PSS, algorithmParams: params.toSchema() });
}

/** Facts about a keyswitch signing algorithm; INVALID_INPUT for anything else. */
export function signatureAlgorithmOf(algorithm: unknown): SignatureAlgorithm {
  const info = typeof algorithm === 'string' ? safeInfo(algorithm) : undefined;
  if (info === undefined || info.usage !== 'SIGN_VERIFY' || info.hash === 'sha1' || info.hash === undefined) {
    throw invalidInput(`${String(algorithm)} is not a signing algorithm X.509 certificates can use`);
  }
  return {
    family: info.family as SignatureAlgorithm['family'],
    hash: info.hash,
    digestBytes: info.digestBytes!,
    ...(info.family === 'RSA_PSS' ? { saltLength: info.digestBytes! } : {}),
  };
}

/**
 * Reads a signature AlgorithmIdentifier back (to verify a CSR): the nine identifiers keyswitch writes, PSS
 * only with MGF1 over the same hash.
 */
export function readSignatureAlgorithm(identifier: AlgorithmIdentifier): SignatureAlgorithm {
  const oid = identifier.algorithmId;
  for (const [hash, value] of Object.entries(RSA_PKCS1_OID)) {
    if (value === oid)
      return { family: 'RSA_PKCS1', hash: hash as SignatureAlgorithm['hash'], digestBytes: bytes(hash) };
  }
  for (const [hash, value] of Object.entries(ECDSA_OID)) {
    if (value === oid)
      return { family: 'ECDSA', hash: hash as SignatureAlgorithm['hash'], digestBytes: bytes(hash) };
  }
  if (oid === RSASSA_PSS && identifier.algorithmParams !== undefined) {
    const params = new RSASSAPSSParams({ schema: identifier.algorithmParams });
    const hash = Object.entries(HASH_OID).find(
      ([, value]) => value === params.hashAlgorithm.algorithmId,
    )?.[0];
    const mgfHash =
      params.maskGenAlgorithm.algorithmParams === undefined
        ? undefined
        : new AlgorithmIdentifier({ schema: params.maskGenAlgorithm.algorithmParams }).algorithmId;
    if (
      hash !== undefined &&
      params.maskGenAlgorithm.algorithmId === MGF1 &&
      mgfHash === HASH_OID[hash as 'sha256']
    ) {
      return {
        family: 'RSA_PSS',
        hash: hash as SignatureAlgorithm['hash'],
        digestBytes: bytes(hash),
        saltLength: params.saltLength,
      };
    }
  }
  throw invalidInput(`signature algorithm ${oid} is not supported`);
}

function safeInfo(algorithm: string) {
  try {
    return algorithmInfo(algorithm as SigningAlgorithm);
  } catch {
    return undefined;
  }
}

function bytes(hash: string): number {
  return hash === 'sha256' ? 32 : hash === 'sha384' ? 48 : 64;
}
