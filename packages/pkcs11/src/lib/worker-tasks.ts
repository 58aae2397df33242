import { KeyswitchError } from '@keyswitch/core';
import { type Pkcs11Profile, pkcs11Profile } from '../profiles.js';
import { probeCapabilities } from './capability-probe.js';
import { CKF, CKU_USER } from './ck.js';
import { ckrName, pkcs11Error } from './ckr.js';
import { runCrypto } from './crypto-dispatch.js';
import { settleImport, writeImportedKey } from './import-objects.js';
import { deriveSharedSecret } from './key-agreement.js';
import { enablingAttributes } from './key-attributes.js';
import { assertLabelFree, generateKey } from './key-creation.js';
import { listKeyObjects, lookupKey, readKey } from './key-lookup.js';
import { PRIVATE_STATE_ATTRIBUTES, SECRET_STATE_ATTRIBUTES, setFlags, statefulHandle } from './key-state.js';
import { moduleUsers, withLifecycleLock } from './module-lifecycle.js';
import { readFlagsPresent } from './object-search.js';
import { readPublicKey } from './public-key.js';
import type { ResolvedKey } from './resolved-key.js';
import { isUserSession } from './session-state.js';
import type { Handle, Pkcs11Library } from './shared-module.js';
import { findToken } from './token.js';
import type { TokenContext } from './token-context.js';
import type { Task, TaskResults } from './worker-protocol.js';

const profiles = new Map<string, Pkcs11Profile>();

/**
 * Runs one task on a worker thread's library: synchronously, except the capability probe.
 *
 * @example
 * ```ts
 * const result = runTask(library, setup, { kind: 'random', session, length: 16 });
 * ```
 */
export function runTask(
  library: Pkcs11Library,
  setup: {
    readonly module: string;
    readonly parameters: string | undefined;
    readonly lifecycle: SharedArrayBuffer;
  },
  task: Task,
): TaskResults[Task['kind']] | Promise<TaskResults[Task['kind']]> {
  switch (task.kind) {
    case 'crypto':
      return runCrypto(library, task);
    case 'random':
      return library.C_GenerateRandom(task.session, Buffer.alloc(task.length));
    case 'finalize':
      return withLifecycleLock(setup.lifecycle, () => {
        // A provider that joined since the last one left has found the module initialized: keep it so.
        if (!task.ownLoading && moduleUsers(setup.lifecycle) > 0) return { finalized: false };
        library.C_Finalize();
        return { finalized: true };
      });
    case 'reinitialize':
      // The module lost its link to the token for good (a network HSM's client after its server
      // restarted answers CKR_DEVICE_ERROR until it is initialized again).
      return withLifecycleLock(setup.lifecycle, () => {
        try {
          library.C_Finalize();
        } catch {
          // not initialized, or already broken: initializing again is what matters
        }
        return initializeModule(library, setup.module, setup.parameters);
      });
    case 'findToken':
      return findToken(library, task.selector);
    case 'tokenPresent':
      try {
        library.C_GetTokenInfo(task.slot);
        return true;
      } catch {
        return false;
      }
    case 'openSession':
      return openSession(library, task.slot, task.pin);
    case 'closeSession':
      try {
        library.C_CloseSession(task.session);
      } catch {
        // already gone (closed under us, token removed): nothing to release
      }
      return undefined;
    case 'loggedIn':
      return isUserSession(library, task.session);
    default:
      return runTokenTask(library, task);
  }
}

type TokenTask = Extract<Task, { token: unknown }>;

function runTokenTask(
  library: Pkcs11Library,
  task: TokenTask,
): TaskResults[TokenTask['kind']] | Promise<TaskResults[TokenTask['kind']]> {
  const context: TokenContext = {
    library,
    token: task.token,
    profile: profileNamed(task.profile),
    generation: task.generation,
  };
  const session = task.session;
  switch (task.kind) {
    case 'probe':
      return probeCapabilities({
        library,
        slot: task.token.slot,
        tokenFlags: task.token.flags,
        tokenLabel: task.token.label,
        session,
        profile: context.profile,
        run: (_what, call) => call,
      });
    case 'lookup':
      return lookupKey(context, session, task.uri, task.ref);
    case 'list':
      return listKeys(context, session, task.offset, task.limit);
    case 'createKey':
      if (task.label !== undefined) assertLabelFree(context, session, task.label);
      return generateKey(context, session, task.keyGeneration);
    case 'importKey':
      return writeImportedKey(context, session, task.keyImport, task.label);
    case 'settleImport':
      return settleImport(context, session, task.id, task.importKind);
    case 'setState':
      setKeyState(library, session, task.key, task.enable);
      return undefined;
    case 'publicKey':
      return readPublicKey(context, session, task.key);
    case 'derive':
      return deriveSharedSecret(context, session, task.key, task.point);
  }
}

function profileNamed(name: Pkcs11Profile['name']): Pkcs11Profile {
  let profile = profiles.get(name);
  if (profile === undefined) {
    profile = pkcs11Profile(name);
    profiles.set(name, profile);
  }
  return profile;
}

