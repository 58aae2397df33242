import {
  algorithmsFor,
  type Capabilities,
  type KeyDescription,
  type KeySpec,
  KeyswitchError,
} from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { formatPkcs11Uri, type Pkcs11ObjectType, type Pkcs11Uri } from '../key-uri.js';
import { CKA, CKK, CKO } from './ck.js';
import { ckrName } from './ckr.js';
import {
  type KeyAttributeFacts,
  keySpecOf,
  PRIVATE_USAGE_ATTRIBUTES,
  PUBLIC_USAGE_ATTRIBUTES,
  readBoolean,
  readUlong,
  SECRET_USAGE_ATTRIBUTES,
  stateAttributes,
  usageOf,
} from './key-attributes.js';
import { findCompanion, findObjects, readFlags } from './object-search.js';
import type { KeyKind, ResolvedKey } from './resolved-key.js';
import { isUserSession } from './session-state.js';
import type { Handle } from './shared-module.js';
import type { TokenContext } from './token-context.js';

/**
 * Finds the objects a URI names.
 *
 * @throws KEY_NOT_FOUND when none match (or the URI names another token); AMBIGUOUS_KEY when more than one
 * does; UNAVAILABLE when the token is gone
 * @example
 * ```ts
 * const key = lookupKey(context, session, parsePkcs11Uri(ref), ref);
 * ```
 */
export function lookupKey(context: TokenContext, session: Handle, uri: Pkcs11Uri, ref: string): ResolvedKey {
  const { library, token } = context;
  const handle = session;
  const mismatch =
    (uri.token !== undefined && uri.token !== token.label) ||
    (uri.serial !== undefined && uri.serial !== token.serial) ||
    (uri.manufacturer !== undefined && uri.manufacturer !== token.manufacturer) ||
    (uri.model !== undefined && uri.model !== token.model) ||
    (uri.slotId !== undefined && uri.slotId !== token.slotId);
  if (mismatch) {
    throw new KeyswitchError(
      'KEY_NOT_FOUND',
      `the reference names another token; this provider uses token "${token.label}"`,
    );
  }
  const match: Template = [];
  if (uri.object !== undefined) match.push({ type: CKA.LABEL, value: uri.object });
  if (uri.id !== undefined) match.push({ type: CKA.ID, value: Buffer.from(uri.id) });
  const search = (objectClass: number) =>
    findObjects(library, handle, [{ type: CKA.CLASS, value: objectClass }, ...match], 2);
  const single = (handles: Handle[], type: Pkcs11ObjectType): Handle | undefined => {
    if (handles.length > 1) {
      throw new KeyswitchError(
        'AMBIGUOUS_KEY',
        `more than one ${type} key matches ${ref}; add id= (or a more specific object=) to the reference`,
      );
    }
    return handles[0];
  };
  if (uri.type === 'private' || uri.type === undefined) {
    const privateKey = single(search(CKO.PRIVATE_KEY), 'private');
    const secretKey = uri.type === undefined ? single(search(CKO.SECRET_KEY), 'secret-key') : undefined;
    if (privateKey !== undefined && secretKey !== undefined) {
      throw new KeyswitchError(
        'AMBIGUOUS_KEY',
        `both a private key and a secret key match ${ref}; add type= to the reference`,
      );
    }
    if (privateKey !== undefined) return readKey(context, handle, 'pair', privateKey);
    if (secretKey !== undefined) return readKey(context, handle, 'secret', secretKey);
  }
  if (uri.type === 'secret-key') {
    const secretKey = single(search(CKO.SECRET_KEY), 'secret-key');
    if (secretKey !== undefined) return readKey(context, handle, 'secret', secretKey);
  }
  if (uri.type === 'public' || uri.type === undefined) {
    const publicKey = single(search(CKO.PUBLIC_KEY), 'public');
    if (publicKey !== undefined) return readKey(context, handle, 'public', publicKey);
  }
  if (!isUserSession(library, session)) {
    // Private objects are invisible to a session that lost its login: that is not "not found".
    throw Object.assign(new Error('CKR_USER_NOT_LOGGED_IN'), { method: 'C_FindObjects' });
  }
  assertTokenPresent(context);
  throw new KeyswitchError('KEY_NOT_FOUND', `no key on token "${token.label}" matches the reference`);
}

