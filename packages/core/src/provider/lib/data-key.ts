import { KeyswitchError } from '../../errors.js';
import type { DataKey, DataKeySpec, EncryptionContext } from '../contract.js';
import type { CipherInput, KeyFacts } from '../hook-inputs.js';
import { unsupported } from './unsupported.js';

/**
 * The data key spec of a request: AES_256 unless it says AES_128.
 *
 * @throws INVALID_INPUT for any other value
 *
 * @example
 * ```ts
 * readDataKeySpec(undefined); // 'AES_256'
 * ```
 */
export function readDataKeySpec(value: unknown): DataKeySpec {
  const dataKeySpec = value ?? 'AES_256';
  if (dataKeySpec !== 'AES_256' && dataKeySpec !== 'AES_128') {
    throw new KeyswitchError(
      'INVALID_INPUT',
      `dataKeySpec must be AES_256 or AES_128, got ${JSON.stringify(dataKeySpec)}`,
    );
  }
  return dataKeySpec;
}

/**
 * The data key handed to the caller: without the plaintext (wiped) unless it was asked for.
 *
 * @throws INTERNAL when the plaintext was asked for and the backend returned none
 *
 * @example
 * ```ts
 * const dataKey = dataKeyResult(await hsm.generateDataKey(key), true, key.ref);
 * ```
 */
export function dataKeyResult(generated: GeneratedDataKey, withPlaintext: boolean, ref: string): DataKey {
  if (!withPlaintext) {
    generated.plaintext?.fill(0);
    return { ciphertextBlob: generated.ciphertextBlob, ref };
  }
  if (generated.plaintext === undefined)
    throw new KeyswitchError('INTERNAL', 'the backend returned no data key');
  return { ciphertextBlob: generated.ciphertextBlob, plaintext: generated.plaintext, ref };
}

/**
 * A data key as a backend returns it: the plaintext may be left out when it was not asked for.
 *
 * @example
 * ```ts
 * const generated: GeneratedDataKey = { ciphertextBlob };
 * ```
 */
export interface GeneratedDataKey {
  plaintext?: Uint8Array;
  ciphertextBlob: Uint8Array;
}

/**
 * The hooks a data key is made with: the backend's own, or random bytes encrypted under the key.
 *
 * @example
 * ```ts
 * const hooks: DataKeyHooks = { generateDataKey: undefined, generateRandom: random, encrypt: seal };
 * ```
 */
export interface DataKeyHooks {
  readonly generateDataKey: ((key: KeyFacts, input: DataKeyInput) => Promise<GeneratedDataKey>) | undefined;
  readonly generateRandom: ((length: number) => Promise<Uint8Array>) | undefined;
  readonly encrypt: ((key: KeyFacts, input: CipherInput) => Promise<Uint8Array>) | undefined;
}

/**
 * What a data key is asked for with.
 *
 * @example
 * ```ts
 * const input: DataKeyInput = { dataKeySpec: 'AES_256', context: { tenant: 't1' }, withPlaintext: true };
 * ```
 */
export interface DataKeyInput {
  dataKeySpec: DataKeySpec;
  context: EncryptionContext | undefined;
  withPlaintext: boolean;
}

/**
 * A new data key under `key`: from the backend's own data key hook, or else random bytes from its
 * generator encrypted with SYMMETRIC_DEFAULT (a blob `decrypt` opens).
 *
 * @throws UNSUPPORTED_OPERATION when the backend has neither
 *
 * @example
 * ```ts
 * const generated = await generateDataKeyWith(hooks, key, { dataKeySpec: 'AES_256', context, withPlaintext: true });
 * ```
 */
export async function generateDataKeyWith(
  hooks: DataKeyHooks,
  key: KeyFacts,
  input: DataKeyInput,
): Promise<GeneratedDataKey> {
  if (hooks.generateDataKey) return hooks.generateDataKey(key, input);
  if (!hooks.generateRandom || !hooks.encrypt) throw unsupported('data keys');
  const plaintext = await hooks.generateRandom(input.dataKeySpec === 'AES_256' ? 32 : 16);
  const ciphertextBlob = await hooks.encrypt(key, {
    algorithm: 'SYMMETRIC_DEFAULT',
    data: plaintext,
    context: input.context,
  });
  return { plaintext, ciphertextBlob };
}
