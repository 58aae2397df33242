import type { Handle, Pkcs11Library } from './shared-module.js';

/** Session states (CKS_*) that mean the normal user is logged in. */
const USER_STATES: ReadonlySet<number> = new Set([1, 3]);

/**
 * Whether a session is logged in as the normal user (false when the token says the session is gone).
 *
 * @example
 * ```ts
 * if (!isUserSession(library, session)) library.C_Login(session, CKU_USER, pin);
 * ```
 */
export function isUserSession(library: Pkcs11Library, session: Handle): boolean {
  try {
    return USER_STATES.has(library.C_GetSessionInfo(session).state);
  } catch {
    return false;
  }
}