/**
 * Reads what keyswitch needs to know about a key from its objects' attributes.
 *
 * @throws UNSUPPORTED_ALGORITHM for a key keyswitch has no key spec for
 * @example
 * ```ts
 * const key = readKey(context, session.handle, 'pair', pair.privateKey, pair.publicKey);
 * ```
 */
export function readKey(
  context: TokenContext,
  session: Handle,
  kind: KeyKind,
  primary: Handle,
  knownPublicKey?: Handle,
): ResolvedKey {
  const library = context.library;
  const usageAttributes =
    kind === 'pair'
      ? PRIVATE_USAGE_ATTRIBUTES
      : kind === 'public'
        ? PUBLIC_USAGE_ATTRIBUTES
        : SECRET_USAGE_ATTRIBUTES;
  const common = library.C_GetAttributeValue(session, primary, [
    { type: CKA.KEY_TYPE },
    { type: CKA.ID },
    { type: CKA.LABEL },
    ...usageAttributes.map((type) => ({ type })),
  ]);
  const keyType = readUlong(common[0]!.value);
  const id = Buffer.from(common[1]!.value);
  const labelBytes = common[2]!.value;
  const label = labelBytes.length > 0 ? labelBytes.toString('utf8') : undefined;
  const primaryFlags = new Map(
    usageAttributes.map((type, index) => [type, readBoolean(common[3 + index]!.value)]),
  );

  let publicKey: Handle | undefined = kind === 'public' ? primary : knownPublicKey;
  let publicFlags: Map<number, boolean> | undefined;
  if (kind === 'pair') {
    const companion: Template | undefined =
      id.length > 0
        ? [{ type: CKA.ID, value: id }]
        : label !== undefined
          ? [{ type: CKA.LABEL, value: label }]
          : undefined;
    if (companion !== undefined && publicKey === undefined) {
      publicKey = findCompanion(library, context.token.label, session, CKO.PUBLIC_KEY, id, label);
    }
    if (publicKey !== undefined)
      publicFlags = readFlags(library, session, publicKey, PUBLIC_USAGE_ATTRIBUTES);
  }

  const facts: KeyAttributeFacts = { keyType };
  const attribute = (handle: Handle | undefined, type: number): Buffer | undefined => {
    if (handle === undefined) return undefined;
    try {
      return library.C_GetAttributeValue(session, handle, [{ type }])[0]?.value;
    } catch (error) {
      if (ckrName(error) === 'CKR_ATTRIBUTE_TYPE_INVALID' || ckrName(error) === 'CKR_ATTRIBUTE_SENSITIVE')
        return undefined;
      throw error;
    }
  };
  let spec: KeySpec;
  if (kind === 'secret') {
    spec = keySpecOf({ ...facts, valueLength: readUlong(attribute(primary, CKA.VALUE_LEN)) });
  } else if (keyType === CKK.RSA) {
    spec = keySpecOf({
      ...facts,
      modulus: attribute(publicKey, CKA.MODULUS) ?? attribute(primary, CKA.MODULUS),
    });
  } else {
    spec = keySpecOf({
      ...facts,
      ecParams: attribute(primary, CKA.EC_PARAMS) ?? attribute(publicKey, CKA.EC_PARAMS),
    });
  }
  const {
    usage,
    usages,
    enabled: primaryEnabled,
  } = usageOf(spec, kind, {
    primary: primaryFlags,
    public: publicFlags,
  });
  let enabled = primaryEnabled;
  let stateKey: Handle | undefined;
  if (kind === 'public' && (id.length > 0 || label !== undefined)) {
    // A public key has no state of its own: its private half, when the token holds it, carries it.
    stateKey = findCompanion(library, context.token.label, session, CKO.PRIVATE_KEY, id, label);
    if (stateKey !== undefined) {
      enabled = [...readFlags(library, session, stateKey, stateAttributes(spec)).values()].some(Boolean);
    }
  }
  return {
    kind,
    primary,
    privateKey: kind === 'pair' ? primary : undefined,
    publicKey,
    id,
    label,
    spec,
    usage,
    usages,
    enabled,
    publicFlags,
    stateKey,
    generation: context.generation,
  };
}

