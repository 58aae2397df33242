// The keyswitch quick start: what a 3-D Secure ACS and a PCI DSS card vault ask of their HSM, on the
// software HSM, with no setup. Change keyswitch.json to run the same code on PKCS#11 or AWS KMS.
import { createPublicKey, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { isKeyswitchError, Keyswitch } from '@keyswitch/core';

const configFile = fileURLToPath(new URL('keyswitch.json', import.meta.url));
const encoder = new TextEncoder();
const say = (text) => console.log(text);
const hex = (bytes, n = 16) =>
  `${Buffer.from(bytes)
    .toString('hex')
    .slice(0, n * 2)}…`;
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

const ks = await Keyswitch.fromConfig(configFile);
const audit = [];
ks.onAudit((event) => audit.push(event));

// The in-memory software HSM starts empty: create each configured key once, as an operator would in a
// real HSM. Application code below only ever names logical keys.
const dev = await ks.provider('dev');
for (const name of ks.keyNames()) {
  const { ref, spec, usage } = ks.keyConfig(name);
  await dev.createKey({ spec, usage, label: ref });
  say(`provisioned ${name.padEnd(12)} ${spec} for ${usage} in the software HSM`);
}

// 1. An ACS signs the content of its authentication response as a compact JWS (ES256).
const acs = ks.signer('acs-signing');
const publicKey = await acs.publicKey();
const header = { alg: acs.joseAlgorithm, kid: publicKey.kid };
const claims = { acsEphemPubKey: { kty: 'EC', crv: 'P-256' }, sdkEphemPubKey: { kty: 'EC', crv: 'P-256' } };
const signingInput = `${b64url(encoder.encode(JSON.stringify(header)))}.${b64url(encoder.encode(JSON.stringify(claims)))}`;
const signature = await acs.sign(encoder.encode(signingInput), { format: 'P1363' });
const jws = `${signingInput}.${b64url(signature)}`;
// Checked independently by node:crypto with the exported JWK, as the 3DS SDK would.
const independent = verify(
  'sha256',
  encoder.encode(signingInput),
  { key: createPublicKey({ key: publicKey.jwk(), format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
  signature,
);
say(
  `\nACS signed content (JWS ${acs.joseAlgorithm}, kid ${publicKey.kid.slice(0, 12)}…): ${jws.length} characters`,
);
say(
  `  verified by keyswitch: ${await acs.verify(encoder.encode(signingInput), signature, { format: 'P1363' })}`,
);
say(`  verified by node:crypto with the exported JWK: ${independent}`);

// 2. A card vault encrypts a record under a key-encryption key, bound to its tenant.
const kek = ks.encrypter('pan-kek');
const record = encoder.encode(JSON.stringify({ pan: '4111111111111111', expiry: '12/29' }));
const ciphertext = await kek.encrypt(record, { context: { tenant: 't1', table: 'cards' } });
const opened = await kek.decrypt(ciphertext, { context: { tenant: 't1', table: 'cards' } });
say(
  `\nrecord encrypted with SYMMETRIC_DEFAULT (AES-256-GCM): ${ciphertext.length} bytes, ${hex(ciphertext)}`,
);
say(
  `  decrypted with the same context: ${Buffer.compare(Buffer.from(opened), Buffer.from(record)) === 0 ? 'identical' : 'DIFFERENT'}`,
);
try {
  await kek.decrypt(ciphertext, { context: { tenant: 't2', table: 'cards' } });
  say('  decrypted with another tenant: UNEXPECTEDLY SUCCEEDED');
  process.exitCode = 1;
} catch (error) {
  if (!isKeyswitchError(error, 'INVALID_CIPHERTEXT')) throw error;
  say(`  decrypted with another tenant's context: refused (${error.code})`);
}

// 3. A keyed hash of the PAN, for looking cards up without storing the PAN in clear (PCI DSS 3.5.1.1).
const panHmac = ks.mac('pan-hmac');
const token = await panHmac.generate(encoder.encode('4111111111111111'));
say(`\nPAN lookup token (HMAC_SHA_256): ${hex(token, 32)}`);
say(
  `  same PAN gives the same token: ${Buffer.compare(Buffer.from(token), Buffer.from(await panHmac.generate(encoder.encode('4111111111111111')))) === 0}`,
);

await ks.close();
const failures = audit.filter((event) => event.outcome === 'failure').length;
say(
  `\naudit: ${audit.length} events (${failures} refused), e.g. ${JSON.stringify(audit.find((e) => e.operation === 'sign'))}`,
);
if (!independent) process.exitCode = 1;
