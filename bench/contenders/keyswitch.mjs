/**
 * keyswitch as an application uses it: `Keyswitch.fromConfig` (the backend package loaded by the
 * configuration's `type`), keys by RFC 7512 URI, a session pool as large as the calls in flight, and
 * `signer(name).sign(message, { format: 'P1363' })` (the format a JOSE application asks for).
 */
import { KEYS, tokenLabel } from './common.mjs';

/** The configuration the contender and the start-up measurement load. */
export function configuration(env, sessions, execution) {
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
        ...(execution ? { execution } : {}),
      },
    },
    keys: Object.fromEntries(
      Object.entries(KEYS).map(([operation, key]) => [
        operation,
        {
          provider: 'hsm',
          ref: `pkcs11:object=${key.label};type=private`,
          spec: key.spec,
          algorithm: key.algorithm,
        },
      ]),
    ),
  };
}

/** @param {{ env: Record<string, string>, sessions: number, execution?: 'async' | 'worker' }} options */
export async function open({ env, sessions, execution }) {
  const { Keyswitch } = await import('@keyswitch/core');
  const ks = await Keyswitch.fromConfig(configuration(env, sessions, execution), { env });
  const ecdsa = ks.signer('ecdsa-p256-sign');
  const pss = ks.signer('rsa-2048-pss-sign');
  return {
    name: execution ? `keyswitch (${execution})` : 'keyswitch',
    sign: {
      'ecdsa-p256-sign': (message) => ecdsa.sign(message, { format: 'P1363' }),
      'rsa-2048-pss-sign': (message) => pss.sign(message),
    },
    close: () => ks.close(),
  };
}

/**
 * Creates the keys of the head-to-head on the token, through keyswitch's provider (run once, in a
 * process of its own, before the contenders start). Returns each key's public key (PEM), by operation.
 *
 * @param {{ env: Record<string, string> }} options
 */
export async function createKeys({ env }) {
  const { Keyswitch } = await import('@keyswitch/core');
  const ks = await Keyswitch.fromConfig(configuration(env, 1), { env });
  try {
    const hsm = await ks.provider('hsm');
    for (const key of Object.values(KEYS)) {
      await hsm.createKey({ spec: key.spec, usage: 'SIGN_VERIFY', label: key.label });
    }
    const publicKeys = {};
    for (const operation of Object.keys(KEYS)) {
      publicKeys[operation] = (await ks.signer(operation).publicKey()).pem();
    }
    return publicKeys;
  } finally {
    await ks.close();
  }
}