/**
 * A key's description: its canonical reference on this token, ids, spec, usage, algorithms and state.
 *
 * @example
 * ```ts
 * const description = describeResolvedKey('keyswitch', key, await provider.capabilities());
 * ```
 */
export function describeResolvedKey(
  tokenLabel: string,
  key: ResolvedKey,
  capabilities: Capabilities,
): KeyDescription {
  const ref = formatPkcs11Uri({
    token: tokenLabel,
    ...(key.label === undefined ? {} : { object: key.label }),
    ...(key.id.length === 0 ? {} : { id: key.id }),
    type: key.kind === 'pair' ? 'private' : key.kind === 'secret' ? 'secret-key' : 'public',
  });
  return {
    ref,
    keyId: key.id.length > 0 ? key.id.toString('hex') : ref,
    aliases: key.label === undefined ? [] : [key.label],
    spec: key.spec,
    usage: key.usage,
    ...(key.usages.length > 1 ? { usages: key.usages } : {}),
    algorithms: key.usages
      .flatMap((usage) => algorithmsFor(key.spec, usage))
      .filter((algorithm) => capabilities.algorithms.includes(algorithm)),
    state: key.enabled ? 'ENABLED' : 'DISABLED',
  };
}

/**
 * Every key object keyswitch lists: private keys, secret keys, and public keys without a private half;
 * sorted by label, then id.
 *
 * @example
 * ```ts
 * for (const entry of listKeyObjects(context, session.handle)) readKey(context, session.handle, entry.kind, entry.handle);
 * ```
 */
export function listKeyObjects(
  context: TokenContext,
  session: Handle,
): Array<{ kind: KeyKind; handle: Handle }> {
  const library = context.library;
  const read = (handle: Handle) => {
    const [id, label] = library.C_GetAttributeValue(session, handle, [{ type: CKA.ID }, { type: CKA.LABEL }]);
    return { id: id!.value.toString('hex'), label: label!.value.toString('utf8') };
  };
  const entries: Array<{ kind: KeyKind; handle: Handle; id: string; label: string }> = [];
  const privateNames = new Set<string>();
  for (const handle of findObjects(library, session, [{ type: CKA.CLASS, value: CKO.PRIVATE_KEY }])) {
    const names = read(handle);
    privateNames.add(names.id === '' ? `label:${names.label}` : `id:${names.id}`);
    entries.push({ kind: 'pair', handle, ...names });
  }
  for (const handle of findObjects(library, session, [{ type: CKA.CLASS, value: CKO.SECRET_KEY }])) {
    entries.push({ kind: 'secret', handle, ...read(handle) });
  }
  for (const handle of findObjects(library, session, [{ type: CKA.CLASS, value: CKO.PUBLIC_KEY }])) {
    const names = read(handle);
    if (!privateNames.has(names.id === '' ? `label:${names.label}` : `id:${names.id}`)) {
      entries.push({ kind: 'public', handle, ...names });
    }
  }
  return entries
    .filter((entry) => entry.id !== '' || entry.label !== '')
    .sort((a, b) =>
      a.label === b.label ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.label < b.label ? -1 : 1,
    );
}

/**
 * Throws UNAVAILABLE when the token is gone (removed, or its store deleted): keys vanishing and odd
 * failures then mean "cannot reach the token", not "no such key".
 *
 * @throws UNAVAILABLE naming the token
 * @example
 * ```ts
 * assertTokenPresent(context, mappedError);
 * ```
 */
export function assertTokenPresent(context: TokenContext, cause?: unknown): void {
  try {
    context.library.C_GetTokenInfo(context.token.slot);
  } catch (error) {
    throw new KeyswitchError('UNAVAILABLE', `token "${context.token.label}" is no longer present`, {
      cause: cause ?? error,
    });
  }
}
