/**
 * The reference: pkcs11js called directly, one session per call in flight, C_SignInit then C_SignAsync
 * over a digest computed in the process (the mechanisms keyswitch uses on SoftHSM2).
 */
import { createRequire } from 'node:module';
import { KEYS, sessionLender, sha256, tokenLabel } from './common.mjs';

const require = createRequire(import.meta.url);

/** @param {{ env: Record<string, string>, sessions: number }} options */
export async function open({ env, sessions }) {
  const pk = require('pkcs11js');
  const library = new pk.PKCS11();
  library.load(env.KEYSWITCH_SOFTHSM2_MODULE);
  library.C_Initialize({ flags: pk.CKF_OS_LOCKING_OK });
  const slot = library
    .C_GetSlotList(true)
    .find((candidate) => library.C_GetTokenInfo(candidate).label.trim() === tokenLabel(env));
  if (slot === undefined) throw new Error(`no token labelled ${tokenLabel(env)}`);
  const handles = Array.from({ length: sessions }, () =>
    library.C_OpenSession(slot, pk.CKF_RW_SESSION | pk.CKF_SERIAL_SESSION),
  );
  library.C_Login(handles[0], pk.CKU_USER, env.KEYSWITCH_SOFTHSM2_PIN);
  const find = (label) => {
    library.C_FindObjectsInit(handles[0], [
      { type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY },
      { type: pk.CKA_LABEL, value: label },
    ]);
    const [handle] = library.C_FindObjects(handles[0], 1);
    library.C_FindObjectsFinal(handles[0]);
    if (!handle) throw new Error(`no private key labelled ${label}`);
    return handle;
  };
  const ecdsaKey = find(KEYS['ecdsa-p256-sign'].label);
  const pssKey = find(KEYS['rsa-2048-pss-sign'].label);
  const ecdsa = { mechanism: pk.CKM_ECDSA };
  const pss = {
    mechanism: pk.CKM_RSA_PKCS_PSS,
    parameter: { type: pk.CK_PARAMS_RSA_PSS, hashAlg: pk.CKM_SHA256, mgf: pk.CKG_MGF1_SHA256, saltLen: 32 },
  };
  const withSession = sessionLender(handles);
  return {
    name: 'raw pkcs11js',
    version: require('pkcs11js/package.json').version,
    sign: {
      'ecdsa-p256-sign': (message) =>
        withSession((session) => {
          library.C_SignInit(session, ecdsa, ecdsaKey);
          return library.C_SignAsync(session, sha256(message), Buffer.alloc(64));
        }),
      'rsa-2048-pss-sign': (message) =>
        withSession((session) => {
          library.C_SignInit(session, pss, pssKey);
          return library.C_SignAsync(session, sha256(message), Buffer.alloc(256));
        }),
    },
    close: async () => {
      for (const session of handles) library.C_CloseSession(session);
      library.C_Finalize();
    },
  };
}
