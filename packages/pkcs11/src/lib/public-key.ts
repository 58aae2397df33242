import { type KeySpec, KeyswitchError, keySpecInfo, rsaPublicKeyToSpki } from '@keyswitch/core';
import { CKA } from './ck.js';
import { bitLength, ecPublicKeyFromToken } from './key-attributes.js';
import { assertEnabled } from './key-state.js';
import { noPublicObject, type ResolvedKey } from './resolved-key.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';

/**
 * A key's public key (DER SubjectPublicKeyInfo), read from its objects' attributes.
 *
 * @throws KEY_DISABLED when the key is disabled; KEY_NOT_FOUND when the token holds no public half;
 * INTERNAL (not retryable, naming the token) when the token answers a malformed public key
 * @example
 * ```ts
 * const spki = readPublicKey(context, session, key);
 * ```
 */
export function readPublicKey(context: TokenContext, session: Handle, resolved: ResolvedKey): Uint8Array {
  const library = context.library;
  assertEnabled(library, session, resolved);
  const info = keySpecInfo(resolved.spec);
  const publicKey = resolved.publicKey;
  if (info.family === 'RSA') {
    const [modulus, exponent] = library.C_GetAttributeValue(session, publicKey ?? resolved.primary, [
      { type: CKA.MODULUS },
      { type: CKA.PUBLIC_EXPONENT },
    ]);
    return rsaPublicKeyFromToken(resolved.spec, modulus!.value, exponent!.value, context.token.label);
  }
  if (publicKey === undefined) throw noPublicObject();
  const [point] = library.C_GetAttributeValue(session, publicKey, [{ type: CKA.EC_POINT }]);
  return ecPublicKeyFromToken(info.curve!, point!.value, context.token.label);
}

/**
 * The SubjectPublicKeyInfo of an RSA key from the CKA_MODULUS and CKA_PUBLIC_EXPONENT a token answered,
 * checked against the key's spec: a modulus of another size, or one that is not an RSA modulus at all, is
 * the token's fault (INTERNAL, not retryable, naming the token), never the caller's.
 */
function rsaPublicKeyFromToken(
  spec: KeySpec,
  modulus: Buffer,
  exponent: Buffer,
  tokenLabel: string,
): Uint8Array {
  const bits = keySpecInfo(spec).bits;
  const found = bitLength(modulus);
  const faulty = (what: string, cause?: unknown) =>
    new KeyswitchError(
      'INTERNAL',
      `token "${tokenLabel}" returned ${what} for an ${spec} key: the token is faulty`,
      {
        retryable: false,
        cause,
      },
    );
  if (found !== bits) throw faulty(`a CKA_MODULUS of ${found} bits`);
  try {
    return rsaPublicKeyToSpki(modulus, exponent);
  } catch (error) {
    throw faulty('a CKA_MODULUS or CKA_PUBLIC_EXPONENT that is not an RSA public key', error);
  }
}
