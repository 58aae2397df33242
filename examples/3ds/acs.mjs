// The Access Control Server of the example: the issuer's side. Its signing key lives in the HSM the
// configuration names:
//   acs-signing  signs the ACS signed content of every app-based ARes (ES256 here; PS256 with an RSA key)
// At start it asks the DS CA for its certificate with a CSR, then answers AReqs (key exchange) and CReqs
// (the challenge, encrypted with the session key).
//
// Usage: node acs.mjs --config FILE --ds URL. Prints "READY <url>" once enrolled and listening.
import { randomUUID } from 'node:crypto';
import { isKeyswitchError, Keyswitch } from '@keyswitch/core';
import { acsKeyExchange, ChallengeSession } from '@keyswitch/jose';
import { createCsr } from '@keyswitch/x509';
import { argument, erroMessage, listen, MESSAGE_VERSION, onShutdown, postJson } from './lib/http.mjs';
import { auditCounter, provisionKeys } from './lib/provision-keys.mjs';

const say = (text) => console.log(text);
const dsUrl = argument('--ds');
if (!dsUrl) throw new Error('usage: node acs.mjs --config FILE --ds URL');
const ks = await Keyswitch.fromConfig(argument('--config') ?? 'keyswitch.json');
const auditSummary = auditCounter(ks);
await provisionKeys(ks, ['acs-signing'], say);
const acsSigning = ks.signer('acs-signing');

const ONE_TIME_PASSCODE = '123456'; // what the cardholder types; a real ACS sends it by SMS
const sessions = new Map(); // acsTransID -> { session, areq }

const routes = {
  // AReq from the DS (device data already opened by the DS, as deviceInfo): agree the session key with
  // the SDK's ephemeral key and sign the ACS signed content with the HSM-held key.
  'POST /areq': async (body) => {
    const areq = JSON.parse(body);
    const deviceData = JSON.parse(Buffer.from(areq.deviceInfo ?? '', 'base64url').toString('utf8') || '{}');
    const acsTransID = randomUUID();
    let exchange;
    try {
      exchange = await acsKeyExchange({
        signer: acsSigning,
        certificateChain,
        sdkEphemPubKey: areq.sdkEphemPubKey,
        sdkReferenceNumber: areq.sdkReferenceNumber,
        acsURL: `${server.url}/challenge`,
      });
    } catch (error) {
      if (!isKeyswitchError(error, 'INVALID_INPUT', 'INVALID_SIGNATURE')) throw error; // a backend failure answers 500
      say(`AReq refused: ${error.message}`);
      return { status: 400, json: erroMessage('203', 'invalid data element', error.message, 'A') };
    }
    const { acsSignedContent, sessionKey } = exchange;
    sessions.set(acsTransID, {
      session: new ChallengeSession({ sessionKey, role: 'acs', acsTransID }),
      areq,
    });
    sessionKey.fill(0); // the session holds its own copy
    say(
      `AReq from ${deviceData.DD?.C001 ?? 'unknown'} device: session key agreed (ECDH P-256), ACS signed content signed with ${acsSigning.joseAlgorithm} by acs-signing`,
    );
    return {
      json: {
        messageType: 'ARes',
        messageVersion: MESSAGE_VERSION,
        threeDSServerTransID: areq.threeDSServerTransID,
        sdkTransID: areq.sdkTransID,
        dsTransID: areq.dsTransID,
        acsTransID,
        acsReferenceNumber: 'EXAMPLE-ACS-0001',
        transStatus: 'C',
        acsChallengeMandated: 'Y',
        authenticationType: '02',
        acsRenderingType: { acsInterface: '01', acsUiTemplate: '01' },
        acsSignedContent,
      },
    };
  },

  // CReq from the SDK, a JWE under the session key: decrypt (checking the counter), answer a CRes.
  'POST /challenge': async (body) => {
    let acsTransID;
    try {
      acsTransID = JSON.parse(Buffer.from(body.split('.')[0], 'base64url').toString('utf8')).kid;
    } catch {
      acsTransID = undefined;
    }
    const entry = sessions.get(acsTransID);
    if (!entry) return { status: 400, json: erroMessage('201', 'unknown acsTransID', 'kid', 'A') };
    let creq;
    try {
      creq = entry.session.decrypt(body);
    } catch (error) {
      if (!isKeyswitchError(error, 'INVALID_INPUT', 'INVALID_CIPHERTEXT')) throw error;
      say(`CReq for ${acsTransID} refused: ${error.code}: ${error.message}`);
      return { status: 400, json: erroMessage('302', 'data decryption failure', `CReq: ${error.code}`, 'A') };
    }
    const passed = creq.challengeDataEntry === ONE_TIME_PASSCODE;
    say(
      `CReq ${creq.sdkCounterStoA} decrypted (${entry.session.state.enc}): passcode ${passed ? 'correct' : 'wrong'}`,
    );
    const cres = entry.session.encrypt({
      messageType: 'CRes',
      messageVersion: MESSAGE_VERSION,
      threeDSServerTransID: creq.threeDSServerTransID,
      sdkTransID: creq.sdkTransID,
      acsTransID,
      challengeCompletionInd: 'Y',
      transStatus: passed ? 'Y' : 'N',
    });
    // The session stays until the transaction times out, so a replayed CReq meets its counter check.
    return { jose: cres };
  },
};

const server = await listen(routes, say);

// Enrolment: a CSR signed by the HSM-held key (proof of possession); the DS CA returns the chain.
const csr = await createCsr({
  signer: acsSigning,
  subject: 'CN=acs.example-bank.test,O=Example Bank,C=US',
  sans: ['DNS:acs.example-bank.test'],
});
const enrolment = await postJson(`${dsUrl}/enrol`, { csr, areqUrl: `${server.url}/areq` });
if (enrolment.status !== 200) throw new Error(`enrolment failed: ${JSON.stringify(enrolment.json)}`);
const { certificateChain } = enrolment.json;
say(
  `CSR for acs-signing sent to the DS CA; certificate chain received (${certificateChain.length} certificates)`,
);

onShutdown(async () => {
  await server.close();
  for (const { session } of sessions.values()) session.close();
  await ks.close();
  say(`key operations (audit events): ${auditSummary()}`);
});
say(`READY ${server.url}`);
