/**
 * One start-up measurement in a fresh process (run by head-to-head's start-up phase; prints one JSON line).
 * Times are read from `performance.now()`, whose origin is the process's start, so `firstSignatureMs` is
 * "process start → first signature" as a user's server sees it.
 *   node bench/lib/startup-process.mjs import-core         import('@keyswitch/core') alone
 *   node bench/lib/startup-process.mjs keyswitch           import, fromConfig, first ECDSA signature (P1363)
 *   node bench/lib/startup-process.mjs raw-pkcs11js        require pkcs11js, initialize, session, login, find, sign
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { OPERATIONS, sha256, tokenLabel } from '../contenders/common.mjs';

const mode = process.argv[2];
const env = process.env;
const message = Buffer.alloc(1024, 1);
const started = performance.now();
const result = { mode, processStartMs: round(started) };

if (mode === 'import-core') {
  await import('@keyswitch/core');
  result.importMs = round(performance.now() - started);
} else if (mode === 'keyswitch') {
  const { configuration } = await import('../contenders/keyswitch.mjs');
  const { Keyswitch } = await import('@keyswitch/core');
  const imported = performance.now();
  const ks = await Keyswitch.fromConfig(configuration(env, 1), { env });
  const loaded = performance.now();
  // What the first signature does anyway, in steps: open the provider (module, sessions, login), learn
  // its capabilities (the probe), then sign (the key looked up and checked, the signature).
  const provider = await ks.provider('hsm');
  const opened = performance.now();
  await provider.capabilities();
  const probed = performance.now();
  await ks.signer('ecdsa-p256-sign').sign(message, { format: 'P1363' });
  const signed = performance.now();
  Object.assign(result, {
    importMs: round(imported - started),
    fromConfigMs: round(loaded - imported),
    openProviderMs: round(opened - loaded),
    capabilitiesMs: round(probed - opened),
    keyAndSignMs: round(signed - probed),
    firstSignMs: round(signed - loaded),
    fromConfigAndFirstSignMs: round(signed - imported),
    firstSignatureMs: round(signed),
  });
  await ks.close();
} else if (mode === 'raw-pkcs11js') {
  const pk = createRequire(import.meta.url)('pkcs11js');
  const imported = performance.now();
  const library = new pk.PKCS11();
  library.load(env.KEYSWITCH_SOFTHSM2_MODULE);
  library.C_Initialize({ flags: pk.CKF_OS_LOCKING_OK });
  const slot = library
    .C_GetSlotList(true)
    .find((candidate) => library.C_GetTokenInfo(candidate).label.trim() === tokenLabel(env));
  const session = library.C_OpenSession(slot, pk.CKF_RW_SESSION | pk.CKF_SERIAL_SESSION);
  library.C_Login(session, pk.CKU_USER, env.KEYSWITCH_SOFTHSM2_PIN);
  library.C_FindObjectsInit(session, [
    { type: pk.CKA_CLASS, value: pk.CKO_PRIVATE_KEY },
    { type: pk.CKA_LABEL, value: OPERATIONS['ecdsa-p256-sign'].key },
  ]);
  const [key] = library.C_FindObjects(session, 1);
  library.C_FindObjectsFinal(session);
  library.C_SignInit(session, { mechanism: pk.CKM_ECDSA }, key);
  await library.C_SignAsync(session, sha256(message), Buffer.alloc(64));
  const signed = performance.now();
  Object.assign(result, {
    importMs: round(imported - started),
    fromConfigAndFirstSignMs: round(signed - imported),
    firstSignatureMs: round(signed),
  });
  library.C_CloseSession(session);
  library.C_Finalize();
} else {
  process.stderr.write(`usage: node bench/lib/startup-process.mjs import-core|keyswitch|raw-pkcs11js\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(result)}\n`);

function round(value) {
  return Math.round(value * 10) / 10;
}
