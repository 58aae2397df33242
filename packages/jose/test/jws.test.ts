import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { jwkThumbprint, Keyswitch, type SigningAlgorithm } from '@keyswitch/core';
import { createCertificate } from '@keyswitch/x509';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JwsAlgorithm, signJws, verifyCertificateChain, verifyJws } from '../src/index.js';
import { bytes, hsmSigner, openSharedKeys, rejection, type SharedKeys, text } from './support/keys.js';

let keys: SharedKeys;
beforeAll(async () => {
  keys = await openSharedKeys();
});
afterAll(() => keys.hsm.close());

const MATRIX: readonly [JwsAlgorithm, string, SigningAlgorithm][] = [
  ['PS256', 'rsa-sign', 'RSASSA_PSS_SHA_256'],
  ['PS384', 'rsa-sign', 'RSASSA_PSS_SHA_384'],
  ['PS512', 'rsa-sign', 'RSASSA_PSS_SHA_512'],
  ['RS256', 'rsa-sign', 'RSASSA_PKCS1_V1_5_SHA_256'],
  ['RS384', 'rsa-sign', 'RSASSA_PKCS1_V1_5_SHA_384'],
  ['RS512', 'rsa-sign', 'RSASSA_PKCS1_V1_5_SHA_512'],
  ['ES256', 'ec256', 'ECDSA_SHA_256'],
  ['ES384', 'ec384', 'ECDSA_SHA_384'],
  ['ES512', 'ec521', 'ECDSA_SHA_512'],
];

