// The other end: a 3DS SDK in a mobile app with its 3DS Server, which holds no HSM keys. Everything it does
// is public-key work and session-key work, in software, with @keyswitch/jose: encrypt the device data to the
// DS, send the AReq, verify the ACS signed content to the DS CA root, agree the session key, challenge.
import { randomUUID } from 'node:crypto';
import {
  ChallengeSession,
  encryptJwe,
  generateEphemeralKeyPair,
  sdkKeyExchange,
  verifyAcsSignedContent,
  verifyCertificateChain,
} from '@keyswitch/jose';
import { getJson, MESSAGE_VERSION, postJose, postJson } from './lib/http.mjs';

const SDK_REFERENCE_NUMBER = '3DS_LOA_SDK_KEYS_020200_00001';

/** The device data an SDK collects (EMV 3DS SDK Device Information, shortened). */
const DEVICE_DATA = {
  DV: '1.5',
  DD: { C001: 'Android', C002: 'Pixel 8', C004: '14', C005: 'en-US', C006: 'UTC', C007: randomUUID() },
  DPNA: {},
  SW: [],
};

/** Flips the first character of one segment of a compact JWS/JWE: a changed byte, for the refusal checks. */
function tamper(compact, segment) {
  const parts = compact.split('.');
  parts[segment] = (parts[segment][0] === 'A' ? 'B' : 'A') + parts[segment].slice(1);
  return parts.join('.');
}

