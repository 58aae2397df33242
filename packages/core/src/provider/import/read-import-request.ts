import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { parseSpki } from '../../encoding/spki.js';
import { withArticle } from '../../english/with-article.js';
import { invalidInput } from '../../errors.js';
import { isKeySpec, type KeySpec } from '../../vocabulary/key-specs.js';
import type { ImportKeyKind, ImportKeyRequest } from '../contract.js';
import { readPkcs12PrivateKey } from './read-pkcs12.js';

/** Allowed secret key lengths in bytes, by spec (the AWS KMS import rules). */
const SECRET_LENGTHS: Readonly<Partial<Record<KeySpec, readonly [number, number]>>> = {
  SYMMETRIC_DEFAULT: [32, 32],
  HMAC_256: [32, 64],
  HMAC_384: [48, 128],
  HMAC_512: [64, 128],
};

/** The largest PEM, PKCS#8 or SPKI input read, in bytes: an RSA-4096 PKCS#8 PEM is about 3.3 KB. */
const MAX_KEY_INPUT_BYTES = 16_384;

const SOURCES = ['pem', 'pkcs8', 'pkcs12', 'raw', 'spki'] as const;

/** Key material read from an {@link ImportKeyRequest}: what it is, its spec, and a node:crypto key. */
export interface ReadImport {
  readonly kind: ImportKeyKind;
  readonly spec: KeySpec;
  /** A private key (RSA, EC), a secret key (AES, HMAC) or a public key, by `kind`. */
  readonly key: KeyObject;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function assertInputBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidInput(`${what} must be a Uint8Array`);
  if (value.byteLength === 0 || value.byteLength > MAX_KEY_INPUT_BYTES) {
    throw invalidInput(`${what} must be 1 to ${MAX_KEY_INPUT_BYTES} bytes, got ${value.byteLength}`);
  }
}

function readPem(pem: unknown): { kind: 'private' | 'public'; key: KeyObject } {
  if (typeof pem !== 'string') throw invalidInput('pem must be a string');
  if (pem.length > MAX_KEY_INPUT_BYTES) {
    throw invalidInput(`pem must be at most ${MAX_KEY_INPUT_BYTES} characters, got ${pem.length}`);
  }
  if (/-----BEGIN (ENCRYPTED PRIVATE KEY|[A-Z ]*PRIVATE KEY-----[\s\S]*Proc-Type: 4,ENCRYPTED)/.test(pem)) {
    throw invalidInput('encrypted PEM keys are not supported: decrypt the key first or import it as PKCS#12');
  }
  if (/-----BEGIN PUBLIC KEY-----/.test(pem) && !/PRIVATE KEY-----/.test(pem)) {
    try {
      return { kind: 'public', key: createPublicKey({ key: pem, format: 'pem' }) };
    } catch {
      throw invalidInput('pem is not a PEM public key (PUBLIC KEY)');
    }
  }
  try {
    return { kind: 'private', key: createPrivateKey({ key: pem, format: 'pem' }) };
  } catch {
    throw invalidInput('pem is not a PEM key (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or PUBLIC KEY)');
  }
}

function readPkcs8(der: Uint8Array, what: string): KeyObject {
  try {
    return createPrivateKey({ key: asBuffer(der), format: 'der', type: 'pkcs8' });
  } catch {
    throw invalidInput(`${what} is not a DER PKCS#8 private key`);
  }
}

function readSecret(request: ImportKeyRequest, raw: unknown): ReadImport {
  const spec = request.spec;
  const lengths = spec === undefined ? undefined : SECRET_LENGTHS[spec];
  if (spec === undefined || lengths === undefined) {
    throw invalidInput('raw keys need spec SYMMETRIC_DEFAULT, HMAC_256, HMAC_384 or HMAC_512');
  }
  if (!(raw instanceof Uint8Array)) throw invalidInput('raw must be a Uint8Array');
  const [min, max] = lengths;
  if (raw.byteLength < min || raw.byteLength > max) {
    throw invalidInput(
      `${withArticle(spec)} key must be ${min === max ? min : `${min} to ${max}`} bytes, got ${raw.byteLength}`,
    );
  }
  return { kind: 'secret', spec, key: createSecretKey(Buffer.from(raw)) };
}

/**
 * Reads the key material of an import request once, for every backend: exactly one source; the spec
 * from the key itself for RSA and EC keys (and `spec`, when given, must match); AWS KMS's length rules
 * for secret keys; bounded input sizes and, for PKCS#12, bounded key-derivation work.
 *
 * @throws INVALID_INPUT for anything but exactly one source, an unreadable, encrypted or unsupported key
 * (RSA other than 2048/3072/4096 bits, curves other than P-256/384/521, RSA-PSS-only keys), a wrong PKCS#12
 * password, or a spec that does not match
 *
 * @example
 * ```ts
 * const { kind, spec, key } = await readImportRequest({ usage: 'SIGN_VERIFY', pem });
 * ```
 */
export async function readImportRequest(request: ImportKeyRequest): Promise<ReadImport> {
  const sources = SOURCES.filter((source) => request[source] !== undefined);
  if (sources.length !== 1) {
    throw invalidInput(
      `give exactly one of ${SOURCES.join(', ')}, got ${sources.length ? sources.join(', ') : 'none'}`,
    );
  }
  if (request.spec !== undefined && !isKeySpec(request.spec)) {
    throw invalidInput(`unknown key spec ${JSON.stringify(request.spec)}`);
  }
  if (request.raw !== undefined) return readSecret(request, request.raw);

  let kind: 'private' | 'public';
  let key: KeyObject;
  if (request.pem !== undefined) {
    ({ kind, key } = readPem(request.pem));
  } else if (request.pkcs8 !== undefined) {
    assertInputBytes(request.pkcs8, 'pkcs8');
    kind = 'private';
    key = readPkcs8(request.pkcs8, 'pkcs8');
  } else if (request.spki !== undefined) {
    assertInputBytes(request.spki, 'spki');
    kind = 'public';
    try {
      key = createPublicKey({ key: asBuffer(request.spki), format: 'der', type: 'spki' });
    } catch {
      throw invalidInput('spki is not a DER SubjectPublicKeyInfo');
    }
  } else {
    const pkcs12 = request.pkcs12;
    if (typeof pkcs12 !== 'object' || pkcs12 === null) {
      throw invalidInput('pkcs12 must be { data: Uint8Array, password: string }');
    }
    const der = await readPkcs12PrivateKey(pkcs12.data, pkcs12.password);
    kind = 'private';
    try {
      key = readPkcs8(der, 'the PKCS#12 key');
    } finally {
      der.fill(0);
    }
  }
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
    throw invalidInput(
      `${key.asymmetricKeyType} keys are not supported; import an RSA or EC (P-256, P-384, P-521) key`,
    );
  }
  const publicKey = kind === 'public' ? key : createPublicKey(key);
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  const spec = parseSpki(spki).keySpec;
  if (request.spec !== undefined && request.spec !== spec) {
    throw invalidInput(`the key is ${spec}, not ${request.spec}`);
  }
  return { kind, spec, key };
}
