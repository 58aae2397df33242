/**
 * PKCS#11 on a throwaway SoftHSM2 token against pkcs11js called directly on the same token and keys:
 * with its asynchronous calls on N sessions (the baseline of the ratio, the same execution model as
 * keyswitch's) and as a synchronous loop on one session. The raw calls use the mechanisms keyswitch uses
 * (the message hashed in the process, then CKM_ECDSA / CKM_RSA_PKCS_PSS), so the ratio is keyswitch's own
 * cost.
 */
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  verify,
} from 'node:crypto';
import { slowTokenCells } from '../lib/pkcs11-slow-token.mjs';
import { formatOneEnvelope, rawCommittedEnvelope, rawEnvelope } from '../lib/raw-envelope.mjs';
import { soak } from '../lib/soak.mjs';
import {
  envelopeOperations,
  log,
  PAYLOAD,
  runAlone,
  runCells,
  sameAnswer,
  withDefaults,
} from '../lib/suite.mjs';
import { importDependency, importPackage } from '../lib/workspace.mjs';

const CONTEXT = { table: 'cards', tenant: 't1' };
const LABELS = {
  ecdsa: 'bench-ecdsa',
  pss: 'bench-pss',
  oaep: 'bench-oaep',
  hmac: 'bench-hmac',
  ecdh: 'bench-ecdh',
  kek: 'bench-kek',
};

