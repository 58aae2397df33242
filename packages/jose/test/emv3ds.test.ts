import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { type EcPublicJwk, Keyswitch } from '@keyswitch/core';
import { createCertificate, createCsr } from '@keyswitch/x509';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acsKeyExchange,
  type ChallengeEncryption,
  ChallengeSession,
  createAcsSignedContent,
  decryptChallengeMessage,
  type EphemeralKeyPair,
  encryptChallengeMessage,
  generateEphemeralKeyPair,
  sdkKeyExchange,
  signJws,
  verifyAcsSignedContent,
} from '../src/index.js';
import { bytes, hsmSigner, openSharedKeys, rejection, type SharedKeys, text } from './support/keys.js';

let keys: SharedKeys;
let dsRoot: string;
let acsRsaCertificate: string;
let acsEcCertificate: string;
let otherRoot: string;
beforeAll(async () => {
  keys = await openSharedKeys();
  const dsCa = hsmSigner(keys.hsm, 'ec384', 'ECDSA_SHA_384');
  dsRoot = await createCertificate({
    signer: dsCa,
    subject: { CN: 'Example DS CA', O: 'Example Scheme' },
    ca: true,
  });
  acsRsaCertificate = await createCertificate({
    signer: dsCa,
    issuerCertificate: dsRoot,
    csr: await createCsr({
      signer: hsmSigner(keys.hsm, 'rsa-sign', 'RSASSA_PSS_SHA_256'),
      subject: { CN: 'ACS RSA' },
    }),
  });
  acsEcCertificate = await createCertificate({
    signer: dsCa,
    issuerCertificate: dsRoot,
    csr: await createCsr({
      signer: hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'),
      subject: { CN: 'ACS EC' },
    }),
  });
  otherRoot = await createCertificate({
    signer: hsmSigner(keys.hsm, 'ec521', 'ECDSA_SHA_512'),
    subject: { CN: 'Other' },
    ca: true,
  });
});
afterAll(() => keys.hsm.close());

const SDK_REFERENCE_NUMBER = '3DS_LOA_SDK_ABCD_020100_00001';
const ACS_TRANS_ID = 'd7c1ee99-9478-44a6-b1f2-391e29c6b340';
const ACS_URL = 'https://acs.example-bank.com/3ds/challenge';
// The EMV session key of the RFC 7518 Appendix C keys and SDK_REFERENCE_NUMBER (see concat-kdf.test.ts).
const SESSION_KEY = Buffer.from('4f8389c778ac17e94fbea9c8b99bcc42eb66ba75dfb1db56bb4494deee95cb8c', 'hex');

