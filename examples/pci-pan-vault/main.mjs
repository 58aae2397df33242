// The PCI PAN vault example: PANs stored encrypted in SQLite and looked up by keyed hash, the key rotated
// by adding a version to the configuration and the stored records re-wrapped, then the PAN key moved to
// another backend by configuration — all through logical key names, on the backend you choose:
//
//   node main.mjs --backend soft-hsm     # the software HSM, with a keystore file (default)
//   node main.mjs --backend kms-local    # AWS KMS's protocol, through the real AWS SDK, to kms-local
//   node main.mjs --backend softhsm2     # PKCS#11 on SoftHSM2: first eval "$(scripts/test-tokens.sh)"
//
// Options: --records N (default 200), --keep (keep the data directory). Prints each step and check, and
// exits 1 if any check fails, 2 if the backend is not set up.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isKeyswitchError, Keyswitch, verifyAuditFile } from '@keyswitch/core';
import { inventory, Keyring, parseEnvelope } from '@keyswitch/envelope';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, startKmsLocal } from '@keyswitch/kms-local';
import { PanVault } from './vault.mjs';

const BACKENDS = ['soft-hsm', 'kms-local', 'softhsm2'];
const { values: options } = parseArgs({
  options: {
    backend: { type: 'string', default: 'soft-hsm' },
    records: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
  },
});
const backend = options.backend;
const count = Number(options.records);
if (!BACKENDS.includes(backend) || !Number.isInteger(count) || count < 1) {
  console.error(`usage: node main.mjs [--backend ${BACKENDS.join('|')}] [--records N] [--keep]`);
  process.exit(2);
}
if (
  backend === 'softhsm2' &&
  (!process.env.KEYSWITCH_SOFTHSM2_MODULE || !process.env.KEYSWITCH_SOFTHSM2_PIN)
) {
  console.error(
    'pci-pan-vault: SoftHSM2 is not set up: run  eval "$(scripts/test-tokens.sh)"  first (it creates a token and prints KEYSWITCH_SOFTHSM2_MODULE, KEYSWITCH_SOFTHSM2_PIN, SOFTHSM2_CONF)',
  );
  process.exit(2);
}

const say = (text = '') => console.log(text);
const checks = { passed: 0, failed: [] };
function check(ok, text) {
  if (ok) checks.passed += 1;
  else checks.failed.push(text);
  say(`   ${ok ? 'ok  ' : 'FAIL'} ${text}`);
}
async function refusal(promise) {
  try {
    await promise;
  } catch (error) {
    if (isKeyswitchError(error)) return error;
    throw error;
  }
  return undefined;
}
const calls = (keyring) =>
  Object.entries(keyring.stats().byOperation)
    .map(([operation, n]) => `${operation} ${n}`)
    .join(', ');

