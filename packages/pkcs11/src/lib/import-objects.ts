import { KeyswitchError } from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { CKA, CKO } from './ck.js';
import { ckrName, pkcs11Error } from './ckr.js';
import { type KeyImport, wipeKeyImport } from './import-templates.js';
import { assertLabelFree, narrowUsages, templateRefused } from './key-creation.js';
import { readKey } from './key-lookup.js';
import { findObjects } from './object-search.js';
import type { ResolvedKey } from './resolved-key.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';

/**
 * What the token holds of an import whose outcome was not known: nothing, the whole key (adopt it), or a
 * part of a pair, which has just been removed.
 */
export type ImportSettlement =
  | { readonly state: 'none' }
  | { readonly state: 'complete'; readonly key: ResolvedKey }
  | { readonly state: 'removed' };

/**
 * Writes an imported key's objects with C_CreateObject on a worker thread (the label must be free, as for
 * a created key), clears the usage attributes the template could not set false, and reads the key back.
 * A pair's private key is written first; when its public key then fails, the private key is destroyed
 * before the failure is reported, so no half of a pair is left behind. The key material in the templates
 * is wiped whatever happens.
 *
 * @throws KEY_EXISTS for a label in use; UNSUPPORTED_ALGORITHM when the token refuses the template;
 * UNAVAILABLE (not retryable) naming the CKA_ID when half a pair was written and could not be removed
 * @example
 * ```ts
 * const key = writeImportedKey(context, session, keyImport, 'acs-signing');
 * ```
 */
export function writeImportedKey(
  context: TokenContext,
  session: Handle,
  keyImport: KeyImport,
  label: string | undefined,
): ResolvedKey {
  try {
    if (label !== undefined) assertLabelFree(context, session, label);
    if (keyImport.kind !== 'pair') {
      const secret = keyImport.kind === 'secret';
      const handle = create(context, session, secret ? keyImport.template : keyImport.publicTemplate);
      return readBack(context, session, keyImport, [handle], () => {
        narrowUsages(context, session, handle, secret ? keyImport.narrow.primary : keyImport.narrow.public);
        return readKey(context, session, keyImport.kind, handle);
      });
    }
    const privateKey = create(context, session, keyImport.privateTemplate);
    let publicKey: Handle;
    try {
      publicKey = create(context, session, keyImport.publicTemplate);
    } catch (error) {
      throw removeWritten(
        context,
        session,
        [privateKey],
        keyImport.id,
        error,
        'writing the public half of the key',
      );
    }
    return readBack(context, session, keyImport, [privateKey, publicKey], () => {
      narrowUsages(context, session, privateKey, keyImport.narrow.primary);
      narrowUsages(context, session, publicKey, keyImport.narrow.public);
      return readKey(context, session, 'pair', privateKey, publicKey);
    });
  } finally {
    wipeKeyImport(keyImport);
  }
}

/**
 * Reads a key just written back; when that fails, or the token reads it back as another spec (a token that
 * does not compute CKA_VALUE_LEN for a secret key written with C_CreateObject), its objects are destroyed
 * and the import refused.
 */
function readBack(
  context: TokenContext,
  session: Handle,
  keyImport: KeyImport,
  written: readonly Handle[],
  read: () => ResolvedKey,
): ResolvedKey {
  let key: ResolvedKey;
  try {
    key = read();
  } catch (error) {
    throw removeWritten(context, session, written, keyImport.id, error, 'reading the written key back');
  }
  if (key.spec !== keyImport.spec) {
    const wrong = new KeyswitchError(
      'UNSUPPORTED_ALGORITHM',
      `the token reads an imported ${keyImport.spec} key back as ${key.spec}`,
    );
    throw removeWritten(context, session, written, keyImport.id, wrong, 'checking the written key');
  }
  return key;
}

/**
 * After an import whose outcome is not known (the session or token was lost while it ran): finds the
 * objects with the import's unique CKA_ID. The whole key is adopted; part of a pair is destroyed.
 *
 * @throws UNAVAILABLE (not retryable) naming the CKA_ID when a part could not be destroyed
 * @example
 * ```ts
 * const settled = settleImport(context, session, id, 'pair');
 * ```
 */
export function settleImport(
  context: TokenContext,
  session: Handle,
  id: Buffer,
  kind: KeyImport['kind'],
): ImportSettlement {
  const { library } = context;
  const found = (objectClass: number) =>
    findObjects(library, session, [
      { type: CKA.CLASS, value: objectClass },
      { type: CKA.ID, value: id },
    ]);
  if (kind === 'secret') {
    const [secret] = found(CKO.SECRET_KEY);
    return secret === undefined
      ? { state: 'none' }
      : { state: 'complete', key: readKey(context, session, 'secret', secret) };
  }
  const [publicKey] = found(CKO.PUBLIC_KEY);
  if (kind === 'public') {
    return publicKey === undefined
      ? { state: 'none' }
      : { state: 'complete', key: readKey(context, session, 'public', publicKey) };
  }
  const [privateKey] = found(CKO.PRIVATE_KEY);
  if (privateKey !== undefined && publicKey !== undefined) {
    return { state: 'complete', key: readKey(context, session, 'pair', privateKey, publicKey) };
  }
  const part = privateKey ?? publicKey;
  if (part === undefined) return { state: 'none' };
  try {
    library.C_DestroyObject(session, part);
  } catch (error) {
    throw notRemoved(id, error, error);
  }
  return { state: 'removed' };
}

function create(context: TokenContext, session: Handle, template: Template): Handle {
  try {
    return context.library.C_CreateObject(session, template);
  } catch (error) {
    throw templateRefused(error);
  }
}

/** Destroys the objects written before `step` failed; the error to report either way. */
function removeWritten(
  context: TokenContext,
  session: Handle,
  written: readonly Handle[],
  id: Buffer,
  failure: unknown,
  step: string,
): KeyswitchError {
  try {
    for (const handle of written) context.library.C_DestroyObject(session, handle);
  } catch (error) {
    return notRemoved(id, failure, error);
  }
  const mapped = pkcs11Error(failure, 'C_CreateObject');
  return new KeyswitchError(
    mapped.code,
    `${mapped.detail}: ${step} failed, so what was written was removed; nothing was imported`,
    { cause: failure, retryable: mapped.retryable },
  );
}

function notRemoved(id: Buffer, failure: unknown, removal: unknown): KeyswitchError {
  return new KeyswitchError(
    'UNAVAILABLE',
    `importing the key failed (${ckrName(failure) ?? 'error'}) after part of it was written, and that part could not be removed (${ckrName(removal) ?? 'error'}): ` +
      `remove the objects with CKA_ID ${id.toString('hex')} (pkcs11-tool --delete-object --id ${id.toString('hex')}) before importing again`,
    { cause: failure, retryable: false },
  );
}
