/**
 * AWS KMS through kms-local (started in this process on port 0, backed by an in-memory software HSM)
 * against the bare KMSClient of @aws-sdk/client-kms (default settings) sending the same commands to the
 * same server. The server shares the process and its event loop with the client: its work is in both
 * sides of every ratio and in the event-loop figures.
 */
import { constants, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { formatOneEnvelope, rawCommittedEnvelope, rawEnvelope } from '../lib/raw-envelope.mjs';
import { soak } from '../lib/soak.mjs';
import { envelopeOperations, log, PAYLOAD, runCells, withDefaults } from '../lib/suite.mjs';
import { importDependency, importPackage } from '../lib/workspace.mjs';
import { throttlingCells } from './aws-kms-faults.mjs';

const CONTEXT = { table: 'cards', tenant: 't1' };
const SECRET_VARIABLE = 'KEYSWITCH_BENCH_KMS_SECRET';

export async function run(options) {
  const { Keyswitch } = await importPackage('core');
  const awsKms = await importPackage('aws-kms');
  const { startKmsLocal, KMS_LOCAL_DEFAULT_CREDENTIALS } = await importPackage('kms-local');
  const { Keyring } = await importPackage('envelope');
  const sdk = await importDependency('aws-kms', '@aws-sdk/client-kms');

  const server = await startKmsLocal({ port: 0 });
  // A copy: the SDK writes to the credentials object it is given, and the exported one is frozen.
  const credentials = { ...KMS_LOCAL_DEFAULT_CREDENTIALS };
  const alias = (name) => `alias/${name}`;
  const config = {
    environment: 'test',
    providers: {
      kms: {
        type: 'aws-kms',
        region: server.region,
        endpoint: server.endpoint,
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: { env: SECRET_VARIABLE } },
      },
    },
    keys: {
      'acs-signing': {
        provider: 'kms',
        ref: alias('bench-ecdsa'),
        spec: 'ECC_NIST_P256',
        algorithm: 'ECDSA_SHA_256',
      },
      'ds-signing': {
        provider: 'kms',
        ref: alias('bench-pss'),
        spec: 'RSA_2048',
        algorithm: 'RSASSA_PSS_SHA_256',
      },
      'ds-decrypt': {
        provider: 'kms',
        ref: alias('bench-oaep'),
        spec: 'RSA_2048',
        algorithm: 'RSAES_OAEP_SHA_256',
      },
      'pan-hmac': { provider: 'kms', ref: alias('bench-hmac'), spec: 'HMAC_256', algorithm: 'HMAC_SHA_256' },
      'acs-ecdh': {
        provider: 'kms',
        ref: alias('bench-ecdh'),
        spec: 'ECC_NIST_P256',
        usage: 'KEY_AGREEMENT',
      },
      'pan-kek': { provider: 'kms', ref: alias('bench-kek'), spec: 'SYMMETRIC_DEFAULT' },
    },
  };
  const ks = await Keyswitch.fromConfig(config, {
    providerFactories: { 'aws-kms': awsKms.providerFactory },
    env: { [SECRET_VARIABLE]: credentials.secretAccessKey },
  });
  const kms = await ks.provider('kms');
  for (const [label, spec, usage] of [
    ['bench-ecdsa', 'ECC_NIST_P256', 'SIGN_VERIFY'],
    ['bench-pss', 'RSA_2048', 'SIGN_VERIFY'],
    ['bench-oaep', 'RSA_2048', 'ENCRYPT_DECRYPT'],
    ['bench-hmac', 'HMAC_256', 'GENERATE_VERIFY_MAC'],
    ['bench-ecdh', 'ECC_NIST_P256', 'KEY_AGREEMENT'],
    ['bench-kek', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
  ]) {
    await kms.createKey({ spec, usage, label });
  }

  // The bare client: what an application writes without keyswitch (the SDK's defaults otherwise).
  const client = new sdk.KMSClient({ endpoint: server.endpoint, region: server.region, credentials });

  const message = randomBytes(PAYLOAD.sign);
  const pan = Buffer.from('4111111111111111');
  const cek = randomBytes(PAYLOAD.oaep);
  const signer = ks.signer('acs-signing');
  const pssSigner = ks.signer('ds-signing');
  const decrypter = ks.decrypter('ds-decrypt');
  const mac = ks.mac('pan-hmac');
  const agreement = ks.keyAgreement('acs-ecdh');
  const oaepPublic = createPublicKey((await decrypter.publicKey()).pem());
  const oaepCiphertext = publicEncrypt(
    { key: oaepPublic, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    cek,
  );
  const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const peerSpki = peer.publicKey.export({ format: 'der', type: 'spki' });
  const record = randomBytes(PAYLOAD.record);
  const keyring = Keyring.create(ks);
  const envelopes = keyring.envelopes('pan-kek');
  const { Plaintext, CiphertextBlob } = await client.send(
    new sdk.GenerateDataKeyCommand({
      KeyId: alias('bench-kek'),
      KeySpec: 'AES_256',
      EncryptionContext: CONTEXT,
    }),
  );
  const raw = rawEnvelope({
    dataKey: Plaintext,
    wrapped: CiphertextBlob,
    keyName: 'pan-kek',
    context: CONTEXT,
  });
  const sealed = await envelopes.encrypt(record, { context: CONTEXT });
  const rawSealed = raw.encrypt(record);
  const send = (command) => client.send(command);

  /** @type {import('../lib/suite.mjs').BenchOperation[]} */
  const operations = withDefaults([
    {
      algorithm: 'ECDSA_SHA_256',
      rawName: 'KMSClient Sign',
      keyswitch: () => signer.sign(message),
      raw: () =>
        send(
          new sdk.SignCommand({
            KeyId: alias('bench-ecdsa'),
            Message: message,
            MessageType: 'RAW',
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        ),
      check: async () => {
        const { Signature } = await send(
          new sdk.SignCommand({
            KeyId: alias('bench-ecdsa'),
            Message: message,
            MessageType: 'RAW',
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        );
        if (
          !(await signer.verify(message, Signature)) ||
          !(await signer.verify(message, await signer.sign(message)))
        ) {
          throw new Error('ECDSA: the signatures do not verify');
        }
      },
    },
    {
      algorithm: 'RSASSA_PSS_SHA_256',
      rawName: 'KMSClient Sign',
      keyswitch: () => pssSigner.sign(message),
      raw: () =>
        send(
          new sdk.SignCommand({
            KeyId: alias('bench-pss'),
            Message: message,
            MessageType: 'RAW',
            SigningAlgorithm: 'RSASSA_PSS_SHA_256',
          }),
        ),
      check: async () => {
        if (!(await pssSigner.verify(message, await pssSigner.sign(message))))
          throw new Error('PSS does not verify');
      },
    },
    {
      algorithm: 'RSAES_OAEP_SHA_256',
      rawName: 'KMSClient Decrypt',
      keyswitch: () => decrypter.decrypt(oaepCiphertext),
      raw: async () =>
        (
          await send(
            new sdk.DecryptCommand({
              KeyId: alias('bench-oaep'),
              CiphertextBlob: oaepCiphertext,
              EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
            }),
          )
        ).Plaintext,
    },
    {
      algorithm: 'HMAC_SHA_256',
      rawName: 'KMSClient GenerateMac',
      keyswitch: () => mac.generate(pan),
      raw: async () =>
        (
          await send(
            new sdk.GenerateMacCommand({
              KeyId: alias('bench-hmac'),
              Message: pan,
              MacAlgorithm: 'HMAC_SHA_256',
            }),
          )
        ).Mac,
    },
    {
      algorithm: 'ECDH',
      rawName: 'KMSClient DeriveSharedSecret',
      keyswitch: () => agreement.deriveSharedSecret(peerSpki),
      raw: async () =>
        (
          await send(
            new sdk.DeriveSharedSecretCommand({
              KeyId: alias('bench-ecdh'),
              KeyAgreementAlgorithm: 'ECDH',
              PublicKey: peerSpki,
            }),
          )
        ).SharedSecret,
    },
    ...envelopeOperations({
      envelopes,
      raw,
      record,
      sealed,
      rawSealed,
      committed: rawCommittedEnvelope({
        dataKey: Plaintext,
        wrapped: CiphertextBlob,
        keyName: 'pan-kek',
        context: CONTEXT,
      }),
      legacySealed: formatOneEnvelope({
        dataKey: Plaintext,
        wrapped: CiphertextBlob,
        keyName: 'pan-kek',
        context: CONTEXT,
        record,
      }),
      context: CONTEXT,
      note: 'data key from GenerateDataKey, cached',
      rawName: 'crypto AES-256-GCM by hand, data key from GenerateDataKey',
    }),
  ]);

  const cells = await runCells('aws-kms', operations, options);

  // ---- envelope backend calls, as the server counts them ------------------------------------------
  const envelopeCalls = [];
  if (options.memoryOperations > 0) {
    const fresh = Keyring.create(ks);
    const cipher = fresh.envelopes('pan-kek');
    server.resetRequestCounts();
    for (let i = 0; i < options.memoryOperations; i += 1) await cipher.encrypt(record, { context: CONTEXT });
    const requests = server.requests();
    envelopeCalls.push({
      records: options.memoryOperations,
      backendCalls: requests.total,
      byOperation: requests.byOperation,
      counted: 'requests kms-local received',
    });
    log(`aws-kms envelope: ${requests.total} KMS requests for ${options.memoryOperations} records`);
    await fresh.close();
  }

  // ---- throttling (the retry budget) and the soak --------------------------------------------------
  const open = () =>
    awsKms.AwsKmsProvider.open({
      endpoint: server.endpoint,
      region: server.region,
      credentials: { ...credentials },
    });
  const throttling = await throttlingCells({
    server,
    open,
    message,
    durationMs: Math.max(2_000, options.durationMs * 2),
  });
  let soaked;
  if (options.soakOperations > 0) {
    const provider = await open();
    try {
      soaked = await soak({
        name: 'aws-kms',
        sign: () => provider.sign({ ref: 'alias/bench-ecdsa', algorithm: 'ECDSA_SHA_256', message }),
        operations: options.soakOperations,
      });
    } finally {
      await provider.close();
    }
  }

  await keyring.close();
  await ks.close();
  client.destroy();
  await server.close();
  return {
    backend: 'aws-kms',
    title:
      'AWS KMS protocol: @aws-sdk/client-kms over HTTP to kms-local (in process, software HSM behind it)',
    baseline: 'the bare KMSClient (SDK defaults) sending the same commands to the same server',
    cells,
    memory: [],
    envelopeCalls,
    throttling,
    ...(soaked ? { soak: soaked } : {}),
  };
}
