/**
 * graphene-pk11 (an object layer over pkcs11js): one session per call in flight, `createSign(...).once`
 * (pkcs11js's asynchronous C_Sign) over a digest computed in the process, as graphene's users do on a
 * token without CKM_ECDSA_SHA256. The module is initialized with CKF_OS_LOCKING_OK, which SoftHSM2 needs
 * for concurrent calls.
 */
import { createRequire } from 'node:module';
import { OPERATIONS, sessionLender, sha256, tokenLabel } from './common.mjs';

const require = createRequire(import.meta.url);

/** @param {{ env: Record<string, string>, sessions: number }} options */
export async function open({ env, sessions }) {
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
  const opened = Array.from({ length: sessions }, () => slot.open(flags));
  opened[0].login(env.KEYSWITCH_SOFTHSM2_PIN, graphene.UserType.USER);
  const find = (label) => {
    const found = opened[0].find({ class: graphene.ObjectClass.PRIVATE_KEY, label });
    if (found.length === 0) throw new Error(`no private key labelled ${label}`);
    return found.items(0);
  };
  const ecdsaKey = find(OPERATIONS['ecdsa-p256-sign'].key);
  const pssKey = find(OPERATIONS['rsa-2048-pss-sign'].key);
  const pss = {
    name: 'RSA_PKCS_PSS',
    params: new graphene.RsaPssParams(graphene.MechanismEnum.SHA256, graphene.RsaMgf.MGF1_SHA256, 32),
  };
  const withSession = sessionLender(opened);
  const sign = (algorithm, key, data) =>
    withSession(
      (session) =>
        new Promise((resolve, reject) => {
          session
            .createSign(algorithm, key)
            .once(data, (error, signature) => (error ? reject(error) : resolve(signature)));
        }),
    );
  return {
    name: 'graphene-pk11',
    version: require('graphene-pk11/package.json').version,
    operations: {
      'ecdsa-p256-sign': (message) => sign('ECDSA', ecdsaKey, sha256(message)),
      'rsa-2048-pss-sign': (message) => sign(pss, pssKey, sha256(message)),
    },
    close: async () => {
      for (const session of opened) session.close();
      module.finalize();
    },
  };
}