describe('generateEphemeralKeyPair', () => {
  it('writes 32-byte coordinates, leading zero bytes included', async () => {
    let padded: EcPublicJwk | undefined;
    for (let attempt = 0; attempt < 3000 && padded === undefined; attempt += 1) {
      const { publicJwk } = await generateEphemeralKeyPair();
      const x = Buffer.from(publicJwk.x, 'base64url');
      const y = Buffer.from(publicJwk.y, 'base64url');
      expect(x).toHaveLength(32);
      expect(y).toHaveLength(32);
      if (x[0] === 0 || y[0] === 0) padded = publicJwk;
    }
    expect(padded, 'no coordinate with a leading zero byte in 3,000 keys').toBeDefined();
    expect(padded!.x).toHaveLength(43);
    expect(padded!.y).toHaveLength(43);
  });

  it('agrees the same secret as the peer, and only on P-256', async () => {
    const pair = await generateEphemeralKeyPair();
    const ours = await pair.deriveSharedSecret(keys.ecdh.publicKey.export({ format: 'jwk' }) as EcPublicJwk);
    const theirs = diffieHellman({
      privateKey: keys.ecdh.privateKey,
      publicKey: createPublicKey({ key: pair.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
    });
    expect(Buffer.from(ours)).toEqual(theirs);
    const p384 = await keys.hsm.getPublicKey('ec384');
    expect((await rejection(pair.deriveSharedSecret(p384.jwk()))).message).toMatch(/P-256/);
  });
});

describe('CReq/CRes (encryptChallengeMessage, decryptChallengeMessage)', () => {
  const creq = {
    messageType: 'CReq',
    messageVersion: '2.2.0',
    acsTransID: ACS_TRANS_ID,
    sdkCounterStoA: '005',
  };
  const cases: readonly [ChallengeEncryption, 'sdk-to-acs' | 'acs-to-sdk', string, Uint8Array][] = [
    ['A128CBC-HS256', 'sdk-to-acs', `${'00'.repeat(15)}05`, SESSION_KEY],
    ['A128CBC-HS256', 'acs-to-sdk', `${'ff'.repeat(15)}05`, SESSION_KEY],
    ['A128GCM', 'sdk-to-acs', `${'00'.repeat(11)}05`, SESSION_KEY.subarray(0, 16)],
    ['A128GCM', 'acs-to-sdk', `${'ff'.repeat(11)}05`, SESSION_KEY.subarray(16)],
  ];

  it.each(cases)(
    '%s %s: byte for byte what jose makes with the counter IV and key part',
    async (enc, direction, ivHex, key) => {
      const ours = encryptChallengeMessage(creq, {
        sessionKey: SESSION_KEY,
        direction,
        counter: 5,
        enc,
        acsTransID: ACS_TRANS_ID,
      });
      const expected = await new jose.CompactEncrypt(bytes(JSON.stringify(creq)))
        .setProtectedHeader({ alg: 'dir', enc, kid: ACS_TRANS_ID })
        .setInitializationVector(Buffer.from(ivHex, 'hex'))
        .encrypt(key);
      expect(ours).toBe(expected);
      const { plaintext, protectedHeader } = await jose.compactDecrypt(ours, key);
      expect(JSON.parse(text(plaintext))).toEqual(creq);
      expect(protectedHeader).toEqual({ alg: 'dir', enc, kid: ACS_TRANS_ID });

      const back = decryptChallengeMessage(expected, {
        sessionKey: SESSION_KEY,
        direction,
        counter: 5,
        acsTransID: ACS_TRANS_ID,
      });
      expect(JSON.parse(text(back.plaintext))).toEqual(creq);
    },
  );

  it('refuses another counter, direction, kid or alg', async () => {
    const options = {
      sessionKey: SESSION_KEY,
      direction: 'sdk-to-acs',
      counter: 1,
      acsTransID: ACS_TRANS_ID,
    } as const;
    const jwe = encryptChallengeMessage(creq, options);
    expect((await rejection(() => decryptChallengeMessage(jwe, { ...options, counter: 2 }))).code).toBe(
      'INVALID_CIPHERTEXT',
    );
    expect(
      (await rejection(() => decryptChallengeMessage(jwe, { ...options, direction: 'acs-to-sdk' }))).code,
    ).toBe('INVALID_CIPHERTEXT');
    expect(
      (await rejection(() => decryptChallengeMessage(jwe, { ...options, acsTransID: 'other' }))).message,
    ).toMatch(/kid/);
    const gcmOnly = { ...options, encryptions: ['A128GCM'] as const };
    expect((await rejection(() => decryptChallengeMessage(jwe, gcmOnly))).message).toMatch(/not accepted/);
    const wrongKey = Buffer.from(SESSION_KEY).fill(7);
    expect(
      (await rejection(() => decryptChallengeMessage(jwe, { ...options, sessionKey: wrongKey }))).code,
    ).toBe('INVALID_CIPHERTEXT');
    const rsa = await new jose.CompactEncrypt(bytes('{}'))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256' })
      .encrypt(keys.rsa.publicKey);
    expect((await rejection(() => decryptChallengeMessage(rsa, options))).message).toMatch(/"dir"/);
    expect(
      (await rejection(() => encryptChallengeMessage(creq, { ...options, counter: 256 }))).message,
    ).toMatch(/0 to 255/);
    expect(
      (
        await rejection(() =>
          encryptChallengeMessage(creq, { ...options, sessionKey: SESSION_KEY.subarray(16) }),
        )
      ).message,
    ).toMatch(/32 bytes/);
  });
});

describe('ChallengeSession', () => {
  it('runs CReq/CRes rounds with counters, and the ACS answers in the SDK’s encryption', () => {
    const sdk = new ChallengeSession({
      sessionKey: SESSION_KEY,
      role: 'sdk',
      acsTransID: ACS_TRANS_ID,
      enc: 'A128GCM',
    });
    const acs = new ChallengeSession({ sessionKey: SESSION_KEY, role: 'acs', acsTransID: ACS_TRANS_ID });
    for (let round = 0; round < 3; round += 1) {
      const creq = sdk.encrypt({
        messageType: 'CReq',
        acsTransID: ACS_TRANS_ID,
        challengeDataEntry: `12345${round}`,
      });
      const received = acs.decrypt(creq);
      expect(received).toMatchObject({ sdkCounterStoA: `00${round}`, challengeDataEntry: `12345${round}` });
      const cres = acs.encrypt({
        messageType: 'CRes',
        acsTransID: ACS_TRANS_ID,
        challengeCompletionInd: 'N',
      });
      expect(jose.decodeProtectedHeader(cres).enc).toBe('A128GCM');
      expect(sdk.decrypt(cres)).toMatchObject({ messageType: 'CRes', acsCounterAtoS: `00${round}` });
    }
    expect(acs.state).toEqual({
      acsTransID: ACS_TRANS_ID,
      enc: 'A128GCM',
      sendCounter: 3,
      receiveCounter: 3,
    });
  });

  it('refuses replays, wrong counter fields, and use after close; resumes from stored state', async () => {
    const sdk = new ChallengeSession({ sessionKey: SESSION_KEY, role: 'sdk', acsTransID: ACS_TRANS_ID });
    const acs = new ChallengeSession({ sessionKey: SESSION_KEY, role: 'acs', acsTransID: ACS_TRANS_ID });
    const first = sdk.encrypt({ messageType: 'CReq' });
    acs.decrypt(first);
    expect((await rejection(() => acs.decrypt(first))).code).toBe('INVALID_CIPHERTEXT');
    expect(
      (await rejection(() => sdk.encrypt({ messageType: 'CReq', sdkCounterStoA: '000' }))).message,
    ).toMatch(/sends 001/);
    // A message whose IV is right but whose counter field lies.
    const lying = encryptChallengeMessage(
      { messageType: 'CReq', sdkCounterStoA: '007' },
      { sessionKey: SESSION_KEY, direction: 'sdk-to-acs', counter: 1, acsTransID: ACS_TRANS_ID },
    );
    expect((await rejection(() => acs.decrypt(lying))).message).toMatch(/sdkCounterStoA is not 001/);

    const resumed = new ChallengeSession({
      sessionKey: SESSION_KEY,
      role: 'acs',
      ...acs.state,
      enc: 'A128CBC-HS256',
    });
    expect(resumed.decrypt(sdk.encrypt({ messageType: 'CReq' }))).toMatchObject({ sdkCounterStoA: '001' });
    resumed.close();
    expect((await rejection(() => resumed.encrypt({}))).code).toBe('CLOSED');
    expect(SESSION_KEY[0]).toBe(0x4f); // close() zeroes the session's copy, not the caller's key
    const fresh = new ChallengeSession({ sessionKey: SESSION_KEY, role: 'acs', acsTransID: ACS_TRANS_ID });
    expect((await rejection(() => fresh.encrypt({ messageType: 'CRes' }))).message).toMatch(
      /decrypt one first/,
    );
  });
});

describe('acsSignedContent and the key exchange', () => {
  it.each([
    ['PS256', 'rsa-sign', 'RSASSA_PSS_SHA_256', () => acsRsaCertificate],
    ['ES256', 'ec256', 'ECDSA_SHA_256', () => acsEcCertificate],
  ] as const)(
    '%s: the SDK verifies it to the DS root and agrees the ACS session key',
    async (alg, ref, algorithm, certificate) => {
      const sdkEphemeral = await generateEphemeralKeyPair();
      const acs = await acsKeyExchange({
        signer: hsmSigner(keys.hsm, ref, algorithm),
        certificateChain: [certificate()],
        sdkEphemPubKey: JSON.stringify(sdkEphemeral.publicJwk),
        sdkReferenceNumber: SDK_REFERENCE_NUMBER,
        acsURL: ACS_URL,
      });
      const sdk = await sdkKeyExchange({
        acsSignedContent: acs.acsSignedContent,
        trustedRoots: [dsRoot],
        sdkEphemeralKeyPair: sdkEphemeral,
        sdkReferenceNumber: SDK_REFERENCE_NUMBER,
      });
      expect(Buffer.from(sdk.sessionKey)).toEqual(Buffer.from(acs.sessionKey));
      expect(sdk.acsURL).toBe(ACS_URL);
      expect(sdk.acsEphemPubKey).toEqual(acs.acsEphemPubKey);

      // The jose package verifies the JWS with the x5c leaf; its payload is what EMV 3DS specifies.
      const { payload, protectedHeader } = await jose.compactVerify(
        acs.acsSignedContent,
        await jose.importX509(certificate(), alg),
      );
      expect(protectedHeader.alg).toBe(alg);
      expect(protectedHeader.x5c).toHaveLength(1);
      expect(Object.keys(JSON.parse(text(payload)))).toEqual(['acsEphemPubKey', 'sdkEphemPubKey', 'acsURL']);
      expect(JSON.parse(text(payload)).sdkEphemPubKey).toEqual(sdkEphemeral.publicJwk);

      // A CReq the SDK encrypts under its session key, the jose package decrypts with the ACS's.
      const creq = encryptChallengeMessage(
        { messageType: 'CReq', sdkCounterStoA: '000' },
        {
          sessionKey: sdk.sessionKey,
          direction: 'sdk-to-acs',
          counter: 0,
          acsTransID: ACS_TRANS_ID,
        },
      );
      expect(JSON.parse(text((await jose.compactDecrypt(creq, acs.sessionKey)).plaintext)).messageType).toBe(
        'CReq',
      );
    },
  );

  it('reproduces a fixed vector with fixed ephemeral keys', async () => {
    // The ACS ephemeral key is RFC 7518's "Alice", the SDK's is "Bob": the session key is SESSION_KEY.
    const alice = createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: 'gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0',
        y: 'SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps',
        d: '0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo',
      },
      format: 'jwk',
    });
    const alicePublic = createPublicKey(alice).export({ format: 'jwk' }) as EcPublicJwk;
    const fixedAcs = {
      publicJwk: { kty: 'EC', crv: 'P-256', x: alicePublic.x, y: alicePublic.y } as EcPublicJwk,
      deriveSharedSecret: async (peer: Parameters<EphemeralKeyPair['deriveSharedSecret']>[0]) =>
        new Uint8Array(
          diffieHellman({
            privateKey: alice,
            publicKey: createPublicKey({ key: peer as import('node:crypto').JsonWebKey, format: 'jwk' }),
          }),
        ),
    };
    const bob = {
      kty: 'EC',
      crv: 'P-256',
      x: 'weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ',
      y: 'e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck',
    } as EcPublicJwk;
    const { sessionKey } = await acsKeyExchange({
      signer: hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'),
      certificateChain: [acsEcCertificate],
      sdkEphemPubKey: bob,
      sdkReferenceNumber: SDK_REFERENCE_NUMBER,
      acsURL: ACS_URL,
      ephemeralKeyPair: fixedAcs,
    });
    expect(Buffer.from(sessionKey)).toEqual(SESSION_KEY);
  });

  it('refuses a swapped SDK key, another root, another algorithm, and a signer without PS256/ES256', async () => {
    const sdkEphemeral = await generateEphemeralKeyPair();
    const impostor = await generateEphemeralKeyPair();
    const signer = hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256');
    const content = {
      acsURL: ACS_URL,
      acsEphemPubKey: impostor.publicJwk,
      sdkEphemPubKey: impostor.publicJwk,
    };
    const jws = await createAcsSignedContent(content, signer, { certificateChain: [acsEcCertificate] });
    const swapped = await rejection(
      verifyAcsSignedContent(jws, { trustedRoots: [dsRoot], sdkEphemPubKey: sdkEphemeral.publicJwk }),
    );
    expect(swapped.message).toMatch(/does not hold this SDK's ephemeral public key/);
    expect((await rejection(verifyAcsSignedContent(jws, { trustedRoots: [otherRoot] }))).message).toMatch(
      /trusted root/,
    );

    const rs256 = hsmSigner(keys.hsm, 'rsa-sign', 'RSASSA_PKCS1_V1_5_SHA_256');
    expect(
      (await rejection(createAcsSignedContent(content, rs256, { certificateChain: [acsRsaCertificate] })))
        .message,
    ).toMatch(/PS256 or ES256/);
    const rs256Jws = await signJws(content, rs256, { x5c: [acsRsaCertificate] });
    expect((await rejection(verifyAcsSignedContent(rs256Jws, { trustedRoots: [dsRoot] }))).message).toMatch(
      /"RS256" is not accepted/,
    );
    const badKey = {
      ...content,
      sdkEphemPubKey: { ...impostor.publicJwk, x: impostor.publicJwk.y.slice(0, 40) },
    };
    expect(
      (await rejection(createAcsSignedContent(badKey, signer, { certificateChain: [acsEcCertificate] })))
        .message,
    ).toMatch(/sdkEphemPubKey/);
    const noUrl = await signJws({ ...content, acsURL: undefined }, signer, { x5c: [acsEcCertificate] });
    expect((await rejection(verifyAcsSignedContent(noUrl, { trustedRoots: [dsRoot] }))).message).toMatch(
      /acsURL/,
    );
  });

  it('runs end to end on keyswitch handles from configuration', async () => {
    const ks = await Keyswitch.fromConfig({
      environment: 'test',
      providers: { dev: { type: 'soft-hsm' } },
      keys: {
        'ds-ca': { provider: 'dev', ref: 'ds-ca', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
        'acs-signing': { provider: 'dev', ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
      },
    });
    try {
      const provider = await ks.provider('dev');
      for (const name of ks.keyNames()) {
        const { ref, spec, usage } = ks.keyConfig(name);
        await provider.createKey({ spec, usage, label: ref });
      }
      const root = await createCertificate({
        signer: ks.signer('ds-ca'),
        subject: { CN: 'DS CA' },
        ca: true,
      });
      const acsCertificate = await createCertificate({
        signer: ks.signer('ds-ca'),
        issuerCertificate: root,
        csr: await createCsr({ signer: ks.signer('acs-signing'), subject: { CN: 'acs.example-bank.com' } }),
      });
      const sdkEphemeral = await generateEphemeralKeyPair();
      const acs = await acsKeyExchange({
        signer: ks.signer('acs-signing'),
        certificateChain: [acsCertificate],
        sdkEphemPubKey: sdkEphemeral.publicJwk,
        sdkReferenceNumber: SDK_REFERENCE_NUMBER,
        acsURL: ACS_URL,
      });
      const sdk = await sdkKeyExchange({
        acsSignedContent: acs.acsSignedContent,
        trustedRoots: [root],
        sdkEphemeralKeyPair: sdkEphemeral,
        sdkReferenceNumber: SDK_REFERENCE_NUMBER,
      });
      const sdkSession = new ChallengeSession({
        sessionKey: sdk.sessionKey,
        role: 'sdk',
        acsTransID: ACS_TRANS_ID,
      });
      const acsSession = new ChallengeSession({
        sessionKey: acs.sessionKey,
        role: 'acs',
        acsTransID: ACS_TRANS_ID,
      });
      const creq = acsSession.decrypt(
        sdkSession.encrypt({ messageType: 'CReq', challengeDataEntry: '123456' }),
      );
      expect(creq['challengeDataEntry']).toBe('123456');
      const cres = sdkSession.decrypt(acsSession.encrypt({ messageType: 'CRes', transStatus: 'Y' }));
      expect(cres).toMatchObject({ transStatus: 'Y', acsCounterAtoS: '000' });
    } finally {
      await ks.close();
    }
  });
});