function ensure(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Runs one app-based transaction against the DS at `dsUrl`. `step(label, fn)` runs and reports each check.
 * Returns the messages exchanged, for an independent look (the test verifies them with `jose` and OpenSSL).
 */
export async function runSdk(dsUrl, step) {
  const transcript = {};

  // The SDK is provisioned with the DS CA root and the DS encryption certificate (here fetched from the DS).
  const directory = await step(
    'SDK provisioned: DS encryption certificate verified to the DS CA root',
    async () => {
      const { json } = await getJson(`${dsUrl}/directory`);
      const { leaf } = verifyCertificateChain([json.dsEncryptionCertificate], {
        trustedRoots: [json.dsCaRoot],
      });
      transcript.dsCaRoot = json.dsCaRoot;
      return {
        value: { ...json, dsEncryptionKey: leaf.publicKey.export({ format: 'pem', type: 'spki' }) },
        detail: `key for JWE alg ${json.dsEncryptionAlg}`,
      };
    },
  );

  // AReq: device data as a JWE to the DS key; the SDK's ephemeral public key for the session key.
  const sdkEphemeral = await generateEphemeralKeyPair();
  const areq = await step('device data encrypted to the DS (JWE)', async () => {
    const sdkEncData = await encryptJwe(DEVICE_DATA, directory.dsEncryptionKey, {
      alg: directory.dsEncryptionAlg,
      enc: 'A128CBC-HS256',
      kid: directory.kid,
    });
    const value = {
      messageType: 'AReq',
      messageVersion: MESSAGE_VERSION,
      deviceChannel: '01',
      messageCategory: '01',
      threeDSServerTransID: randomUUID(),
      sdkTransID: randomUUID(),
      sdkAppID: randomUUID(),
      sdkReferenceNumber: SDK_REFERENCE_NUMBER,
      sdkEphemPubKey: sdkEphemeral.publicJwk,
      sdkEncData,
      sdkMaxTimeout: '05',
      acctNumber: '4000000000001091',
    };
    return {
      value,
      detail: `alg ${directory.dsEncryptionAlg}, enc A128CBC-HS256, ${sdkEncData.length} characters`,
    };
  });
  transcript.areq = areq;

  const ares = await step('AReq sent to the DS; ARes back from the ACS through the DS', async () => {
    const { status, json } = await postJson(`${dsUrl}/areq`, areq);
    ensure(
      status === 200 && json.messageType === 'ARes',
      `expected an ARes, got ${status} ${JSON.stringify(json)}`,
    );
    ensure(
      json.transStatus === 'C' && typeof json.acsSignedContent === 'string',
      'expected a challenge with acsSignedContent',
    );
    return { value: json, detail: `transStatus ${json.transStatus}, acsTransID ${json.acsTransID}` };
  });
  transcript.ares = ares;

  const exchange = await step(
    'ACS signed content verified to the DS CA root; session key agreed (ECDH)',
    async () => {
      const result = await sdkKeyExchange({
        acsSignedContent: ares.acsSignedContent,
        trustedRoots: [directory.dsCaRoot],
        sdkEphemeralKeyPair: sdkEphemeral,
        sdkReferenceNumber: SDK_REFERENCE_NUMBER,
      });
      const alg = JSON.parse(Buffer.from(ares.acsSignedContent.split('.')[0], 'base64url')).alg;
      return {
        value: result,
        detail: `${alg}, signer ${result.certificates[0].subject.replaceAll('\n', ',')}`,
      };
    },
  );

  // One CReq/CRes round trip under the session key: A128GCM (the ACS answers in what the SDK chose).
  const sdkSession = new ChallengeSession({
    sessionKey: exchange.sessionKey,
    role: 'sdk',
    acsTransID: ares.acsTransID,
    enc: 'A128GCM',
  });
  exchange.sessionKey.fill(0);
  const creq = sdkSession.encrypt({
    messageType: 'CReq',
    messageVersion: MESSAGE_VERSION,
    threeDSServerTransID: areq.threeDSServerTransID,
    acsTransID: ares.acsTransID,
    sdkTransID: areq.sdkTransID,
    challengeDataEntry: '123456',
  });
  transcript.creq = creq;
  await step('CReq encrypted to the ACS; CRes decrypted with the same session key', async () => {
    const { status, jose, json } = await postJose(exchange.acsURL, creq);
    ensure(status === 200 && jose !== undefined, `expected a CRes, got ${status} ${JSON.stringify(json)}`);
    transcript.cres = jose;
    const cres = sdkSession.decrypt(jose);
    ensure(
      cres.messageType === 'CRes' && cres.transStatus === 'Y',
      `expected CRes transStatus Y, got ${JSON.stringify(cres)}`,
    );
    return {
      detail: `A128GCM, sdkCounterStoA 000 / acsCounterAtoS ${cres.acsCounterAtoS}, transStatus ${cres.transStatus}`,
    };
  });
  sdkSession.close();

  // What must be refused, and is: nothing here ever yields a wrong answer.
  await step('a replayed CReq is refused by the ACS (message counter)', async () => {
    const { status, json } = await postJose(exchange.acsURL, creq);
    ensure(status === 400 && json?.messageType === 'Erro', `expected an Erro, got ${status}`);
    return { detail: `Erro ${json.errorCode}, ${json.errorDetail}` };
  });
  await step('ACS signed content with a changed signature is refused by the SDK', async () => {
    try {
      await verifyAcsSignedContent(tamper(ares.acsSignedContent, 2), { trustedRoots: [directory.dsCaRoot] });
    } catch (error) {
      ensure(error.code === 'INVALID_SIGNATURE', `expected INVALID_SIGNATURE, got ${error.code}`);
      return { detail: `${error.code}: ${error.message}` };
    }
    throw new Error('the tampered ACS signed content verified');
  });
  const otherAlg = directory.dsEncryptionAlg === 'RSA-OAEP-256' ? 'RSA-OAEP' : 'RSA-OAEP-256';
  await step(
    `device data in JWE alg ${otherAlg}, which the DS key does not do, is refused by the DS`,
    async () => {
      const sdkEncData = await encryptJwe(DEVICE_DATA, directory.dsEncryptionKey, {
        alg: otherAlg,
        enc: 'A128CBC-HS256',
      });
      const { status, json } = await postJson(`${dsUrl}/areq`, {
        ...areq,
        threeDSServerTransID: randomUUID(),
        sdkEncData,
      });
      ensure(
        status === 400 && json.errorDetail === 'sdkEncData: INVALID_INPUT',
        `expected Erro INVALID_INPUT, got ${JSON.stringify(json)}`,
      );
      return { detail: `Erro ${json.errorCode}, ${json.errorDetail}` };
    },
  );
  await step('device data with a changed ciphertext byte is refused by the DS', async () => {
    const sdkEncData = tamper(areq.sdkEncData, 3);
    const { status, json } = await postJson(`${dsUrl}/areq`, {
      ...areq,
      threeDSServerTransID: randomUUID(),
      sdkEncData,
    });
    ensure(
      status === 400 && json.errorDetail === 'sdkEncData: INVALID_CIPHERTEXT',
      `expected Erro INVALID_CIPHERTEXT, got ${JSON.stringify(json)}`,
    );
    return { detail: `Erro ${json.errorCode}, ${json.errorDetail}` };
  });
  return transcript;
}
