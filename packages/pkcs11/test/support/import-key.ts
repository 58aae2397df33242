import { type KeyObject, randomBytes } from 'node:crypto';
import { type KeySpec, type KeyUsage, keySpecInfo } from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { formatPkcs11Uri, type Pkcs11Provider } from '../../src/index.js';
import { CKA, CKF, CKK, CKO } from '../../src/lib/ck.js';
import { EC_PARAMS } from '../../src/lib/key-attributes.js';
import { loadedModule } from '../../src/lib/shared-module.js';

/** CKA_* the key templates of this backend do not use, for importing private keys. */
const CKA_PRIVATE_EXPONENT = 0x123;
const CKA_PRIME_1 = 0x124;
const CKA_PRIME_2 = 0x125;
const CKA_EXPONENT_1 = 0x126;
const CKA_EXPONENT_2 = 0x127;
const CKA_COEFFICIENT = 0x128;

/** What to import: node:crypto key material and the key's keyswitch spec, usage and label. */
export interface ImportRequest {
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  readonly key: KeyObject;
  readonly label: string;
  /** Which objects of a key pair to write (both by default), as a tool that writes them one by one would. */
  readonly halves?: 'both' | 'private' | 'public';
  /** The CKA_ID to use (a random one by default): the second half of a pair written in two steps. */
  readonly id?: Buffer;
}

/**
 * Writes node:crypto key material to the provider's token with C_CreateObject from the test's own thread,
 * outside keyswitch, as another tool would: for what the contract's `importKey` never does (writing a
 * pair's halves in two steps, a label already in use). Everything else imports through
 * `provider.importKey`. Returns the key's `pkcs11:` URI.
 */
export function importKey(
  provider: Pkcs11Provider,
  modulePath: string,
  request: ImportRequest,
  pin?: string,
): string {
  const library = loadedModule(modulePath);
  if (!library) throw new Error(`module ${modulePath} is not loaded`);
  const session = library.C_OpenSession(provider.token.slot, CKF.SERIAL_SESSION | CKF.RW_SESSION);
  if (pin !== undefined) {
    // A module with a state per loading (p11-kit's client): this thread's loading logs in on its own.
    try {
      library.C_Login(session, 1, pin);
    } catch (error) {
      if (!String((error as Error).message).includes('CKR_USER_ALREADY_LOGGED_IN')) throw error;
    }
  }
  try {
    const id = request.id ?? randomBytes(16);
    const writes = (half: 'private' | 'public') =>
      (request.halves ?? 'both') === 'both' || request.halves === half;
    const naming: Template = [
      { type: CKA.ID, value: id },
      { type: CKA.LABEL, value: request.label },
      { type: CKA.TOKEN, value: true },
    ];
    const protect: Template = [
      { type: CKA.PRIVATE, value: true },
      { type: CKA.SENSITIVE, value: true },
      { type: CKA.EXTRACTABLE, value: false },
    ];
    const info = keySpecInfo(request.spec);
    const jwk = request.key.export({ format: 'jwk' });
    const b64 = (value: string | undefined) => Buffer.from(value ?? '', 'base64url');
    const sign = request.usage === 'SIGN_VERIFY';
    let type: 'private' | 'secret-key' = 'private';
    if (info.family === 'AES' || info.family === 'HMAC') {
      type = 'secret-key';
      const aes = info.family === 'AES';
      library.C_CreateObject(session, [
        { type: CKA.CLASS, value: CKO.SECRET_KEY },
        { type: CKA.KEY_TYPE, value: aes ? CKK.AES : CKK.GENERIC_SECRET },
        { type: CKA.VALUE, value: b64(jwk.k) },
        ...naming,
        ...protect,
        { type: aes ? CKA.ENCRYPT : CKA.SIGN, value: true },
        { type: aes ? CKA.DECRYPT : CKA.VERIFY, value: true },
      ]);
    } else if (info.family === 'RSA') {
      if (writes('private'))
        library.C_CreateObject(session, [
          { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
          { type: CKA.KEY_TYPE, value: CKK.RSA },
          { type: CKA.MODULUS, value: b64(jwk.n) },
          { type: CKA.PUBLIC_EXPONENT, value: b64(jwk.e) },
          { type: CKA_PRIVATE_EXPONENT, value: b64(jwk.d) },
          { type: CKA_PRIME_1, value: b64(jwk.p) },
          { type: CKA_PRIME_2, value: b64(jwk.q) },
          { type: CKA_EXPONENT_1, value: b64(jwk.dp) },
          { type: CKA_EXPONENT_2, value: b64(jwk.dq) },
          { type: CKA_COEFFICIENT, value: b64(jwk.qi) },
          ...naming,
          ...protect,
          { type: CKA.SIGN, value: sign },
          { type: CKA.DECRYPT, value: !sign },
        ]);
      if (writes('public'))
        library.C_CreateObject(session, [
          { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
          { type: CKA.KEY_TYPE, value: CKK.RSA },
          { type: CKA.MODULUS, value: b64(jwk.n) },
          { type: CKA.PUBLIC_EXPONENT, value: b64(jwk.e) },
          ...naming,
          { type: CKA.VERIFY, value: sign },
          { type: CKA.ENCRYPT, value: !sign },
        ]);
    } else {
      const size = info.coordinateBytes!;
      const point = Buffer.concat([Buffer.from([4]), b64(jwk.x), b64(jwk.y)]);
      const ecParams = EC_PARAMS[info.curve!];
      if (writes('private'))
        library.C_CreateObject(session, [
          { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
          { type: CKA.KEY_TYPE, value: CKK.EC },
          { type: CKA.EC_PARAMS, value: ecParams },
          { type: CKA.VALUE, value: Buffer.concat([Buffer.alloc(size - b64(jwk.d).length), b64(jwk.d)]) },
          ...naming,
          ...protect,
          { type: CKA.SIGN, value: sign },
          { type: CKA.DERIVE, value: !sign },
        ]);
      if (writes('public'))
        library.C_CreateObject(session, [
          { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
          { type: CKA.KEY_TYPE, value: CKK.EC },
          { type: CKA.EC_PARAMS, value: ecParams },
          { type: CKA.EC_POINT, value: derOctetString(point) },
          ...naming,
          { type: CKA.VERIFY, value: sign },
        ]);
    }
    return formatPkcs11Uri({ token: provider.token.label, object: request.label, id, type });
  } finally {
    library.C_CloseSession(session);
  }
}

function derOctetString(value: Buffer): Buffer {
  const length = value.length < 0x80 ? Buffer.from([value.length]) : Buffer.from([0x81, value.length]);
  return Buffer.concat([Buffer.from([0x04]), length, value]);
}
