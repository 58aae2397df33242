import { randomBytes } from 'node:crypto';
import type { KeyPair } from 'pkcs11js';
import type { ProbeContext } from './capability-probe.js';
import { CKA, CKK, CKM, CKO } from './ck.js';
import { sharedSecretTemplate } from './key-templates.js';
import { aesGcmMechanism, ecdhMechanism, GCM_TAG_BYTES, rsaOaepMechanism } from './mechanisms.js';
import { PROBE_LABEL, type ProbeKey, type ProbeKeys } from './probe-keys.js';
import { refusal } from './probe-refusal.js';
import type { Handle, Pkcs11Library } from './shared-module.js';

/**
 * An RSA-OAEP round trip with the probe's RSA pair and `hash`: undefined when it works, else why not.
 *
 * @example
 * ```ts
 * if (oaepRoundTrip(library, session, pair, 'sha256') === undefined) algorithms.push('RSAES_OAEP_SHA_256');
 * ```
 */
export function oaepRoundTrip(
  library: Pkcs11Library,
  session: Handle,
  pair: KeyPair,
  hash: 'sha1' | 'sha256',
): string | undefined {
  const secret = randomBytes(16);
  try {
    library.C_EncryptInit(session, rsaOaepMechanism(hash), pair.publicKey);
    const ciphertext = Buffer.from(library.C_Encrypt(session, secret, Buffer.alloc(1024)));
    library.C_DecryptInit(session, rsaOaepMechanism(hash), pair.privateKey);
    const plaintext = library.C_Decrypt(session, ciphertext, Buffer.alloc(1024));
    return plaintext.equals(secret) ? undefined : 'a round trip gave different bytes';
  } catch (error) {
    return refusal(error);
  }
}

/**
 * An ECDH derivation with the null KDF and the probe's EC pair, reading the shared secret back:
 * undefined when it works, else why not.
 *
 * @example
 * ```ts
 * const failure = await ecdhRoundTrip(context, made.pair, keys);
 * ```
 */
export async function ecdhRoundTrip(
  context: ProbeContext,
  pair: KeyPair,
  maker: ProbeKeys,
): Promise<string | undefined> {
  const { library, session } = context;
  try {
    const [point] = library.C_GetAttributeValue(session, pair.publicKey, [{ type: CKA.EC_POINT }]);
    const raw = point!.value.length === 67 ? point!.value.subarray(2) : point!.value;
    const derived = await context.run(
      'C_DeriveKey',
      library.C_DeriveKeyAsync(session, ecdhMechanism(raw), pair.privateKey, sharedSecretTemplate(32)),
    );
    maker.keep(derived);
    const [value] = library.C_GetAttributeValue(session, derived, [{ type: CKA.VALUE }]);
    return value?.value.length === 32 ? undefined : 'the shared secret could not be read';
  } catch (error) {
    return refusal(error);
  }
}

/**
 * A GCM round trip with the probe's AES key (or the refusal that kept the probe from making one):
 * undefined when it works, else why not.
 *
 * @example
 * ```ts
 * const failure = await gcmRoundTrip(context, await keys.make('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'), keys);
 * ```
 */
export async function gcmRoundTrip(
  context: ProbeContext,
  made: ProbeKey | string | undefined,
  maker: ProbeKeys,
): Promise<string | undefined> {
  const { library, session } = context;
  let key: Handle;
  if (made !== undefined && typeof made !== 'string' && made.kind === 'secret') key = made.handle;
  else {
    // The token will not make a keyswitch AES key; a plain session key still tells whether GCM works
    // with keys it already holds.
    try {
      key = await context.run(
        'C_GenerateKey',
        library.C_GenerateKeyAsync(session, { mechanism: CKM.AES_KEY_GEN }, [
          { type: CKA.CLASS, value: CKO.SECRET_KEY },
          { type: CKA.KEY_TYPE, value: CKK.AES },
          { type: CKA.VALUE_LEN, value: 32 },
          { type: CKA.TOKEN, value: !maker.sessionObjects },
          { type: CKA.LABEL, value: PROBE_LABEL },
          { type: CKA.ENCRYPT, value: true },
          { type: CKA.DECRYPT, value: true },
        ]),
      );
      maker.keep(key);
    } catch (error) {
      return refusal(error);
    }
  }
  try {
    const iv = randomBytes(12);
    const aad = Buffer.from('keyswitch probe');
    const plaintext = randomBytes(20);
    library.C_EncryptInit(session, aesGcmMechanism(iv, aad), key);
    const sealed = Buffer.from(
      library.C_Encrypt(session, plaintext, Buffer.alloc(plaintext.length + GCM_TAG_BYTES + 16)),
    );
    library.C_DecryptInit(session, aesGcmMechanism(iv, aad), key);
    const opened = library.C_Decrypt(session, sealed, Buffer.alloc(sealed.length));
    return opened.equals(plaintext) ? undefined : 'a round trip gave different bytes';
  } catch (error) {
    return refusal(error);
  }
}