// ---- the backends ----------------------------------------------------------------------------------
// Secrets come from the environment, as the configuration's { "env": … } references say.
process.env.PAN_VAULT_KEYSTORE_PASSPHRASE ??= randomBytes(16).toString('hex');
process.env.KMS_LOCAL_SECRET_ACCESS_KEY ??= KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey;
// The AWS SDK's notice that its 2027 releases need Node 22 says nothing about this example.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const servers = [];
async function kmsLocalServer() {
  // kms-local speaks the AWS KMS protocol; the aws-kms provider reaches it through the real AWS SDK.
  const server = await startKmsLocal({ port: 0 });
  servers.push(server);
  return server;
}
const kmsProvider = (endpoint) => ({
  type: 'aws-kms',
  region: 'us-east-1',
  endpoint,
  credentials: { accessKeyId: 'KEYSWITCHLOCAL', secretAccessKey: { env: 'KMS_LOCAL_SECRET_ACCESS_KEY' } },
  maxAttempts: 3,
});
/** The label to create a key under, from its reference in the configuration. */
const labelOf = (ref) =>
  ref.startsWith('pkcs11:')
    ? decodeURIComponent(/[:;]object=([^;?]+)/.exec(ref)[1])
    : ref.replace(/^alias\//, '');

const dir = await mkdtemp(join(tmpdir(), 'pci-pan-vault-'));
const configFile = join(dir, 'keyswitch.json');
const config = JSON.parse(
  await readFile(fileURLToPath(new URL(`configs/${backend}.json`, import.meta.url)), 'utf8'),
);
if (backend === 'kms-local') config.providers.vault.endpoint = (await kmsLocalServer()).endpoint;
// The start of each version's cryptoperiod, as the operator records it when the version comes into use
// (a PKCS#11 token keeps no creation date; without this the cryptoperiod would have no start there).
const today = new Date().toISOString().slice(0, 10);
config.versions['pan-kek'].versions[0].createdAt = today;
const saveConfig = () => writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
await saveConfig();

/** Opens the registry from the configuration file and creates the backend keys it names that are missing. */
async function open() {
  const ks = await Keyswitch.fromConfig(configFile);
  for (const name of ks.keyNames()) {
    const { provider, ref, spec, usage } = ks.keyConfig(name);
    const backendProvider = await ks.provider(provider);
    const missing = await refusal(backendProvider.describeKey(ref));
    if (missing?.code === 'KEY_NOT_FOUND') {
      // An operator's step in production (keyswitch keys create NAME); done here so the demo is self-contained.
      await backendProvider.createKey({ spec, usage, label: labelOf(ref) });
      say(`   created ${name} (${spec}) in provider ${provider} (${backendProvider.type}) as ${ref}`);
    } else if (missing) throw missing;
  }
  return { ks, keyring: Keyring.create(ks) };
}

// ---- 1. open the vault -----------------------------------------------------------------------------
const pans = [...new Set(Array.from({ length: count * 2 }, () => testPan()))].slice(0, count);
/** What each card should decrypt to, by id. */
const stored = new Map();
let exitCode = 0;
let ks;
let keyring;
let vault;
try {
  say(`PCI PAN vault on ${backend} — data in ${dir}`);
  say('1. open the configuration and the vault database (SQLite)');
  ({ ks, keyring } = await open());
  vault = new PanVault(join(dir, 'vault.db'), keyring);
  say(`   pan-kek is version ${keyring.activeVersion('pan-kek').id}; pan-hmac is a plain key (version 1)`);

  // ---- 2. store PANs encrypted -----------------------------------------------------------------------
  say(`2. store ${count} PANs: each encrypted in an envelope under pan-kek, with a keyed hash for lookups`);
  const ids = [];
  for (const [i, pan] of pans.entries()) {
    const id = await vault.store(pan, `holder ${i + 1}`);
    ids.push(id);
    stored.set(id, pan);
  }
  say(`   backend calls: ${calls(keyring)}`);
  check(
    (keyring.stats().byOperation.generateDataKey ?? 0) <= 2,
    `data keys are cached: ${keyring.stats().byOperation.generateDataKey} data key(s) for ${count} records`,
  );
  let roundTrips = 0;
  for (const id of ids) if ((await vault.reveal(id)) === stored.get(id)) roundTrips += 1;
  check(roundTrips === count, `every PAN decrypts to itself (${roundTrips}/${count})`);

  // ---- 3. look PANs up by keyed hash -----------------------------------------------------------------
  say('3. look cards up by the keyed hash of the PAN (HMAC in the backend): no decryption, no clear PAN');
  const lookups = async () => {
    let found = 0;
    for (const [i, pan] of pans.entries()) {
      const rows = await vault.find(pan);
      if (rows.length === 1 && rows[0].id === ids[i]) found += 1;
    }
    return found;
  };
  let found = await lookups();
  check(found === count, `every PAN finds exactly its card (${found}/${count})`);
  const stranger = testPan();
  check(
    pans.includes(stranger) || (await vault.find(stranger)).length === 0,
    'a PAN that is not stored finds nothing',
  );
  const invalid = await refusal(vault.store('4111 1111 1111 1112', 'nobody'));
  check(
    invalid?.code === 'INVALID_INPUT' && !/\d{4}/.test(invalid.message),
    `a PAN failing the Luhn check is refused: ${invalid?.code}, and the message holds no digits`,
  );

  // ---- 4. rotate: a second version in the configuration ----------------------------------------------
  say('4. rotate pan-kek: add version v2 to keyswitch.json, then re-wrap the stored records');
  const before = vault.envelopesById();
  vault.close(); // the application restarts with the new configuration
  await keyring.close();
  await ks.close();
  const current = config.keys['pan-kek-v1'];
  config.keys['pan-kek-v2'] = { ...current, ref: current.ref.replace('pan-kek-v1', 'pan-kek-v2') };
  config.versions['pan-kek'].versions.push({ id: 'v2', key: 'pan-kek-v2', createdAt: today });
  await saveConfig();
  say(`   + keys.pan-kek-v2: ${JSON.stringify(config.keys['pan-kek-v2'])}`);
  say(
    `   + versions.pan-kek.versions[1]: ${JSON.stringify(config.versions['pan-kek'].versions[1])}  (the last is active)`,
  );
  ({ ks, keyring } = await open());
  vault = new PanVault(join(dir, 'vault.db'), keyring);
  const newPan = testPan();
  const newId = await vault.store(newPan, 'holder after rotation');
  stored.set(newId, newPan);
  check(
    parseEnvelope(vault.envelopesById().get(newId)).keyVersion === 'v2',
    'new data is encrypted under the active version v2',
  );
  const retired = await refusal(keyring.envelopes('pan-kek').encrypt(new Uint8Array(16), { version: 'v1' }));
  check(
    retired?.code === 'USAGE_MISMATCH',
    `version v1 is retired: it only decrypts (PCI DSS 3.7.5): ${retired?.code}`,
  );
  const rotated = await vault.rewrapAll();
  say(`   re-wrapped ${rotated.rewrapped}, unchanged ${rotated.unchanged}; backend calls: ${calls(keyring)}`);
  check(
    rotated.rewrapped === count && rotated.unchanged === 1,
    `every record under v1 was re-wrapped to v2 (${rotated.rewrapped}/${count})`,
  );
  const after = vault.envelopesById();
  const sameData = ids.every((id) => {
    const [old, now] = [parseEnvelope(before.get(id)), parseEnvelope(after.get(id))];
    return (
      now.keyVersion === 'v2' &&
      Buffer.from(old.iv).equals(Buffer.from(now.iv)) &&
      Buffer.from(old.ciphertext).equals(Buffer.from(now.ciphertext))
    );
  });
  check(sameData, 're-wrapping changed only the wrapped data keys: IVs and encrypted PANs are untouched');
  const again = await vault.rewrapAll();
  check(again.rewrapped === 0, `re-wrap is idempotent: a second run re-wraps ${again.rewrapped}`);
  await decryptsUnderOnly({ id: 'v2', key: 'pan-kek-v2' }, ids);

  // ---- 5. switch pan-kek to another backend by configuration -------------------------------------------
  const target =
    backend === 'kms-local'
      ? {
          name: 'soft-hsm',
          provider: {
            type: 'soft-hsm',
            keystore: 'next.keystore',
            passphrase: { env: 'PAN_VAULT_KEYSTORE_PASSPHRASE' },
          },
          ref: 'pan-kek-next',
        }
      : {
          name: 'kms-local',
          provider: kmsProvider((await kmsLocalServer()).endpoint),
          ref: 'alias/pan-kek-next',
        };
  const nextVersion = `v3-${target.name}`;
  say(`5. switch backends: pan-kek's next version lives on ${target.name}; re-wrap moves every record there`);
  vault.close();
  await keyring.close();
  await ks.close();
  config.providers.next = target.provider;
  config.versions['pan-kek'].versions.push({
    id: nextVersion,
    provider: 'next',
    ref: target.ref,
    createdAt: today,
  });
  await saveConfig();
  say(`   + providers.next: {"type":"${target.provider.type}", …}`);
  say(`   + versions.pan-kek.versions[2]: ${JSON.stringify(config.versions['pan-kek'].versions[2])}`);
  ({ ks, keyring } = await open());
  if ((await refusal((await ks.provider('next')).describeKey(target.ref)))?.code === 'KEY_NOT_FOUND') {
    await (await ks.provider('next')).createKey({
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      label: labelOf(target.ref),
    });
    say(`   created ${target.ref} in provider next (${target.provider.type})`);
  }
  vault = new PanVault(join(dir, 'vault.db'), keyring);
  const moved = await vault.rewrapAll();
  say(`   re-wrapped ${moved.rewrapped}; backend calls: ${calls(keyring)}`);
  check(
    moved.rewrapped === count + 1,
    `every record moved to ${target.name} (${moved.rewrapped}/${count + 1})`,
  );
  await decryptsUnderOnly({ id: nextVersion, provider: 'next', ref: target.ref }, [...ids, newId]);
  found = await lookups();
  check(found === count, `lookups by keyed hash still find every card (${found}/${count})`);

  // ---- 6. key inventory ------------------------------------------------------------------------------
  say('6. key inventory (PCI DSS 3.6.1.1): every key and version, never material');
  const rows = await inventory(keyring);
  for (const row of rows) {
    say(
      `   ${`${row.keyName}@${row.version}`.padEnd(22)} ${row.status.padEnd(8)} ${`${row.provider} (${row.providerType})`.padEnd(20)} ${row.spec?.padEnd(18)} ${row.state.padEnd(8)} created ${row.createdAt?.toISOString().slice(0, 10) ?? '-'} expires ${row.expiresAt?.toISOString().slice(0, 10) ?? '-'}`,
    );
  }
  check(
    rows
      .filter((row) => row.keyName === 'pan-kek')
      .map((row) => `${row.version}:${row.status}:${row.state}`)
      .join(' ') === `v1:retired:ENABLED v2:retired:ENABLED ${nextVersion}:active:ENABLED`,
    'the inventory lists pan-kek v1 and v2 retired, and the new backend version active',
  );

  // ---- 7. nothing in the clear; the audit trail is intact --------------------------------------------
  say('7. the database and the audit trail');
  vault.close();
  vault = undefined;
  await keyring.close();
  const head = ks.auditFile.head();
  await ks.close();
  ks = undefined;
  const database = await readFile(join(dir, 'vault.db'));
  check(
    [...stored.values()].every((pan) => !database.includes(Buffer.from(pan))),
    `no PAN appears in the database file (${database.length} bytes scanned)`,
  );
  const auditFile = join(dir, config.audit.file);
  const auditText = await readFile(auditFile, 'utf8');
  check(
    [...stored.values()].every((pan) => !auditText.includes(pan)),
    'no PAN appears in the audit file',
  );
  const verdict = await verifyAuditFile(auditFile, { expectedHead: head });
  const types = new Set(
    auditText
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line).event.providerType)
      .filter(Boolean),
  );
  check(
    verdict.ok,
    `audit file intact (PCI DSS 10.3.4): ${verdict.records} hash-chained records from ${[...types].join(' and ')}, head ${head.seq}:${head.hash.slice(0, 16)}…`,
  );
} catch (error) {
  say(
    `pci-pan-vault: error: ${isKeyswitchError(error) ? `${error.code}: ${error.message}` : (error?.stack ?? error)}`,
  );
  exitCode = 1;
} finally {
  vault?.close();
  await keyring?.close();
  await ks?.close().catch(() => undefined);
  for (const server of servers) await server.close();
  if (!options.keep) await rm(dir, { recursive: true, force: true });
}

say();
if (checks.failed.length === 0 && exitCode === 0) {
  say(`all ${checks.passed} checks passed on ${backend}`);
} else {
  say(`${checks.failed.length} of ${checks.passed + checks.failed.length} checks failed on ${backend}`);
  for (const text of checks.failed) say(`   FAIL ${text}`);
  exitCode = 1;
}
process.exitCode = exitCode;

/** Checks that every record decrypts with a keyring knowing only one version of pan-kek. */
async function decryptsUnderOnly(version, recordIds) {
  const only = Keyring.create(ks, { versions: { 'pan-kek': { versions: [version] } } });
  const alone = new PanVault(join(dir, 'vault.db'), only);
  let ok = 0;
  for (const id of recordIds) if ((await alone.reveal(id)) === stored.get(id)) ok += 1;
  alone.close();
  await only.close();
  check(
    ok === recordIds.length,
    `every record decrypts with version ${version.id} alone configured (${ok}/${recordIds.length})`,
  );
}

/** A random test PAN: a 16-digit Visa test-range number with a valid Luhn check digit. */
function testPan() {
  const body = `411111${String(randomInt(0, 1e9)).padStart(9, '0')}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) digit *= 2;
    if (digit > 9) digit -= 9;
    sum += digit;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}
