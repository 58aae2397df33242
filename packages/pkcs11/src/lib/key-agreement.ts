import { KeyswitchError, keySpecInfo } from '@keyswitch/core';
import { CKA } from './ck.js';
import { assertEnabled, explainRefusal } from './key-state.js';
import { sharedSecretTemplate } from './key-templates.js';
import { ecdhMechanism } from './mechanisms.js';
import { type ResolvedKey, requirePrivate } from './resolved-key.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';

/**
 * ECDH with CKD_NULL on the token: derives the raw shared secret as a session object, reads it, and
 * destroys the object.
 *
 * @throws KEY_DISABLED when the key is disabled; USAGE_MISMATCH for a public key alone; INTERNAL (not
 * retryable, naming the token) when the token answers a shared secret that is not the curve's size
 * @example
 * ```ts
 * const secret = deriveSharedSecret(context, session, key, peer.ec!.point);
 * ```
 */
export function deriveSharedSecret(
  context: TokenContext,
  session: Handle,
  resolved: ResolvedKey,
  point: Uint8Array,
): Uint8Array {
  const { library, profile } = context;
  const trusted = profile.enforcesUsageAttributes;
  if (!trusted) assertEnabled(library, session, resolved);
  const privateKey = requirePrivate(resolved, 'key agreement');
  const size = keySpecInfo(resolved.spec).coordinateBytes!;
  const publicData = Buffer.from(point);
  const mechanism = ecdhMechanism(publicData);
  let derived: Handle;
  try {
    derived = library.C_DeriveKey(session, mechanism, privateKey, sharedSecretTemplate(size));
  } catch (error) {
    if (trusted) explainRefusal(library, session, resolved, error);
    throw error;
  }
  try {
    const [value] = library.C_GetAttributeValue(session, derived, [{ type: CKA.VALUE }]);
    const length = value!.value.length;
    const secret = new Uint8Array(value!.value);
    value!.value.fill(0);
    if (length !== size) {
      secret.fill(0);
      throw new KeyswitchError(
        'INTERNAL',
        `token "${context.token.label}" returned an ECDH shared secret of ${length} bytes for ${resolved.spec}, where ${size} were due: the token is faulty`,
        { retryable: false },
      );
    }
    return secret;
  } finally {
    try {
      library.C_DestroyObject(session, derived);
    } catch {
      // a session object: it goes with its session anyway
    }
  }
}