const payload = { messageType: 'ARes', transStatus: 'C', acsTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e' };

describe('signJws', () => {
  it.each(MATRIX)(
    '%s: the jose package and verifyJws verify what the backend signed',
    async (alg, ref, algorithm) => {
      const signer = hsmSigner(keys.hsm, ref, algorithm);
      const publicKey = await signer.publicKey();
      const jws = await signJws(payload, signer, { kid: true, typ: 'JOSE' });

      const fromJose = await jose.compactVerify(jws, await jose.importSPKI(publicKey.pem(), alg), {
        algorithms: [alg],
      });
      expect(JSON.parse(text(fromJose.payload))).toEqual(payload);
      expect(fromJose.protectedHeader).toEqual({ alg, kid: publicKey.kid, typ: 'JOSE' });
      expect(publicKey.kid).toBe(await jose.calculateJwkThumbprint(publicKey.jwk()));

      const ours = await verifyJws(jws, { key: publicKey.jwk() });
      expect(JSON.parse(text(ours.payload))).toEqual(payload);
      expect(ours.protectedHeader.alg).toBe(alg);
      expect(ours.publicKey.kid).toBe(publicKey.kid);
    },
  );

  it('signs through a keyswitch Signer handle from configuration, long payloads as digests', async () => {
    const ks = await Keyswitch.fromConfig({
      environment: 'test',
      providers: { dev: { type: 'soft-hsm' } },
      keys: {
        'acs-signing': { provider: 'dev', ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
      },
    });
    try {
      await (await ks.provider('dev')).createKey({
        spec: 'ECC_NIST_P256',
        usage: 'SIGN_VERIFY',
        label: 'acs',
      });
      const signer = ks.signer('acs-signing');
      const long = 'x'.repeat(10_000);
      const jws = await signJws(long, signer, { kid: 'acs-2025' });
      const key = await jose.importJWK((await signer.publicKey()).jwk(), 'ES256');
      const { payload: verified, protectedHeader } = await jose.compactVerify(jws, key);
      expect(text(verified)).toBe(long);
      expect(protectedHeader.kid).toBe('acs-2025');
    } finally {
      await ks.close();
    }
  });

  it('accepts a signer that answers ECDSA in DER whatever it is asked', async () => {
    const inner = hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256');
    const derOnly = {
      algorithm: inner.algorithm,
      sign: (message: Uint8Array) => inner.sign(message, { format: 'DER' }),
    };
    const jws = await signJws('hello', derOnly);
    await expect(verifyJws(jws, { key: await inner.publicKey() })).resolves.toBeDefined();
  });

  it('refuses non-JWS algorithms and reserved header members', async () => {
    const encrypter = {
      algorithm: 'RSAES_OAEP_SHA_256' as SigningAlgorithm,
      sign: async () => new Uint8Array(1),
    };
    expect((await rejection(signJws('x', encrypter))).message).toMatch(/not a JWS signing algorithm/);
    const signer = hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256');
    expect((await rejection(signJws('x', signer, { header: { alg: 'none' } }))).message).toMatch(/"alg"/);
    expect((await rejection(signJws('x', signer, { header: { crit: ['b64'] } }))).message).toMatch(/"crit"/);
  });
});

describe('verifyJws', () => {
  const softwareKeys = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
  function softwareKey(alg: JwsAlgorithm) {
    if (alg.startsWith('PS') || alg.startsWith('RS')) return keys.rsa;
    const curve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg as 'ES256']!;
    if (!softwareKeys.has(curve)) softwareKeys.set(curve, generateKeyPairSync('ec', { namedCurve: curve }));
    return softwareKeys.get(curve)!;
  }

  it.each(MATRIX.map(([alg]) => alg))('%s: verifies what the jose package signed', async (alg) => {
    const { privateKey, publicKey } = softwareKey(alg);
    const jws = await new jose.CompactSign(bytes('from jose'))
      .setProtectedHeader({ alg, kid: 'k1' })
      .sign(privateKey);
    const verified = await verifyJws(jws, { key: publicKey });
    expect(text(verified.payload)).toBe('from jose');
    expect(verified.protectedHeader).toEqual({ alg, kid: 'k1' });
    const pem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    await expect(verifyJws(jws, { key: pem, algorithms: [alg] })).resolves.toBeDefined();
  });

  it('refuses alg none, HMAC, algorithms not allowed, and keys that do not fit the algorithm', async () => {
    const rsaPem = keys.rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${segment({ alg: 'none' })}.${segment(payload)}.`;
    const none = await rejection(verifyJws(unsigned, { key: rsaPem }));
    expect(none.message).toMatch(/"none".*never accepted/);
    expect(none.code).toBe('INVALID_SIGNATURE');
    const hmac = await new jose.CompactSign(bytes('x'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new Uint8Array(32));
    const hs256 = await rejection(verifyJws(hmac, { key: rsaPem }));
    expect(hs256.message).toMatch(/"HS256" is not accepted/);
    expect(hs256.code).toBe('UNSUPPORTED_ALGORITHM');

    const es256 = await signJws('x', hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'));
    expect((await rejection(verifyJws(es256, { key: rsaPem }))).message).toMatch(
      /needs an EC P-256 key, not an RSA key/,
    );
    const p384 = await keys.hsm.getPublicKey('ec384');
    expect((await rejection(verifyJws(es256, { key: p384.spki }))).message).toMatch(/not an EC P-384 key/);
    const ps256 = await signJws('x', hsmSigner(keys.hsm, 'rsa-sign', 'RSASSA_PSS_SHA_256'));
    expect((await rejection(verifyJws(ps256, { key: p384.jwk() }))).message).toMatch(/needs an RSA key/);
    const notAllowed = await rejection(verifyJws(ps256, { key: rsaPem, algorithms: ['ES256'] }));
    expect(notAllowed.message).toMatch(/"PS256" is not accepted; accepted: ES256/);
    expect(notAllowed.code).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('refuses tampered and malformed tokens', async () => {
    const signer = hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256');
    const key = await signer.publicKey();
    const jws = await signJws(payload, signer);
    const [header, body, signature] = jws.split('.') as [string, string, string];
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...payload, transStatus: 'Y' })).toString('base64url')}.${signature}`;
    const forged = await rejection(verifyJws(altered, { key }));
    expect(forged.message).toMatch(/signature does not verify/);
    expect(forged.code).toBe('INVALID_SIGNATURE');
    const truncated = await rejection(verifyJws(`${header}.${body}`, { key }));
    expect(truncated.message).toMatch(/3 parts/);
    expect(truncated.code).toBe('INVALID_INPUT');
    expect((await rejection(verifyJws(`${header}.${body}.@@`, { key }))).message).toMatch(/base64url/);
    const crit = Buffer.from(JSON.stringify({ alg: 'ES256', crit: ['exp'], exp: 1 })).toString('base64url');
    expect((await rejection(verifyJws(`${crit}.${body}.${signature}`, { key }))).message).toMatch(/crit/);
    const misuse = await rejection(verifyJws(jws, { key, trustedRoots: [] }));
    expect(misuse.message).toMatch(/exactly one of key and trustedRoots/);
    expect(misuse.code).toBe('INVALID_INPUT');
  });

  it('holds RSA-PSS to a salt as long as the hash', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'PS256' })).toString('base64url');
    const body = Buffer.from('x').toString('base64url');
    const zeroSalt = sign('sha256', Buffer.from(`${header}.${body}`), {
      key: keys.rsa.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 0,
    });
    const jws = `${header}.${body}.${zeroSalt.toString('base64url')}`;
    expect((await rejection(verifyJws(jws, { key: keys.rsa.publicKey }))).message).toMatch(/does not verify/);
  });
});

