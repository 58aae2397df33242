/**
 * The software HSM against node:crypto: each raw baseline is the node:crypto call the software HSM
 * itself makes (asynchronous `crypto.sign` for signatures, synchronous `privateDecrypt`, `createHmac` and
 * `diffieHellman` for the rest), on the same key material, imported into it. Also: heap and RSS growth
 * over 100,000 operations, and the backend calls of 100,000 envelope encryptions.
 */
import {
  constants,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildBaselineEnvelope } from '../lib/baseline-envelope.mjs';
import { memoryGrowth } from '../lib/memory.mjs';
import { formatOneEnvelope, rawCommittedEnvelope, rawEnvelope } from '../lib/raw-envelope.mjs';
import { envelopeOperations, log, PAYLOAD, runCells, sameAnswer, withDefaults } from '../lib/suite.mjs';
import { importPackage } from '../lib/workspace.mjs';

const signAsync = promisify(sign);
const CONTEXT = { table: 'cards', tenant: 't1' };

export async function run(options) {
  const { Keyswitch } = await importPackage('core');
  const softHsm = await importPackage('soft-hsm');
  const { Keyring } = await importPackage('envelope');

  const ecdsa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pss = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const oaep = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ecdh = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const hmacKey = randomBytes(32);
  const kek = randomBytes(32);

  const config = {
    environment: 'test',
    providers: { soft: { type: 'soft-hsm' } },
    keys: {
      'acs-signing': {
        provider: 'soft',
        ref: 'acs-signing',
        spec: 'ECC_NIST_P256',
        algorithm: 'ECDSA_SHA_256',
      },
      'ds-signing': {
        provider: 'soft',
        ref: 'ds-signing',
        spec: 'RSA_2048',
        algorithm: 'RSASSA_PSS_SHA_256',
      },
      'ds-decrypt': {
        provider: 'soft',
        ref: 'ds-decrypt',
        spec: 'RSA_2048',
        algorithm: 'RSAES_OAEP_SHA_256',
      },
      'pan-hmac': { provider: 'soft', ref: 'pan-hmac', spec: 'HMAC_256', algorithm: 'HMAC_SHA_256' },
      'acs-ecdh': { provider: 'soft', ref: 'acs-ecdh', spec: 'ECC_NIST_P256', usage: 'KEY_AGREEMENT' },
      'pan-kek': { provider: 'soft', ref: 'pan-kek', spec: 'SYMMETRIC_DEFAULT' },
    },
  };
  const ks = await Keyswitch.fromConfig(config, {
    providerFactories: { 'soft-hsm': softHsm.providerFactory },
  });
  const hsm = await ks.provider('soft');
  const pem = (pair) => pair.privateKey.export({ format: 'pem', type: 'pkcs8' });
  await hsm.importKey({ label: 'acs-signing', usage: 'SIGN_VERIFY', pem: pem(ecdsa) });
  await hsm.importKey({ label: 'ds-signing', usage: 'SIGN_VERIFY', pem: pem(pss) });
  await hsm.importKey({ label: 'ds-decrypt', usage: 'ENCRYPT_DECRYPT', pem: pem(oaep) });
  await hsm.importKey({ label: 'acs-ecdh', usage: 'KEY_AGREEMENT', pem: pem(ecdh) });
  await hsm.importKey({ label: 'pan-hmac', usage: 'GENERATE_VERIFY_MAC', spec: 'HMAC_256', raw: hmacKey });
  await hsm.importKey({ label: 'pan-kek', usage: 'ENCRYPT_DECRYPT', spec: 'SYMMETRIC_DEFAULT', raw: kek });

  const message = randomBytes(PAYLOAD.sign);
  const pan = Buffer.from('4111111111111111');
  const cek = randomBytes(PAYLOAD.oaep);
  const oaepCiphertext = publicEncrypt(
    { key: oaep.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    cek,
  );
  const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const peerSpki = peer.publicKey.export({ format: 'der', type: 'spki' });
  const record = randomBytes(PAYLOAD.record);

  const signer = ks.signer('acs-signing');
  const pssSigner = ks.signer('ds-signing');
  const decrypter = ks.decrypter('ds-decrypt');
  const mac = ks.mac('pan-hmac');
  const agreement = ks.keyAgreement('acs-ecdh');
  const keyring = Keyring.create(ks);
  const envelopes = keyring.envelopes('pan-kek');
  // The last release that wrote format 1, over the same registry: what upgrading costs a sealing app.
  const baseline = await buildBaselineEnvelope();
  const releaseKeyring = (await import(pathToFileURL(baseline.file).href)).Keyring.create(ks);
  const release = { commit: baseline.commit, envelopes: releaseKeyring.envelopes('pan-kek') };
  const dataKey = await ks.dataKeys('pan-kek').generate({ context: CONTEXT });
  const raw = rawEnvelope({
    dataKey: dataKey.plaintext,
    wrapped: dataKey.ciphertextBlob,
    keyName: 'pan-kek',
    context: CONTEXT,
  });
  const sealed = await envelopes.encrypt(record, { context: CONTEXT });
  const rawSealed = raw.encrypt(record);
  const pssOptions = { key: pss.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };

  /** @type {import('../lib/suite.mjs').BenchOperation[]} */
  const operations = withDefaults([
    {
      algorithm: 'ECDSA_SHA_256',
      rawName: 'crypto.sign (async)',
      keyswitch: () => signer.sign(message),
      raw: () => signAsync('sha256', message, { key: ecdsa.privateKey, dsaEncoding: 'der' }),
      check: () =>
        sameAnswer(
          'ECDSA',
          () => signer.sign(message),
          () => signAsync('sha256', message, ecdsa.privateKey),
          (s) => verify('sha256', message, ecdsa.publicKey, s),
        ),
    },
    {
      algorithm: 'RSASSA_PSS_SHA_256',
      rawName: 'crypto.sign (async)',
      keyswitch: () => pssSigner.sign(message),
      raw: () => signAsync('sha256', message, pssOptions),
      check: () =>
        sameAnswer(
          'PSS',
          () => pssSigner.sign(message),
          () => signAsync('sha256', message, pssOptions),
          (s) => verify('sha256', message, { ...pssOptions, key: pss.publicKey }, s),
        ),
    },
    {
      algorithm: 'RSAES_OAEP_SHA_256',
      rawName: 'crypto.privateDecrypt',
      keyswitch: () => decrypter.decrypt(oaepCiphertext),
      raw: () =>
        privateDecrypt(
          { key: oaep.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          oaepCiphertext,
        ),
    },
    {
      algorithm: 'HMAC_SHA_256',
      rawName: 'crypto.createHmac',
      keyswitch: () => mac.generate(pan),
      raw: () => createHmac('sha256', hmacKey).update(pan).digest(),
    },
    {
      algorithm: 'ECDH',
      rawName: 'crypto.diffieHellman',
      keyswitch: () => agreement.deriveSharedSecret(peerSpki),
      raw: () =>
        diffieHellman({
          privateKey: ecdh.privateKey,
          publicKey: createPublicKey({ key: peerSpki, format: 'der', type: 'spki' }),
        }),
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
      release,
      context: CONTEXT,
      note: 'AES-256-GCM data key, cached',
      rawName: 'crypto AES-256-GCM, by hand',
    }),
  ]);

  let cells;
  try {
    cells = await runCells('soft-hsm', operations, options);
  } finally {
    await releaseKeyring.close();
    baseline.remove();
  }

  // ---- memory and backend calls ------------------------------------------------------------------
  const memory = [];
  const envelopeCalls = [];
  if (options.memoryOperations > 0) {
    for (const operation of operations.filter((candidate) => MEMORY_OPERATIONS.includes(candidate.id))) {
      const growth = await memoryGrowth(operation.keyswitch, options.memoryOperations);
      memory.push({ operation: operation.id, label: operation.label, ...growth });
      log(
        `soft-hsm memory ${operation.id}: heap ${growth.heapGrowthMB} MB, rss ${growth.rssGrowthMB} MB over ${growth.operations} ops`,
      );
    }
    const fresh = Keyring.create(ks);
    const cipher = fresh.envelopes('pan-kek');
    const growth = await memoryGrowth(
      () => cipher.encrypt(record, { context: CONTEXT }),
      options.memoryOperations,
      {
        warmup: 0,
      },
    );
    const stats = fresh.stats();
    envelopeCalls.push({
      records: options.memoryOperations,
      backendCalls: stats.backendCalls,
      byOperation: stats.byOperation,
      counted: 'keyring.stats().backendCalls',
    });
    memory.push({
      operation: 'envelope-encrypt-fresh-keyring',
      label: 'envelope encrypt (fresh keyring)',
      ...growth,
    });
    log(`soft-hsm envelope: ${stats.backendCalls} backend calls for ${options.memoryOperations} records`);
    await fresh.close();
  }

  await keyring.close();
  await ks.close();
  return {
    backend: 'soft-hsm',
    title: 'software HSM (in memory)',
    baseline: 'node:crypto, the same calls the software HSM makes',
    cells,
    memory,
    envelopeCalls,
  };
}

// ECDH is left out: 100,000 derivations take ~40 s here, more than the rest of the memory runs together.
const MEMORY_OPERATIONS = ['ecdsa-p256-sign', 'hmac-sha-256', 'envelope-decrypt'];
