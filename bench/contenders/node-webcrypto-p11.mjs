/**
 * node-webcrypto-p11 (WebCrypto over graphene-pk11): a `Crypto` per call in flight (a Crypto holds one
 * session), `crypto.subtle.sign` with the WebCrypto algorithm, keys found in its key storage by label. The
 * module is initialized once with CKF_OS_LOCKING_OK, which SoftHSM2 needs for concurrent calls, and each
 * Crypto is built on a session of its own.
 */
import { createRequire } from 'node:module';
import { OPERATIONS, tokenLabel } from './common.mjs';

const require = createRequire(import.meta.url);

/** The WebCrypto algorithm each key is used with. */
const WEBCRYPTO_ALGORITHMS = {
  'ecdsa-p256-sign': { name: 'ECDSA', namedCurve: 'P-256' },
  'rsa-2048-pss-sign': { name: 'RSA-PSS', hash: 'SHA-256' },
};

/** @param {{ env: Record<string, string>, sessions: number }} options */
export async function open({ env, sessions }) {
  const { Crypto } = require('node-webcrypto-p11');
  const graphene = require('graphene-pk11');
  const module = graphene.Module.load(env.KEYSWITCH_SOFTHSM2_MODULE, 'SoftHSM2');
  module.initialize({ flags: 2 /* CKF_OS_LOCKING_OK */ });
  const slots = module.getSlots(true);
  let slot;
  for (let index = 0; index < slots.length; index += 1) {
    if (slots.items(index).getToken().label.trim() === tokenLabel(env)) slot = slots.items(index);
  }
  if (slot === undefined) throw new Error(`no token labelled ${tokenLabel(env)}`);
  const flags = graphene.SessionFlag.RW_SESSION | graphene.SessionFlag.SERIAL_SESSION;
  const free = [];
  for (let index = 0; index < sessions; index += 1) {
    const crypto = new Crypto({ session: slot.open(flags), name: 'SoftHSM2' });
    crypto.login(env.KEYSWITCH_SOFTHSM2_PIN);
    const keys = {};
    for (const id of await crypto.keyStorage.keys()) {
      if (!id.startsWith('private-')) continue;
      const found = await crypto.keyStorage.getItem(id);
      for (const operation of Object.keys(WEBCRYPTO_ALGORITHMS)) {
        if (found.algorithm.label === OPERATIONS[operation].key) {
          // The storage guesses RSASSA-PKCS1-v1_5 for an RSA key: ask for it as the algorithm it signs with.
          keys[operation] = await crypto.keyStorage.getItem(id, WEBCRYPTO_ALGORITHMS[operation], false, [
            'sign',
          ]);
        }
      }
    }
    for (const operation of Object.keys(WEBCRYPTO_ALGORITHMS)) {
      if (!keys[operation]) throw new Error(`no private key labelled ${OPERATIONS[operation].key}`);
    }
    free.push({ crypto, keys });
  }
  const all = free.slice();
  const withCrypto = async (call) => {
    const entry = free.pop();
    if (entry === undefined) throw new Error('more calls in flight than Crypto objects');
    try {
      return new Uint8Array(await call(entry));
    } finally {
      free.push(entry);
    }
  };
  return {
    name: 'node-webcrypto-p11',
    version: require('node-webcrypto-p11/package.json').version,
    operations: {
      'ecdsa-p256-sign': (message) =>
        withCrypto(({ crypto, keys }) =>
          crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys['ecdsa-p256-sign'], message),
        ),
      'rsa-2048-pss-sign': (message) =>
        withCrypto(({ crypto, keys }) =>
          crypto.subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, keys['rsa-2048-pss-sign'], message),
        ),
    },
    close: async () => {
      for (const { crypto } of all) crypto.close();
      module.finalize();
    },
  };
}