describe('x5c', () => {
  let root: string;
  let acsRsa: string;
  let acsEc: string;
  let otherRoot: string;
  beforeAll(async () => {
    const ca = hsmSigner(keys.hsm, 'ec384', 'ECDSA_SHA_384');
    root = await createCertificate({ signer: ca, subject: { CN: 'DS Root', O: 'Example Scheme' }, ca: true });
    acsRsa = await createCertificate({
      signer: ca,
      issuerCertificate: root,
      subject: { CN: 'ACS RSA' },
      publicKey: await keys.hsm.getPublicKey('rsa-sign'),
    });
    acsEc = await createCertificate({
      signer: ca,
      issuerCertificate: root,
      subject: { CN: 'ACS EC' },
      publicKey: await keys.hsm.getPublicKey('ec256'),
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2040-01-01T00:00:00Z'),
    });
    otherRoot = await createCertificate({
      signer: hsmSigner(keys.hsm, 'ec521', 'ECDSA_SHA_512'),
      subject: { CN: 'DS Root' },
      ca: true,
    });
  });

  it('signs with x5c and verifies the chain to the trusted root; jose verifies with the leaf key', async () => {
    const jws = await signJws(payload, hsmSigner(keys.hsm, 'rsa-sign', 'RSASSA_PSS_SHA_256'), {
      x5c: [acsRsa],
    });
    const verified = await verifyJws(jws, { trustedRoots: [root] });
    expect(verified.certificates?.[0]?.subject).toBe('CN=ACS RSA');
    expect(verified.protectedHeader.x5c).toHaveLength(1);
    const { protectedHeader } = await jose.compactVerify(jws, await jose.importX509(acsRsa, 'PS256'));
    expect(protectedHeader.x5c).toEqual([acsRsa.replace(/-----[^-]+-----|\s/g, '')]);
    // With the root in the chain too.
    const withRoot = await signJws(payload, hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'), {
      x5c: [acsEc, root],
    });
    await expect(verifyJws(withRoot, { trustedRoots: [root] })).resolves.toBeDefined();
  });

  it('refuses chains to other roots, outside their validity, through non-CA issuers, and without x5c', async () => {
    const ec = hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256');
    const jws = await signJws(payload, ec, { x5c: [acsEc] });
    expect((await rejection(verifyJws(jws, { trustedRoots: [otherRoot] }))).message).toMatch(
      /not issued by any trusted root/,
    );
    expect(
      (await rejection(verifyJws(jws, { trustedRoots: [root], currentDate: new Date('2041-01-01') })))
        .message,
    ).toMatch(/expired/);
    expect(
      (await rejection(verifyJws(jws, { trustedRoots: [root], currentDate: new Date('2023-01-01') })))
        .message,
    ).toMatch(/not valid before/);
    const throughLeaf = await signJws(payload, ec, { x5c: [acsEc, acsRsa] });
    expect((await rejection(verifyJws(throughLeaf, { trustedRoots: [root] }))).message).toMatch(/not a CA/);
    const bare = await signJws(payload, ec);
    expect((await rejection(verifyJws(bare, { trustedRoots: [root] }))).message).toMatch(/no x5c/);
  });

  it('verifyCertificateChain: anchors at a root given or pinned, and refuses PEM inside x5c', async () => {
    expect(verifyCertificateChain([acsEc], { trustedRoots: [root] }).trustAnchor.subject).toBe(
      'O=Example Scheme\nCN=DS Root',
    );
    expect(verifyCertificateChain([root], { trustedRoots: [root] }).leaf.ca).toBe(true);
    expect((await rejection(() => verifyCertificateChain([acsEc], { trustedRoots: [] }))).message).toMatch(
      /at least one/,
    );
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', x5c: [acsEc] })).toString('base64url');
    const jws = await signJws('x', hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'));
    const withPem = [header, ...jws.split('.').slice(1)].join('.');
    expect((await rejection(verifyJws(withPem, { trustedRoots: [root] }))).message).toMatch(
      /x5c certificate 0 is not valid base64/,
    );
  });

  it('validates the path by RFC 5280: a root with pathLen 0 cannot certify a CA (as OpenSSL refuses it)', async () => {
    const ca = hsmSigner(keys.hsm, 'ec384', 'ECDSA_SHA_384');
    const strictRoot = await createCertificate({
      signer: ca,
      subject: { CN: 'Strict Root' },
      ca: { pathLength: 0 },
    });
    const intermediate = await createCertificate({
      signer: ca,
      issuerCertificate: strictRoot,
      subject: { CN: 'Issuing CA' },
      publicKey: await keys.hsm.getPublicKey('ec521'),
      ca: true,
    });
    const leaf = await createCertificate({
      signer: hsmSigner(keys.hsm, 'ec521', 'ECDSA_SHA_512'),
      issuerCertificate: intermediate,
      subject: { CN: 'ACS EC' },
      publicKey: await keys.hsm.getPublicKey('ec256'),
    });
    const jws = await signJws(payload, hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'), {
      x5c: [leaf, intermediate],
    });
    expect((await rejection(verifyJws(jws, { trustedRoots: [strictRoot] }))).message).toMatch(
      /pathLenConstraint/,
    );
    // A leaf the same root certifies directly verifies: pathLen 0 forbids CAs below it, not leaves.
    const direct = await signJws(payload, hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'), {
      x5c: [
        await createCertificate({
          signer: ca,
          issuerCertificate: strictRoot,
          subject: { CN: 'ACS EC direct' },
          publicKey: await keys.hsm.getPublicKey('ec256'),
        }),
      ],
    });
    await expect(verifyJws(direct, { trustedRoots: [strictRoot] })).resolves.toBeDefined();
    // A leaf whose keyUsage does not allow signatures does not verify a JWS.
    const encipherOnly = await createCertificate({
      signer: ca,
      issuerCertificate: root,
      subject: { CN: 'ACS EC' },
      publicKey: await keys.hsm.getPublicKey('ec256'),
      keyUsage: ['keyAgreement'],
    });
    const wrongUsage = await signJws(payload, hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'), {
      x5c: [encipherOnly],
    });
    expect((await rejection(verifyJws(wrongUsage, { trustedRoots: [root] }))).message).toMatch(
      /keyUsage without digitalSignature/,
    );
  });

  it('refuses to sign with an x5c leaf that certifies another key', async () => {
    const error = await rejection(
      signJws(payload, hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256'), { x5c: [acsRsa] }),
    );
    expect(error.message).toMatch(/does not certify the signer's public key/);
  });

  it('names keys by their RFC 7638 thumbprint', async () => {
    const signer = hsmSigner(keys.hsm, 'ec521', 'ECDSA_SHA_512');
    const jws = await signJws(
      'x',
      {
        algorithm: signer.algorithm,
        sign: signer.sign,
        publicKey: async () => ({ spki: (await signer.publicKey()).spki }),
      },
      { kid: true },
    );
    const { protectedHeader } = await verifyJws(jws, { key: await signer.publicKey() });
    expect(protectedHeader.kid).toBe(jwkThumbprint((await signer.publicKey()).jwk()));
  });
});
