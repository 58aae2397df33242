import { keySpecInfo, rsaPublicKeyToSpki } from '@keyswitch/core';
import { CKA } from './ck.js';
import { ecPublicKeyFromToken } from './key-attributes.js';
import { assertEnabled } from './key-state.js';
import { noPublicObject, type ResolvedKey } from './resolved-key.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';

/**
 * A key's public key (DER SubjectPublicKeyInfo), read from its objects' attributes.
 *
 * @throws KEY_DISABLED when the key is disabled; KEY_NOT_FOUND when the token holds no public half
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
    return rsaPublicKeyToSpki(modulus!.value, exponent!.value);
  }
  if (publicKey === undefined) throw noPublicObject();
  const [point] = library.C_GetAttributeValue(session, publicKey, [{ type: CKA.EC_POINT }]);
  return ecPublicKeyFromToken(info.curve!, point!.value, context.token.label);
}