export async function run(options) {
  const env = process.env;
  const { Keyswitch } = await importPackage('core');
  const pkcs11 = await importPackage('pkcs11');
  const { Keyring } = await importPackage('envelope');
  const loaded = await importDependency('pkcs11', 'pkcs11js');
  const pk = loaded.default ?? loaded;
  const sessions = Math.max(...options.concurrencies);
  const ref = (label, type) => `pkcs11:object=${label};type=${type}`;
  const config = {
    environment: 'test',
    providers: {
      hsm: {
        type: 'pkcs11',
        profile: 'softhsm',
        module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
        token: { label: env.KEYSWITCH_SOFTHSM2_TOKEN ?? 'keyswitch' },
        pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
        sessions,
      },
    },
    keys: {
      'acs-signing': {
        provider: 'hsm',
        ref: ref(LABELS.ecdsa, 'private'),
        spec: 'ECC_NIST_P256',
        algorithm: 'ECDSA_SHA_256',
      },
      'ds-signing': {
        provider: 'hsm',
        ref: ref(LABELS.pss, 'private'),
        spec: 'RSA_2048',
        algorithm: 'RSASSA_PSS_SHA_256',
      },
      'ds-decrypt-sha256': {
        provider: 'hsm',
        ref: ref(LABELS.oaep, 'private'),
        spec: 'RSA_2048',
        algorithm: 'RSAES_OAEP_SHA_256',
      },
      'ds-decrypt-sha1': {
        provider: 'hsm',
        ref: ref(LABELS.oaep, 'private'),
        spec: 'RSA_2048',
        algorithm: 'RSAES_OAEP_SHA_1',
      },
      'pan-hmac': {
        provider: 'hsm',
        ref: ref(LABELS.hmac, 'secret-key'),
        spec: 'HMAC_256',
        algorithm: 'HMAC_SHA_256',
      },
      'acs-ecdh': {
        provider: 'hsm',
        ref: ref(LABELS.ecdh, 'private'),
        spec: 'ECC_NIST_P256',
        usage: 'KEY_AGREEMENT',
      },
      'pan-kek': { provider: 'hsm', ref: ref(LABELS.kek, 'secret-key'), spec: 'SYMMETRIC_DEFAULT' },
    },
  };
  const ks = await Keyswitch.fromConfig(config, {
    providerFactories: { pkcs11: pkcs11.providerFactory },
    env,
  });
  const hsm = await ks.provider('hsm');
  const capabilities = await hsm.capabilities();
  for (const [label, spec, usage] of [
    [LABELS.ecdsa, 'ECC_NIST_P256', 'SIGN_VERIFY'],
    [LABELS.pss, 'RSA_2048', 'SIGN_VERIFY'],
    [LABELS.oaep, 'RSA_2048', 'ENCRYPT_DECRYPT'],
    [LABELS.hmac, 'HMAC_256', 'GENERATE_VERIFY_MAC'],
    [LABELS.ecdh, 'ECC_NIST_P256', 'KEY_AGREEMENT'],
    [LABELS.kek, 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
  ]) {
    await hsm.createKey({ spec, usage, label });
  }
  const oaepSha256 = capabilities.algorithms.includes('RSAES_OAEP_SHA_256');
  const oaepHash = oaepSha256 ? 'sha256' : 'sha1';

  // ---- raw pkcs11js on the same token: the module is already initialized by keyswitch in this process,
  // so this second PKCS11 object shares it (CKR_CRYPTOKI_ALREADY_INITIALIZED) and never finalizes it.
  const library = new pk.PKCS11();
  library.load(env.KEYSWITCH_SOFTHSM2_MODULE);
  try {
    library.C_Initialize({ flags: pk.CKF_OS_LOCKING_OK });
  } catch (error) {
    if (!/CKR_CRYPTOKI_ALREADY_INITIALIZED/.test(String(error?.message))) throw error;
  }
  const slot = library
    .C_GetSlotList(true)
    .find(
      (candidate) =>
        library.C_GetTokenInfo(candidate).label.trim() === (env.KEYSWITCH_SOFTHSM2_TOKEN ?? 'keyswitch'),
    );
  const rawSessions = Array.from({ length: sessions }, () =>
    library.C_OpenSession(slot, pk.CKF_RW_SESSION | pk.CKF_SERIAL_SESSION),
  );
  try {
    library.C_Login(rawSessions[0], pk.CKU_USER, env.KEYSWITCH_SOFTHSM2_PIN);
  } catch (error) {
    if (!/CKR_USER_ALREADY_LOGGED_IN/.test(String(error?.message))) throw error;
  }
  const find = (label, objectClass) => {
    const session = rawSessions[0];
    library.C_FindObjectsInit(session, [
      { type: pk.CKA_CLASS, value: objectClass },
      { type: pk.CKA_LABEL, value: label },
    ]);
    const [handle] = library.C_FindObjects(session, 1);
    library.C_FindObjectsFinal(session);
    if (!handle) throw new Error(`raw baseline: no object labelled ${label}`);
    return handle;
  };
  const keys = {
    ecdsa: find(LABELS.ecdsa, pk.CKO_PRIVATE_KEY),
    pss: find(LABELS.pss, pk.CKO_PRIVATE_KEY),
    oaep: find(LABELS.oaep, pk.CKO_PRIVATE_KEY),
    hmac: find(LABELS.hmac, pk.CKO_SECRET_KEY),
    ecdh: find(LABELS.ecdh, pk.CKO_PRIVATE_KEY),
  };
  const mechanisms = {
    ecdsa: { mechanism: pk.CKM_ECDSA },
    pss: {
      mechanism: pk.CKM_RSA_PKCS_PSS,
      parameter: { type: pk.CK_PARAMS_RSA_PSS, hashAlg: pk.CKM_SHA256, mgf: pk.CKG_MGF1_SHA256, saltLen: 32 },
    },
    oaep: {
      mechanism: pk.CKM_RSA_PKCS_OAEP,
      parameter: {
        type: pk.CK_PARAMS_RSA_OAEP,
        hashAlg: oaepSha256 ? pk.CKM_SHA256 : pk.CKM_SHA_1,
        mgf: oaepSha256 ? pk.CKG_MGF1_SHA256 : pk.CKG_MGF1_SHA1,
        source: pk.CKZ_DATA_SPECIFIED ?? 1, // CKZ_DATA_SPECIFIED
      },
    },
    hmac: { mechanism: pk.CKM_SHA256_HMAC },
  };

  // ---- inputs ------------------------------------------------------------------------------------
  const message = randomBytes(PAYLOAD.sign);
  const pan = Buffer.from('4111111111111111');
  const cek = randomBytes(PAYLOAD.oaep);
  const signer = ks.signer('acs-signing');
  const pssSigner = ks.signer('ds-signing');
  const decrypter = ks.decrypter(oaepSha256 ? 'ds-decrypt-sha256' : 'ds-decrypt-sha1');
  const mac = ks.mac('pan-hmac');
  const agreement = ks.keyAgreement('acs-ecdh');
  const oaepPublic = createPublicKey((await decrypter.publicKey()).pem());
  const oaepCiphertext = publicEncrypt(
    { key: oaepPublic, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
    cek,
  );
  const ecdsaPublic = createPublicKey((await signer.publicKey()).pem());
  const pssPublic = createPublicKey((await pssSigner.publicKey()).pem());
  const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const peerSpki = peer.publicKey.export({ format: 'der', type: 'spki' });
  const peerPoint = peerSpki.subarray(peerSpki.length - 65);
  const ecdhMechanism = {
    mechanism: pk.CKM_ECDH1_DERIVE,
    parameter: { type: pk.CK_PARAMS_EC_DH, kdf: pk.CKD_NULL, publicData: peerPoint },
  };
  const secretTemplate = [
    { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
    { type: pk.CKA_KEY_TYPE, value: pk.CKK_GENERIC_SECRET },
    { type: pk.CKA_TOKEN, value: false },
    { type: pk.CKA_PRIVATE, value: true },
    { type: pk.CKA_SENSITIVE, value: false },
    { type: pk.CKA_EXTRACTABLE, value: true },
    { type: pk.CKA_VALUE_LEN, value: 32 },
  ];
  const record = randomBytes(PAYLOAD.record);
  const keyring = Keyring.create(ks);
  const envelopes = keyring.envelopes('pan-kek');
  const dataKey = await ks.dataKeys('pan-kek').generate({ context: CONTEXT });
  const raw = rawEnvelope({
    dataKey: dataKey.plaintext,
    wrapped: dataKey.ciphertextBlob,
    keyName: 'pan-kek',
    context: CONTEXT,
  });
  const sealed = await envelopes.encrypt(record, { context: CONTEXT });
  const rawSealed = raw.encrypt(record);
  const sha256 = (data) => createHash('sha256').update(data).digest();

  // ---- raw calls: each takes a session of its own for the call, as keyswitch's pool lends them ---------
  let free = rawSessions.slice();
  const withSession = async (call) => {
    const session = free.pop();
    if (session === undefined) throw new Error('raw baseline: more calls in flight than sessions');
    try {
      return await call(session);
    } finally {
      free.push(session);
    }
  };
  const rawCalls = {
    ecdsa: (session) => {
      library.C_SignInit(session, mechanisms.ecdsa, keys.ecdsa);
      return library.C_SignAsync(session, sha256(message), Buffer.alloc(64));
    },
    pss: (session) => {
      library.C_SignInit(session, mechanisms.pss, keys.pss);
      return library.C_SignAsync(session, sha256(message), Buffer.alloc(256));
    },
    oaep: (session) => {
      library.C_DecryptInit(session, mechanisms.oaep, keys.oaep);
      return library.C_DecryptAsync(session, oaepCiphertext, Buffer.alloc(256));
    },
    hmac: (session) => {
      library.C_SignInit(session, mechanisms.hmac, keys.hmac);
      return library.C_SignAsync(session, pan, Buffer.alloc(32));
    },
    ecdh: async (session) => {
      const derived = await library.C_DeriveKeyAsync(session, ecdhMechanism, keys.ecdh, secretTemplate);
      const [value] = library.C_GetAttributeValue(session, derived, [{ type: pk.CKA_VALUE }]);
      library.C_DestroyObject(session, derived);
      return value.value;
    },
  };
  const syncCalls = {
    ecdsa: (session) => {
      library.C_SignInit(session, mechanisms.ecdsa, keys.ecdsa);
      return library.C_Sign(session, sha256(message), Buffer.alloc(64));
    },
    pss: (session) => {
      library.C_SignInit(session, mechanisms.pss, keys.pss);
      return library.C_Sign(session, sha256(message), Buffer.alloc(256));
    },
    oaep: (session) => {
      library.C_DecryptInit(session, mechanisms.oaep, keys.oaep);
      return library.C_Decrypt(session, oaepCiphertext, Buffer.alloc(256));
    },
    hmac: (session) => {
      library.C_SignInit(session, mechanisms.hmac, keys.hmac);
      return library.C_Sign(session, pan, Buffer.alloc(32));
    },
    ecdh: (session) => {
      const derived = library.C_DeriveKey(session, ecdhMechanism, keys.ecdh, secretTemplate);
      const [value] = library.C_GetAttributeValue(session, derived, [{ type: pk.CKA_VALUE }]);
      library.C_DestroyObject(session, derived);
      return value.value;
    },
  };

  /** @type {import('../lib/suite.mjs').BenchOperation[]} */
  const operations = withDefaults([
    {
      algorithm: 'ECDSA_SHA_256',
      note: 'CKM_ECDSA over a SHA-256 digest computed in the process',
      rawName: 'pkcs11js C_SignInit + C_SignAsync, N sessions',
      keyswitch: () => signer.sign(message, { format: 'P1363' }),
      raw: () => withSession(rawCalls.ecdsa),
      sync: syncCalls.ecdsa,
      check: () =>
        sameAnswer(
          'ECDSA',
          () => signer.sign(message, { format: 'P1363' }),
          () => withSession(rawCalls.ecdsa),
          (signature) =>
            verify(
              'sha256',
              message,
              { key: ecdsaPublic, dsaEncoding: signature.length === 64 ? 'ieee-p1363' : 'der' },
              signature,
            ),
        ),
    },
    {
      algorithm: 'RSASSA_PSS_SHA_256',
      note: 'CKM_RSA_PKCS_PSS over a SHA-256 digest',
      rawName: 'pkcs11js C_SignInit + C_SignAsync, N sessions',
      keyswitch: () => pssSigner.sign(message),
      raw: () => withSession(rawCalls.pss),
      sync: syncCalls.pss,
      check: () =>
        sameAnswer(
          'PSS',
          () => pssSigner.sign(message),
          () => withSession(rawCalls.pss),
          (signature) =>
            verify(
              'sha256',
              message,
              { key: pssPublic, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
              signature,
            ),
        ),
    },
    {
      algorithm: oaepSha256 ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1',
      ...(oaepSha256 ? {} : { note: 'SHA-1: SoftHSM2 2.6 has no OAEP with SHA-256 (CKR_ARGUMENTS_BAD)' }),
      rawName: 'pkcs11js C_DecryptInit + C_DecryptAsync, N sessions',
      keyswitch: () => decrypter.decrypt(oaepCiphertext),
      raw: () => withSession(rawCalls.oaep),
      sync: syncCalls.oaep,
      check: () =>
        sameAnswer(
          'OAEP',
          () => decrypter.decrypt(oaepCiphertext),
          () => withSession(rawCalls.oaep),
          (plain) => Buffer.from(plain).equals(cek),
        ),
    },
    {
      algorithm: 'HMAC_SHA_256',
      rawName: 'pkcs11js C_SignInit + C_SignAsync, N sessions',
      keyswitch: () => mac.generate(pan),
      raw: () => withSession(rawCalls.hmac),
      sync: syncCalls.hmac,
    },
    {
      algorithm: 'ECDH',
      note: 'CKM_ECDH1_DERIVE, null KDF; the session object read and destroyed',
      rawName: 'pkcs11js C_DeriveKeyAsync + C_GetAttributeValue, N sessions',
      keyswitch: () => agreement.deriveSharedSecret(peerSpki),
      raw: () => withSession(rawCalls.ecdh),
      sync: syncCalls.ecdh,
    },
    ...envelopeOperations({
      envelopes,
      raw,
      record,
      sealed,
      rawSealed,
      committed: rawCommittedEnvelope({
        dataKey: dataKey.plaintext,
        wrapped: dataKey.ciphertextBlob,
        keyName: 'pan-kek',
        context: CONTEXT,
      }),
      legacySealed: formatOneEnvelope({
        dataKey: dataKey.plaintext,
        wrapped: dataKey.ciphertextBlob,
        keyName: 'pan-kek',
        context: CONTEXT,
        record,
      }),
      context: CONTEXT,
      note: 'data key wrapped by the token (CKM_AES_GCM), cached',
      rawName: 'crypto AES-256-GCM by hand, data key from the token',
    }),
  ]);

  const cells = [];
  const syncLoops = [];
  for (const operation of operations) {
    // The raw baseline at concurrency N gets exactly N sessions.
    for (const concurrency of options.concurrencies) {
      free = rawSessions.slice(0, concurrency);
      cells.push(...(await runCells('pkcs11', [operation], { ...options, concurrencies: [concurrency] })));
    }
    free = rawSessions.slice();
    if (operation.sync) {
      const session = rawSessions[0];
      const loop = await runAlone(() => operation.sync(session), {
        concurrency: 1,
        durationMs: options.durationMs / 2,
        warmupMs: options.warmupMs,
      });
      syncLoops.push({
        operation: operation.id,
        label: operation.label,
        rawName: 'pkcs11js synchronous loop, 1 session',
        ...loop,
      });
      log(
        `pkcs11 ${operation.id} synchronous loop: ${Math.round(loop.opsPerSecond)}/s, loop max ${loop.eventLoop.maxMs} ms`,
      );
    }
  }

  // ---- envelope backend calls --------------------------------------------------------------------
  const envelopeCalls = [];
  if (options.memoryOperations > 0) {
    const fresh = Keyring.create(ks);
    const cipher = fresh.envelopes('pan-kek');
    for (let i = 0; i < options.memoryOperations; i += 1) await cipher.encrypt(record, { context: CONTEXT });
    const stats = fresh.stats();
    envelopeCalls.push({
      records: options.memoryOperations,
      backendCalls: stats.backendCalls,
      byOperation: stats.byOperation,
      counted: 'keyring.stats().backendCalls',
    });
    log(`pkcs11 envelope: ${stats.backendCalls} backend calls for ${options.memoryOperations} records`);
    await fresh.close();
  }

  for (const session of rawSessions) {
    try {
      library.C_CloseSession(session);
    } catch {
      // closing a session keyswitch's pool may have shared nothing with: best effort
    }
  }
  // The soak: ECDSA signs through the public API, RSS and heap sampled.
  let soaked;
  if (options.soakOperations > 0) {
    const signer = ks.signer('acs-signing');
    const soakMessage = Buffer.from('keyswitch soak');
    soaked = await soak({
      name: 'pkcs11',
      sign: () => signer.sign(soakMessage),
      operations: options.soakOperations,
    });
  }
  await keyring.close();
  const info = hsm.token;
  await ks.close();
  const slowToken = await slowTokenCells({ Pkcs11Provider: pkcs11.Pkcs11Provider, env });
  return {
    backend: 'pkcs11',
    title: `PKCS#11 on SoftHSM2 (${info.manufacturer.trim()} ${info.model.trim()}), ${sessions} sessions`,
    baseline:
      'pkcs11js on the same token and keys: asynchronous calls on N sessions (ratio); a synchronous loop on one session (reference)',
    cells,
    syncLoops,
    memory: [],
    envelopeCalls,
    slowToken,
    ...(soaked ? { soak: soaked } : {}),
  };
}
