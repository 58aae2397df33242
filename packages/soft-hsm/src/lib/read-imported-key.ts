import { createPrivateKey, type KeyObject } from 'node:crypto';
import { isKeySpec, type KeySpec, KeyswitchError, parseSpki } from '@keyswitch/core';
import type { ImportKeyRequest } from '../import-key-request.js';
import { wipe } from './bytes.js';
import { asymmetricMaterial, type KeyMaterial, secretMaterial } from './key-material.js';
import { readPkcs12PrivateKey } from './read-pkcs12.js';

/** Allowed secret key lengths in bytes, by spec (AWS KMS import rules). */
const SECRET_LENGTHS: Readonly<Partial<Record<KeySpec, readonly [number, number]>>> = {
  SYMMETRIC_DEFAULT: [32, 32],
  HMAC_256: [32, 64],
  HMAC_384: [48, 128],
  HMAC_512: [64, 128],
};

function invalid(detail: string): KeyswitchError {
  return new KeyswitchError('INVALID_INPUT', detail);
}

async function privateKeyOf(request: ImportKeyRequest): Promise<KeyObject> {
  if (request.pem !== undefined) {
    if (typeof request.pem !== 'string') throw invalid('pem must be a string');
    if (
      /-----BEGIN (ENCRYPTED PRIVATE KEY|[A-Z ]*PRIVATE KEY-----[\s\S]*Proc-Type: 4,ENCRYPTED)/.test(
        request.pem,
      )
    ) {
      throw invalid('encrypted PEM keys are not supported: decrypt the key first or import it as PKCS#12');
    }
    try {
      return createPrivateKey({ key: request.pem, format: 'pem' });
    } catch {
      throw invalid('pem is not a PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)');
    }
  }
  const der = request.pkcs8 ?? (await readPkcs12PrivateKey(request.pkcs12!.data, request.pkcs12!.password));
  if (!(der instanceof Uint8Array)) throw invalid('pkcs8 must be a Uint8Array');
  try {
    return createPrivateKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
      format: 'der',
      type: 'pkcs8',
    });
  } catch {
    throw invalid(`${request.pkcs8 ? 'pkcs8' : 'the PKCS#12 key'} is not a DER PKCS#8 private key`);
  } finally {
    if (request.pkcs12) wipe(der);
  }
}

/**
 * Reads the key material of an import request and works out its spec: RSA modulus size and EC curve
 * from the key itself, secret keys from `spec` and the length.
 *
 * @throws INVALID_INPUT for anything but exactly one source, an unreadable or unsupported key (RSA other
 * than 2048/3072/4096 bits, curves other than P-256/384/521, RSA-PSS-only keys), or a spec that does not
 * match
 */
export async function readImportedKey(
  request: ImportKeyRequest,
): Promise<{ spec: KeySpec; material: KeyMaterial }> {
  const sources = (['pem', 'pkcs8', 'pkcs12', 'raw'] as const).filter(
    (source) => request[source] !== undefined,
  );
  if (sources.length !== 1) {
    throw invalid(
      `give exactly one of pem, pkcs8, pkcs12 and raw, got ${sources.length ? sources.join(', ') : 'none'}`,
    );
  }
  if (request.spec !== undefined && !isKeySpec(request.spec)) {
    throw invalid(`unknown key spec ${JSON.stringify(request.spec)}`);
  }
  if (request.raw !== undefined) {
    const lengths = request.spec === undefined ? undefined : SECRET_LENGTHS[request.spec];
    if (lengths === undefined) {
      throw invalid('raw keys need spec SYMMETRIC_DEFAULT, HMAC_256, HMAC_384 or HMAC_512');
    }
    if (!(request.raw instanceof Uint8Array)) throw invalid('raw must be a Uint8Array');
    const [min, max] = lengths;
    if (request.raw.length < min || request.raw.length > max) {
      throw invalid(
        `a ${request.spec} key must be ${min === max ? min : `${min} to ${max}`} bytes, got ${request.raw.length}`,
      );
    }
    const bytes = Buffer.alloc(request.raw.length);
    bytes.set(request.raw);
    return { spec: request.spec!, material: secretMaterial(bytes) };
  }
  const privateKey = await privateKeyOf(request);
  if (privateKey.asymmetricKeyType !== 'rsa' && privateKey.asymmetricKeyType !== 'ec') {
    throw invalid(
      `${privateKey.asymmetricKeyType} keys are not supported; import an RSA or EC (P-256, P-384, P-521) key`,
    );
  }
  const material = asymmetricMaterial(privateKey);
  const spec = parseSpki(material.spki).keySpec;
  if (request.spec !== undefined && request.spec !== spec) {
    throw invalid(`the key is ${spec}, not ${request.spec}`);
  }
  return { spec, material };
}
