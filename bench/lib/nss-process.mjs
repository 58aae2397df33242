/**
 * The NSS softokn event-loop measurement in a process of its own (run by nss-event-loop.mjs; prints one
 * JSON line). NSS decrypts a token RSA key from its database in every C_SignInit (tens of milliseconds),
 * and pkcs11js's C_SignInit is synchronous: called on the main thread, it stalls the event loop. Both modes
 * sign with RSA-2048 PSS, `ROUNDS` times `IN_FLIGHT` signatures at once, while the event loop is sampled.
 *   node bench/lib/nss-process.mjs create-key  creates the RSA-2048 key through keyswitch (once)
 *   node bench/lib/nss-process.mjs keyswitch   keyswitch's NSS profile
 *   node bench/lib/nss-process.mjs raw         pkcs11js: C_SignInit on the main thread, C_SignAsync
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export const IN_FLIGHT = 48;
const ROUNDS = 3;
const LABEL = 'bench-nss-pss';
const mode = process.argv[2];
const env = process.env;
const message = randomBytes(1024);

async function measureRounds(signOnce) {
  await signOnce(); // the first call opens sessions and looks the key up: not timed
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const started = performance.now();
  for (let round = 0; round < ROUNDS; round += 1) {
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => signOnce()));
  }
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  return {
    mode,
    operations: ROUNDS * IN_FLIGHT,
    opsPerSecond: Math.round((ROUNDS * IN_FLIGHT) / seconds),
    loopMaxMs: loop.count > 0 ? Math.round((loop.max / 1e6 - 1) * 10) / 10 : 0,
  };
}

let result;
if (mode === 'keyswitch' || mode === 'create-key') {
  const { Keyswitch } = await import('@keyswitch/core');
  const ks = await Keyswitch.fromConfig(
    {
      environment: 'test',
      providers: {
        nss: {
          type: 'pkcs11',
          profile: 'nss',
          module: { env: 'KEYSWITCH_NSS_MODULE' },
          libraryParameters: { env: 'KEYSWITCH_NSS_LIBRARY_PARAMETERS' },
          token: { label: env.KEYSWITCH_NSS_TOKEN ?? 'NSS Certificate DB' },
          pin: { env: 'KEYSWITCH_NSS_PIN' },
          sessions: IN_FLIGHT,
        },
      },
      keys: {
        signing: {
          provider: 'nss',
          ref: `pkcs11:object=${LABEL};type=private`,
          spec: 'RSA_2048',
          algorithm: 'RSASSA_PSS_SHA_256',
        },
      },
    },
    { env },
  );
  if (mode === 'create-key') {
    await (await ks.provider('nss')).createKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', label: LABEL });
    result = { mode };
  } else {
    const signer = ks.signer('signing');
    result = await measureRounds(() => signer.sign(message));
  }
  await ks.close();
} else if (mode === 'raw') {
  const pk = createRequire(import.meta.url)('pkcs11js');
  const library = new pk.PKCS11();
  library.load(env.KEYSWITCH_NSS_MODULE);
  library.C_Initialize({
    libraryParameters: env.KEYSWITCH_NSS_LIBRARY_PARAMETERS,
    flags: pk.CKF_OS_LOCKING_OK,
  });
  const label = env.KEYSWITCH_NSS_TOKEN ?? 'NSS Certificate DB';
  const slot = library
    .C_GetSlotList(true)
    .find((candidate) => library.C_GetTokenInfo(candidate).label.trim() === label);
  const sessions = Array.from({ length: IN_FLIGHT }, () =>
    library.C_OpenSession(slot, pk.CKF_RW_SESSION | pk.CKF_SERIAL_SESSION),
  );
  library.C_Login(sessions[0], pk.CKU_USER, env.KEYSWITCH_NSS_PIN);
  library.C_FindObjectsInit(sessions[0], [
    { type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY },
    { type: pk.CKA_LABEL, value: LABEL },
  ]);
  const [key] = library.C_FindObjects(sessions[0], 1);
  library.C_FindObjectsFinal(sessions[0]);
  if (!key) throw new Error(`no key labelled ${LABEL}: run the keyswitch mode first`);
  const mechanism = {
    mechanism: pk.CKM_RSA_PKCS_PSS,
    parameter: { type: pk.CK_PARAMS_RSA_PSS, hashAlg: pk.CKM_SHA256, mgf: pk.CKG_MGF1_SHA256, saltLen: 32 },
  };
  const free = sessions.slice();
  const digest = createHash('sha256').update(message).digest();
  result = await measureRounds(async () => {
    const session = free.pop();
    try {
      library.C_SignInit(session, mechanism, key);
      return await library.C_SignAsync(session, digest, Buffer.alloc(256));
    } finally {
      free.push(session);
    }
  });
  for (const session of sessions) library.C_CloseSession(session);
  library.C_Finalize();
} else {
  process.stderr.write('usage: node bench/lib/nss-process.mjs keyswitch|raw\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
