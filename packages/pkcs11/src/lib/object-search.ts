import { KeyswitchError } from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { CKA, CKO } from './ck.js';
import { ckrName } from './ckr.js';
import { readBoolean } from './key-attributes.js';
import type { Handle, Pkcs11Library } from './shared-module.js';

const FIND_BATCH = 64;

/**
 * C_FindObjects over a template: up to `max` handles (all of them when absent).
 *
 * @example
 * ```ts
 * const [handle] = findObjects(library, session, [{ type: CKA.LABEL, value: 'acs-signing' }], 2);
 * ```
 */
export function findObjects(
  library: Pkcs11Library,
  session: Handle,
  template: Template,
  max = Number.POSITIVE_INFINITY,
): Handle[] {
  library.C_FindObjectsInit(session, template);
  try {
    const found: Handle[] = [];
    while (found.length < max) {
      const batch = library.C_FindObjects(session, Math.min(FIND_BATCH, max - found.length));
      found.push(...batch);
      if (batch.length === 0) break;
    }
    return found;
  } finally {
    library.C_FindObjectsFinal(session);
  }
}

/**
 * The other half of a key pair (`objectClass`: CKO_PUBLIC_KEY or CKO_PRIVATE_KEY): same CKA_ID, or same
 * label when there is no id. Two objects with the id are narrowed by the label; still more than one is
 * an error, never a guess (another key's public half would verify or encrypt in this key's name).
 *
 * @throws AMBIGUOUS_KEY when more than one object matches
 * @example
 * ```ts
 * const publicKey = findCompanion(library, 'keyswitch', session, CKO.PUBLIC_KEY, id, label);
 * ```
 */
export function findCompanion(
  library: Pkcs11Library,
  tokenLabel: string,
  session: Handle,
  objectClass: number,
  id: Buffer,
  label: string | undefined,
): Handle | undefined {
  const classTemplate = { type: CKA.CLASS, value: objectClass };
  const byLabel = label === undefined ? [] : [{ type: CKA.LABEL, value: label }];
  let found =
    id.length > 0
      ? findObjects(library, session, [classTemplate, { type: CKA.ID, value: id }], 2)
      : findObjects(library, session, [classTemplate, ...byLabel], 2);
  if (found.length > 1 && id.length > 0 && label !== undefined) {
    found = findObjects(library, session, [classTemplate, { type: CKA.ID, value: id }, ...byLabel], 2);
  }
  if (found.length > 1) {
    const kind = objectClass === CKO.PUBLIC_KEY ? 'public' : 'private';
    throw new KeyswitchError(
      'AMBIGUOUS_KEY',
      `more than one ${kind} key on token "${tokenLabel}" has this key's ` +
        `${id.length > 0 ? `CKA_ID ${id.toString('hex')}` : 'label'}${id.length > 0 && label !== undefined ? ' and label' : ''}, ` +
        `so its ${kind} half cannot be told apart; give the keys distinct CKA_IDs`,
    );
  }
  return found[0];
}

/**
 * Reads boolean attributes of an object in one C_GetAttributeValue.
 *
 * @example
 * ```ts
 * const flags = readFlags(library, session, handle, [CKA.SIGN, CKA.DECRYPT]);
 * ```
 */
export function readFlags(
  library: Pkcs11Library,
  session: Handle,
  handle: Handle,
  attributes: readonly number[],
): Map<number, boolean> {
  const values = library.C_GetAttributeValue(
    session,
    handle,
    attributes.map((type) => ({ type })),
  );
  return new Map(attributes.map((type, index) => [type, readBoolean(values[index]?.value)]));
}

/**
 * Like {@link readFlags}, but skips attributes the object does not have (keys imported by other tools).
 *
 * @example
 * ```ts
 * const present = readFlagsPresent(library, session, handle, [CKA.SIGN, CKA.SIGN_RECOVER]);
 * ```
 */
export function readFlagsPresent(
  library: Pkcs11Library,
  session: Handle,
  handle: Handle,
  attributes: readonly number[],
): Map<number, boolean> {
  const flags = new Map<number, boolean>();
  for (const type of attributes) {
    try {
      flags.set(type, readBoolean(library.C_GetAttributeValue(session, handle, [{ type }])[0]?.value));
    } catch (error) {
      if (ckrName(error) !== 'CKR_ATTRIBUTE_TYPE_INVALID') throw error;
    }
  }
  return flags;
}