/** Keys from `offset` on, up to `limit` of them; keys keyswitch has no key spec for are skipped. */
function listKeys(
  context: TokenContext,
  session: Handle,
  offset: number,
  limit: number,
): TaskResults['list'] {
  const entries = listKeyObjects(context, session);
  const keys: ResolvedKey[] = [];
  let next = offset;
  // Objects keyswitch has no key spec for (RSA-1024, DES, certificates' keys on other curves) are skipped.
  for (; next < entries.length && keys.length < limit; next += 1) {
    const entry = entries[next]!;
    try {
      keys.push(readKey(context, session, entry.kind, entry.handle));
    } catch (error) {
      if (!(error instanceof KeyswitchError && error.code === 'UNSUPPORTED_ALGORITHM')) throw error;
    }
  }
  return { keys, next, total: entries.length };
}

/** enableKey sets the usage attributes of each of the key's usages; disableKey clears those set. */
function setKeyState(library: Pkcs11Library, session: Handle, key: ResolvedKey, enable: boolean): void {
  const handle = statefulHandle(key);
  if (enable) {
    const attributes = new Set(key.usages.flatMap((usage) => enablingAttributes(key.spec, usage)));
    setFlags(library, session, handle, [...attributes], true);
    return;
  }
  const attributes = key.kind === 'secret' ? SECRET_STATE_ATTRIBUTES : PRIVATE_STATE_ATTRIBUTES;
  const current = readFlagsPresent(library, session, handle, attributes);
  setFlags(
    library,
    session,
    handle,
    attributes.filter((attribute) => current.get(attribute) === true),
    false,
  );
}

/**
 * Opens a read-write session and logs the normal user in, unless the token already is (a login belongs
 * to the process and token). The session is closed again when the login fails.
 */
function openSession(library: Pkcs11Library, slot: Handle, pin: string): TaskResults['openSession'] {
  let handle: Handle;
  try {
    handle = library.C_OpenSession(slot, CKF.SERIAL_SESSION | CKF.RW_SESSION);
  } catch (error) {
    const name = ckrName(error);
    throw pkcs11Error(
      error,
      'C_OpenSession',
      name === 'CKR_SESSION_COUNT'
        ? 'THROTTLED'
        : name === 'CKR_TOKEN_WRITE_PROTECTED'
          ? 'ACCESS_DENIED'
          : 'UNAVAILABLE',
    );
  }
  let alreadyLoggedIn = isUserSession(library, handle);
  if (!alreadyLoggedIn) {
    try {
      library.C_Login(handle, CKU_USER, pin);
    } catch (error) {
      if (ckrName(error) === 'CKR_USER_ALREADY_LOGGED_IN') {
        alreadyLoggedIn = true;
      } else {
        try {
          library.C_CloseSession(handle);
        } catch {
          // the session is unusable either way
        }
        throw pkcs11Error(error, 'C_Login');
      }
    }
  }
  return { handle, alreadyLoggedIn };
}

/**
 * C_Initialize with CKF_OS_LOCKING_OK (without it SoftHSM2 turns its locking off and concurrent calls
 * corrupt its heap). pkcs11js 2.1.7 copies libraryParameters one character short (it drops the last one):
 * a space is added, which NSS's parameter parser ignores. Most modules keep one state per process (the
 * first thread initializes it, the others find it initialized); some (p11-kit's client) give each
 * loading its own state, which each thread initializes.
 *
 * @throws CONFIG_INVALID when the module refuses the parameters; UNAVAILABLE otherwise
 * @example
 * ```ts
 * const { ownsInitialization } = initializeModule(library, '/usr/lib/softhsm/libsofthsm2.so', undefined);
 * ```
 */
export function initializeModule(
  library: Pkcs11Library,
  modulePath: string,
  parameters: string | undefined,
): { readonly ownsInitialization: boolean } {
  try {
    library.C_Initialize(
      parameters === undefined
        ? { flags: CKF.OS_LOCKING_OK }
        : { flags: CKF.OS_LOCKING_OK, libraryParameters: `${parameters} ` },
    );
    return { ownsInitialization: true };
  } catch (error) {
    const name = ckrName(error);
    // Another component of this process initialized it: share it, never finalize it.
    if (name === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return { ownsInitialization: false };
    if (name === 'CKR_ARGUMENTS_BAD' && parameters === undefined) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `the PKCS#11 module ${modulePath} refused C_Initialize without parameters (CKR_ARGUMENTS_BAD); ` +
          `NSS softokn needs "libraryParameters": "configdir='sql:DIR' certPrefix='' keyPrefix='' secmod='secmod.db' flags="`,
        { cause: error },
      );
    }
    if (name === 'CKR_ARGUMENTS_BAD' || name === 'CKR_NSS_CERTDB_FAILED' || name === 'CKR_NSS_KEYDB_FAILED') {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `the PKCS#11 module ${modulePath} refused its libraryParameters (${name})`,
        {
          cause: error,
        },
      );
    }
    throw pkcs11Error(error, `C_Initialize of ${modulePath}`, 'UNAVAILABLE');
  }
}
