/**
 * The reference: pkcs11js called directly, one session per call in flight, with the mechanisms keyswitch
 * uses on SoftHSM2: C_SignInit + C_SignAsync over a digest computed in the process (CKM_ECDSA,
 * CKM_RSA_PKCS_PSS), C_DecryptInit + C_DecryptAsync (CKM_RSA_PKCS_OAEP), C_SignInit + C_SignAsync
 * (CKM_SHA256_HMAC), C_DeriveKeyAsync (CKM_ECDH1_DERIVE, null KDF) then C_GetAttributeValue and
 * C_DestroyObject of the derived session object.
 */
import { createRequire } from 'node:module';
import { OPERATIONS, sessionLender, sha256, tokenLabel } from './common.mjs';

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
  const find = (operation, objectClass) => {
    library.C_FindObjectsInit(handles[0], [
      { type: pk.CKA_CLASS, value: objectClass },
      { type: pk.CKA_LABEL, value: OPERATIONS[operation].key },
    ]);
    const [handle] = library.C_FindObjects(handles[0], 1);
    library.C_FindObjectsFinal(handles[0]);
    if (!handle) throw new Error(`no key labelled ${OPERATIONS[operation].key}`);
    return handle;
  };
  const keys = {
    ecdsa: find('ecdsa-p256-sign', pk.CKO_PRIVATE_KEY),
    pss: find('rsa-2048-pss-sign', pk.CKO_PRIVATE_KEY),
    oaep: find('rsa-2048-oaep-decrypt', pk.CKO_PRIVATE_KEY),
    hmac: find('hmac-sha-256', pk.CKO_SECRET_KEY),
    ecdh: find('ecdh-p256-derive', pk.CKO_PRIVATE_KEY),
  };
  const ecdsa = { mechanism: pk.CKM_ECDSA };
  const pss = {
    mechanism: pk.CKM_RSA_PKCS_PSS,
    parameter: { type: pk.CK_PARAMS_RSA_PSS, hashAlg: pk.CKM_SHA256, mgf: pk.CKG_MGF1_SHA256, saltLen: 32 },
  };
  const oaep = {
    mechanism: pk.CKM_RSA_PKCS_OAEP,
    parameter: { type: pk.CK_PARAMS_RSA_OAEP, hashAlg: pk.CKM_SHA_1, mgf: pk.CKG_MGF1_SHA1, source: 1 },
  };
  const hmac = { mechanism: pk.CKM_SHA256_HMAC };
  const secretTemplate = [
    { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
    { type: pk.CKA_KEY_TYPE, value: pk.CKK_GENERIC_SECRET },
    { type: pk.CKA_TOKEN, value: false },
    { type: pk.CKA_PRIVATE, value: true },
    { type: pk.CKA_SENSITIVE, value: false },
    { type: pk.CKA_EXTRACTABLE, value: true },
    { type: pk.CKA_VALUE_LEN, value: 32 },
  ];
  const withSession = sessionLender(handles);
  return {
    name: 'raw pkcs11js',
    version: require('pkcs11js/package.json').version,
    operations: {
      'ecdsa-p256-sign': (message) =>
        withSession((session) => {
          library.C_SignInit(session, ecdsa, keys.ecdsa);
          return library.C_SignAsync(session, sha256(message), Buffer.alloc(64));
        }),
      'rsa-2048-pss-sign': (message) =>
        withSession((session) => {
          library.C_SignInit(session, pss, keys.pss);
          return library.C_SignAsync(session, sha256(message), Buffer.alloc(256));
        }),
      'rsa-2048-oaep-decrypt': (ciphertext) =>
        withSession((session) => {
          library.C_DecryptInit(session, oaep, keys.oaep);
          return library.C_DecryptAsync(session, ciphertext, Buffer.alloc(256));
        }),
      'hmac-sha-256': (message) =>
        withSession((session) => {
          library.C_SignInit(session, hmac, keys.hmac);
          return library.C_SignAsync(session, message, Buffer.alloc(32));
        }),
      'ecdh-p256-derive': (peerSpki) =>
        withSession(async (session) => {
          const mechanism = {
            mechanism: pk.CKM_ECDH1_DERIVE,
            parameter: { type: pk.CK_PARAMS_EC_DH, kdf: pk.CKD_NULL, publicData: peerSpki.subarray(-65) },
          };
          const derived = await library.C_DeriveKeyAsync(session, mechanism, keys.ecdh, secretTemplate);
          const [value] = library.C_GetAttributeValue(session, derived, [{ type: pk.CKA_VALUE }]);
          library.C_DestroyObject(session, derived);
          return value.value;
        }),
    },
    close: async () => {
      for (const session of handles) library.C_CloseSession(session);
      library.C_Finalize();
    },
  };
}
