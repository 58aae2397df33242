import { KeyswitchError } from '@keyswitch/core';
import { isKeyFunctionNotPermitted } from './ckr.js';
import { readFlags } from './object-search.js';
import type { Handle, Pkcs11Library } from './shared-module.js';
import type { StateCheck, Task, TaskResults } from './worker-protocol.js';

type CryptoTask = Extract<Task, { kind: 'crypto' }>;

/**
 * Runs one cryptographic call, *Init included, synchronously (on a worker thread): the one dispatch every
 * sign, verify, encrypt, decrypt and MAC goes through.
 *
 * @throws KEY_DISABLED when the key's state check fails, or the token refused a key that is disabled;
 * the token's error otherwise
 * @example
 * ```ts
 * const { output } = runCrypto(library, { kind: 'crypto', session, key, call, state, explain, returnIv: false });
 * ```
 */
export function runCrypto(library: Pkcs11Library, task: CryptoTask): TaskResults['crypto'] {
  const { session, key, call } = task;
  if (task.state !== undefined) assertEnabledState(library, session, task.state);
  try {
    let output: Buffer | boolean;
    switch (call.op) {
      case 'sign':
        library.C_SignInit(session, call.mechanism, key);
        output = library.C_Sign(session, call.data, Buffer.alloc(call.outputLength));
        break;
      case 'verify':
        library.C_VerifyInit(session, call.mechanism, key);
        output = library.C_Verify(session, call.data, call.signature);
        break;
      case 'encrypt':
        library.C_EncryptInit(session, call.mechanism, key);
        output = library.C_Encrypt(session, call.data, Buffer.alloc(call.outputLength));
        break;
      case 'decrypt':
        library.C_DecryptInit(session, call.mechanism, key);
        output = library.C_Decrypt(session, call.data, Buffer.alloc(call.outputLength));
        break;
    }
    return { output, iv: task.returnIv ? mechanismIv(call.mechanism) : undefined };
  } catch (error) {
    if (task.explain !== undefined && isKeyFunctionNotPermitted(error)) {
      assertEnabledState(library, session, task.explain);
    }
    throw error;
  }
}

function assertEnabledState(library: Pkcs11Library, session: Handle, state: StateCheck): void {
  const flags = readFlags(library, session, state.handle, state.attributes);
  if (![...flags.values()].some(Boolean)) throw new KeyswitchError('KEY_DISABLED', 'the key is disabled');
}

function mechanismIv(mechanism: { parameter?: unknown }): Buffer | undefined {
  const parameter = mechanism.parameter as { iv?: unknown } | undefined;
  return parameter !== undefined && Buffer.isBuffer(parameter.iv) ? parameter.iv : undefined;
}
