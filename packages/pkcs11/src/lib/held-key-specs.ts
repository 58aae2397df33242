import type { KeySpec } from '@keyswitch/core';
import { CKA, CKK, CKO } from './ck.js';
import { keySpecOf, readUlong } from './key-attributes.js';
import type { Handle, Pkcs11Library } from './shared-module.js';

/**
 * The specs of the keys the token already holds (private and secret keys; at most 1,000 looked at): a
 * spec the token cannot create is still offered when it holds such a key.
 *
 * @example
 * ```ts
 * if (heldKeySpecs(library, session).has('RSA_4096')) add('RSA_4096', 'SIGN_VERIFY', false);
 * ```
 */
export function heldKeySpecs(library: Pkcs11Library, session: Handle): Set<KeySpec> {
  const held = new Set<KeySpec>();
  for (const objectClass of [CKO.PRIVATE_KEY, CKO.SECRET_KEY]) {
    let handles: Handle[] = [];
    try {
      library.C_FindObjectsInit(session, [{ type: CKA.CLASS, value: objectClass }]);
      try {
        handles = library.C_FindObjects(session, 1000);
      } finally {
        library.C_FindObjectsFinal(session);
      }
    } catch {
      continue;
    }
    for (const handle of handles) {
      try {
        held.add(keySpecOf(readSizeFacts(library, session, handle, objectClass)));
      } catch {
        // A key keyswitch has no spec for, or one whose attributes cannot be read: not a spec held.
      }
    }
  }
  return held;
}

function readSizeFacts(library: Pkcs11Library, session: Handle, handle: Handle, objectClass: number) {
  const [type] = library.C_GetAttributeValue(session, handle, [{ type: CKA.KEY_TYPE }]);
  const keyType = readUlong(type?.value);
  const attribute = (kind: number) =>
    library.C_GetAttributeValue(session, handle, [{ type: kind }])[0]?.value;
  if (objectClass === CKO.SECRET_KEY) return { keyType, valueLength: readUlong(attribute(CKA.VALUE_LEN)) };
  if (keyType === CKK.RSA) return { keyType, modulus: attribute(CKA.MODULUS) };
  return { keyType, ecParams: attribute(CKA.EC_PARAMS) };
}
