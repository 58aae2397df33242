// The Directory Server of the example: the card scheme's hub between 3DS Server and ACS. Its keys live in
// the HSM the configuration names:
//   ds-ca       signs the DS CA root certificate and the certificates it issues (ACS signing, DS encryption)
//   ds-decrypt  opens the device data the 3DS SDK encrypts to the DS (JWE, RSA-OAEP-256 or RSA-OAEP)
//
// Usage: node ds.mjs --config FILE. Prints "READY <url>" once it listens on 127.0.0.1 (a free port).
import { randomUUID } from 'node:crypto';
import { isKeyswitchError, Keyswitch, toJoseAlgorithm } from '@keyswitch/core';
import { decryptJwe } from '@keyswitch/jose';
import { createCertificate, readCsr } from '@keyswitch/x509';
import { argument, erroMessage, listen, onShutdown, postJson } from './lib/http.mjs';
import { auditCounter, provisionKeys } from './lib/provision-keys.mjs';

const say = (text) => console.log(text);
const ks = await Keyswitch.fromConfig(argument('--config') ?? 'keyswitch.json');
const auditSummary = auditCounter(ks);
await provisionKeys(ks, ['ds-ca', 'ds-decrypt'], say);

// The device data key. EMV 3DS asks for RSA-OAEP-256; a backend without OAEP over SHA-256 (SoftHSM2)
// must be configured with RSAES_OAEP_SHA_1 (JWE "RSA-OAEP") and the DS says so to every SDK: a JWE in
// the other algorithm is refused, never decrypted to something else.
const dsDecrypt = ks.decrypter('ds-decrypt');
const jweAlgorithm = toJoseAlgorithm(dsDecrypt.algorithm);
const capabilities = await (await ks.provider(dsDecrypt.providerName)).capabilities();
const offersOaep256 = capabilities.algorithms.includes('RSAES_OAEP_SHA_256');
say(
  `backend "${dsDecrypt.providerName}" offers RSAES_OAEP_SHA_256: ${offersOaep256 ? 'yes' : 'no (its capability manifest)'}`,
);
if (!capabilities.algorithms.includes(dsDecrypt.algorithm)) {
  console.error(
    `UNSUPPORTED_ALGORITHM: ds-decrypt is configured for ${dsDecrypt.algorithm}, which this backend does not perform`,
  );
  await ks.close();
  process.exit(1);
}
say(
  `ds-decrypt: ${dsDecrypt.algorithm}, so device data arrives as JWE alg ${jweAlgorithm}` +
    (jweAlgorithm === 'RSA-OAEP-256' ? '' : ' (SHA-1 OAEP: not what production EMV 3DS SDKs send)'),
);

// The DS CA: a self-signed root from the backend-held CA key, and the DS encryption certificate the SDK
// encrypts device data to. A scheme's root lives for years; the example makes a fresh one per start.
const dsCa = ks.signer('ds-ca');
const dsCaRoot = await createCertificate({
  signer: dsCa,
  subject: 'CN=Example DS CA,O=Example Card Scheme,C=US',
  ca: { pathLength: 1 },
  validityDays: 3650,
});
const dsEncryptionKey = await dsDecrypt.publicKey();
const dsEncryptionCertificate = await createCertificate({
  signer: dsCa,
  issuerCertificate: dsCaRoot,
  publicKey: dsEncryptionKey,
  subject: 'CN=Example DS encryption,O=Example Card Scheme,C=US',
  keyUsage: ['keyEncipherment'],
  validityDays: 730,
});
say(`DS CA root issued with ${dsCa.algorithm} by ds-ca; DS encryption certificate issued for ds-decrypt`);

let acs; // { areqUrl }: one ACS, enrolled at its start (a real DS routes by card range)

const routes = {
  // What a 3DS SDK is provisioned with: the DS CA root and the DS encryption certificate.
  'GET /directory': async () => ({
    json: { dsCaRoot, dsEncryptionCertificate, dsEncryptionAlg: jweAlgorithm, kid: dsEncryptionKey.kid },
  }),

  // ACS enrolment: the ACS sends a CSR for its signing key; the DS CA issues its certificate.
  'POST /enrol': async (body) => {
    const { csr, areqUrl } = JSON.parse(body);
    const request = readCsr(csr); // checks the CSR's signature (proof of possession)
    const certificate = await createCertificate({
      signer: dsCa,
      issuerCertificate: dsCaRoot,
      csr,
      sans: request.sans, // the DS decides which requested names it certifies: here all of them
      keyUsage: ['digitalSignature'],
      validityDays: 365,
    });
    acs = { areqUrl };
    say(
      `enrolled ACS ${request.subject
        .map((entry) => `${entry.type}=${entry.value}`)
        .reverse()
        .join(',')}: certificate issued`,
    );
    return { json: { certificateChain: [certificate, dsCaRoot] } };
  },

  // AReq from the 3DS Server: open the device data in the HSM, pass it to the ACS, return its ARes.
  'POST /areq': async (body) => {
    const areq = JSON.parse(body);
    if (areq.messageType !== 'AReq' || typeof areq.sdkEncData !== 'string') {
      return { status: 400, json: erroMessage('201', 'not an app-based AReq', 'sdkEncData') };
    }
    let deviceInfo;
    try {
      const { plaintext, protectedHeader } = await decryptJwe(areq.sdkEncData, dsDecrypt, {
        contentEncryptions: ['A128CBC-HS256', 'A128GCM'],
      });
      const deviceData = JSON.parse(Buffer.from(plaintext).toString('utf8'));
      say(
        `AReq ${areq.threeDSServerTransID}: device data decrypted in the HSM (${protectedHeader.alg}, ${protectedHeader.enc}): ${Object.keys(deviceData.DD ?? {}).length} device parameters`,
      );
      deviceInfo = Buffer.from(plaintext).toString('base64url');
    } catch (error) {
      if (!isKeyswitchError(error, 'INVALID_INPUT', 'INVALID_CIPHERTEXT')) throw error;
      say(`AReq ${areq.threeDSServerTransID}: device data refused: ${error.code}: ${error.message}`);
      return {
        status: 400,
        json: erroMessage('302', 'data decryption failure', `sdkEncData: ${error.code}`),
      };
    }
    if (!acs) return { status: 400, json: erroMessage('303', 'no ACS for this card range', 'acctNumber') };
    const { sdkEncData: _, ...forwarded } = areq;
    const dsTransID = randomUUID();
    const { status, json } = await postJson(acs.areqUrl, { ...forwarded, dsTransID, deviceInfo });
    say(`ARes from the ACS: ${json.messageType} transStatus ${json.transStatus ?? '-'}`);
    return { status, json: { ...json, dsTransID } };
  },
};

const server = await listen(routes, say);
onShutdown(async () => {
  await server.close();
  await ks.close();
  say(`key operations (audit events): ${auditSummary()}`);
});
say(`READY ${server.url}`);
