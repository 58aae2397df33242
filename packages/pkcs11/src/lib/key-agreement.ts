import { keySpecInfo } from '@keyswitch/core';
import { CKA } from './ck.js';
import { assertEnabled, explainRefusal } from './key-state.js';
import { sharedSecretTemplate } from './key-templates.js';
import { ecdhMechanism } from './mechanisms.js';
import { type ResolvedKey, requirePrivate } from './resolved-key.js';
import type { PooledSession } from './session-pool.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';

/**
 * ECDH with CKD_NULL on the token: derives the raw shared secret as a session object, reads it, and
 * destroys the object.
 *
 * @throws KEY_DISABLED when the key is disabled; USAGE_MISMATCH for a public key alone
 * @example
 * ```ts
 * const secret = await deriveSharedSecret(context, session, key, peer.ec!.point);
 * ```
 */
export async function deriveSharedSecret(
  context: TokenContext,
  session: PooledSession,
  resolved: ResolvedKey,
  point: Uint8Array,
): Promise<Uint8Array> {
  const { library, pool, profile } = context;
  const trusted = profile.enforcesUsageAttributes;
  if (!trusted) assertEnabled(library, session.handle, resolved);
  const privateKey = requirePrivate(resolved, 'key agreement');
  const size = keySpecInfo(resolved.spec).coordinateBytes!;
  const publicData = Buffer.from(point);
  const mechanism = ecdhMechanism(publicData);
  let derived: Handle;
  try {
    derived = await pool.run(
      session,
      'C_DeriveKey',
      library.C_DeriveKeyAsync(session.handle, mechanism, privateKey, sharedSecretTemplate(size)),
      [publicData],
    );
  } catch (error) {
    if (trusted) explainRefusal(library, session.handle, resolved, error);
    throw error;
  }
  try {
    const [value] = library.C_GetAttributeValue(session.handle, derived, [{ type: CKA.VALUE }]);
    const secret = new Uint8Array(value!.value);
    value!.value.fill(0);
    return secret;
  } finally {
    try {
      library.C_DestroyObject(session.handle, derived);
    } catch {
      // a session object: it goes with its session anyway
    }
  }
}
