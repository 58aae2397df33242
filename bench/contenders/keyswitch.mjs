/**
 * keyswitch as an application uses it: `Keyswitch.fromConfig` (the backend package loaded by the
 * configuration's `type`), keys by RFC 7512 URI, a session pool as large as the calls in flight, the
 * handles (`signer(name).sign(message, { format: 'P1363' })`, the format a JOSE application asks for;
 * `decrypter`, `mac`, `keyAgreement`).
 */
import { OPERATIONS, tokenLabel } from './common.mjs';

/** The configuration the contender and the start-up measurement load. */
export function configuration(env, sessions) {
  return {
    environment: 'test',
    providers: {
      hsm: {
        type: 'pkcs11',
        profile: 'softhsm',
        module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
        token: { label: tokenLabel(env) },
        pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
        sessions,
      },
    },
    keys: Object.fromEntries(
      Object.entries(OPERATIONS).map(([operation, key]) => [
        operation,
        {
          provider: 'hsm',
          ref: `pkcs11:object=${key.key};type=${key.object}`,
          spec: key.spec,
          ...(key.algorithm ? { algorithm: key.algorithm } : { usage: key.usage }),
        },
      ]),
    ),
  };
}

/** @param {{ env: Record<string, string>, sessions: number }} options */
export async function open({ env, sessions }) {
  const { Keyswitch } = await import('@keyswitch/core');
  const ks = await Keyswitch.fromConfig(configuration(env, sessions), { env });
  const ecdsa = ks.signer('ecdsa-p256-sign');
  const pss = ks.signer('rsa-2048-pss-sign');
  const decrypter = ks.decrypter('rsa-2048-oaep-decrypt');
  const mac = ks.mac('hmac-sha-256');
  const agreement = ks.keyAgreement('ecdh-p256-derive');
  return {
    name: 'keyswitch',
    operations: {
      'ecdsa-p256-sign': (message) => ecdsa.sign(message, { format: 'P1363' }),
      'rsa-2048-pss-sign': (message) => pss.sign(message),
      'rsa-2048-oaep-decrypt': (ciphertext) => decrypter.decrypt(ciphertext),
      'hmac-sha-256': (message) => mac.generate(message),
      'ecdh-p256-derive': (peerSpki) => agreement.deriveSharedSecret(peerSpki),
    },
    close: () => ks.close(),
  };
}

/**
 * Creates the keys of the head-to-head on the token, through keyswitch's provider (run once, in a
 * process of its own, before the contenders start). Returns the public keys (PEM), by operation.
 *
 * @param {{ env: Record<string, string> }} options
 */
export async function createKeys({ env }) {
  const { Keyswitch } = await import('@keyswitch/core');
  const ks = await Keyswitch.fromConfig(configuration(env, 1), { env });
  try {
    const hsm = await ks.provider('hsm');
    for (const key of Object.values(OPERATIONS)) {
      await hsm.createKey({ spec: key.spec, usage: key.usage, label: key.key });
    }
    const publicKeys = {
      'ecdsa-p256-sign': (await ks.signer('ecdsa-p256-sign').publicKey()).pem(),
      'rsa-2048-pss-sign': (await ks.signer('rsa-2048-pss-sign').publicKey()).pem(),
      'rsa-2048-oaep-decrypt': (await ks.decrypter('rsa-2048-oaep-decrypt').publicKey()).pem(),
      'ecdh-p256-derive': (await ks.keyAgreement('ecdh-p256-derive').publicKey()).pem(),
    };
    return publicKeys;
  } finally {
    await ks.close();
  }
}
