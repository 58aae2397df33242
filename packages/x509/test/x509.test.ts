import { X509Certificate } from 'node:crypto';
import { isKeyswitchError, Keyswitch, type KeyswitchError, type SigningAlgorithm } from '@keyswitch/core';
import type { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificate, createCsr, readCsr } from '../src/index.js';
import { openssl, opensslAvailable } from './support/openssl.js';
import { hsmSigner, hsmWithKeys } from './support/signers.js';

let hsm: SoftHsm;
beforeAll(async () => {
  // One RSA key serves every RSA algorithm: RSA generation is the slow part.
  hsm = await hsmWithKeys({
    rsa: 'RSA_2048',
    ec256: 'ECC_NIST_P256',
    ec384: 'ECC_NIST_P384',
    ec521: 'ECC_NIST_P521',
  });
});
afterAll(() => hsm.close());

const SIGNERS: readonly [string, string, SigningAlgorithm][] = [
  ['RSA-PSS SHA-256', 'rsa', 'RSASSA_PSS_SHA_256'],
  ['RSA-PSS SHA-384', 'rsa', 'RSASSA_PSS_SHA_384'],
  ['RSA-PSS SHA-512', 'rsa', 'RSASSA_PSS_SHA_512'],
  ['RSA PKCS#1 v1.5 SHA-256', 'rsa', 'RSASSA_PKCS1_V1_5_SHA_256'],
  ['ECDSA P-256', 'ec256', 'ECDSA_SHA_256'],
  ['ECDSA P-384', 'ec384', 'ECDSA_SHA_384'],
  ['ECDSA P-521', 'ec521', 'ECDSA_SHA_512'],
];

const SUBJECT = 'CN=acs.example-bank.com,OU=3DS,O=Example Bank,C=US';

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<KeyswitchError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (isKeyswitchError(error)) return error;
    throw error;
  }
  throw new Error('expected a KeyswitchError');
}

function pssText(algorithm: SigningAlgorithm): RegExp | undefined {
  const match = /^RSASSA_PSS_SHA_(\d+)$/.exec(algorithm);
  if (match === null) return undefined;
  const bits = match[1]!;
  const salt = (Number(bits) / 8).toString(16);
  return new RegExp(
    `Hash Algorithm: sha${bits}[\\s\\S]*Mask Algorithm: mgf1 with sha${bits}[\\s\\S]*Salt Length: 0x${salt}`,
    'i',
  );
}

describe('createCsr', () => {
  it.each(SIGNERS)('signs a CSR with %s that OpenSSL and readCsr verify', async (_name, ref, algorithm) => {
    const signer = hsmSigner(hsm, ref, algorithm);
    const pem = await createCsr({
      signer,
      subject: SUBJECT,
      sans: { dns: ['acs.example-bank.com'], uri: ['https://acs.example-bank.com/3ds'] },
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: ['clientAuth', 'serverAuth'],
    });
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);

    const info = readCsr(pem);
    expect(info.publicKey.spki).toEqual((await signer.publicKey()).spki);
    expect(info.subject).toEqual([
      { type: 'C', value: 'US' },
      { type: 'O', value: 'Example Bank' },
      { type: 'OU', value: '3DS' },
      { type: 'CN', value: 'acs.example-bank.com' },
    ]);
    expect(info.sans).toEqual(['DNS:acs.example-bank.com', 'URI:https://acs.example-bank.com/3ds']);

    if (!opensslAvailable) return;
    const verified = openssl(['req', '-verify', '-in', 'csr.pem', '-noout', '-text'], { 'csr.pem': pem });
    expect(verified).toMatch(
      /Subject: C\s*=\s*US, O\s*=\s*Example Bank, OU\s*=\s*3DS, CN\s*=\s*acs\.example-bank\.com/,
    );
    expect(verified).toMatch(/DNS:acs\.example-bank\.com, URI:https:\/\/acs\.example-bank\.com\/3ds/);
    expect(verified).toMatch(/TLS Web Client Authentication, TLS Web Server Authentication/);
    const pss = pssText(algorithm);
    if (pss !== undefined) expect(verified).toMatch(pss);
  });

  it('refuses a CSR whose signature was tampered with', async () => {
    const pem = await createCsr({ signer: hsmSigner(hsm, 'ec256', 'ECDSA_SHA_256'), subject: { CN: 'x' } });
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5]! ^= 0x01;
    const error = await rejection(() => readCsr(new Uint8Array(der)));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(/does not verify/);
  });
});

describe('createCertificate', () => {
  it.each(SIGNERS)(
    'self-signs a CA certificate with %s that OpenSSL verifies',
    async (_name, ref, algorithm) => {
      const signer = hsmSigner(hsm, ref, algorithm);
      const pem = await createCertificate({
        signer,
        subject: { CN: `Example DS Root ${algorithm}`, O: 'Example Scheme', C: 'US' },
        ca: true,
        validityDays: 3650,
      });
      const certificate = new X509Certificate(pem);
      expect(certificate.ca).toBe(true);
      expect(certificate.checkIssued(certificate)).toBe(true);
      expect(certificate.verify(certificate.publicKey)).toBe(true);
      expect(certificate.subject).toBe(`C=US\nO=Example Scheme\nCN=Example DS Root ${algorithm}`);
      const serial = Buffer.from(certificate.serialNumber, 'hex');
      expect(serial.length).toBe(16);
      expect(serial[0]! & 0x80).toBe(0);

      if (!opensslAvailable) return;
      expect(openssl(['verify', '-CAfile', 'root.pem', 'root.pem'], { 'root.pem': pem })).toMatch(
        /root\.pem: OK/,
      );
      const text = openssl(['x509', '-in', 'root.pem', '-noout', '-text'], { 'root.pem': pem });
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
      expect(text).toMatch(/X509v3 Subject Key Identifier/);
      expect(text).toMatch(/X509v3 Authority Key Identifier/);
      expect(text).toMatch(/Version: 3 \(0x2\)/);
      const pss = pssText(algorithm);
      if (pss !== undefined) expect(text).toMatch(pss);
    },
  );

  it('issues leaf certificates from CSRs under a backend-held CA key, through a chain OpenSSL verifies', async () => {
    // Root (RSA-PSS) → intermediate (ECDSA P-384, path length 0) → leaf (ECDSA P-256, from its CSR).
    const rootSigner = hsmSigner(hsm, 'rsa', 'RSASSA_PSS_SHA_256');
    const intermediateSigner = hsmSigner(hsm, 'ec384', 'ECDSA_SHA_384');
    const root = await createCertificate({
      signer: rootSigner,
      subject: 'CN=Root,O=Example Scheme,C=US',
      ca: true,
    });
    const intermediate = await createCertificate({
      signer: rootSigner,
      issuerCertificate: root,
      subject: 'CN=Issuing CA,O=Example Scheme,C=US',
      publicKey: await intermediateSigner.publicKey(),
      ca: { pathLength: 0 },
    });
    const csr = await createCsr({
      signer: hsmSigner(hsm, 'ec256', 'ECDSA_SHA_256'),
      subject: '/C=US/O=Example Bank/CN=acs.example-bank.com',
      sans: ['DNS:acs.example-bank.com'],
    });
    const leaf = await createCertificate({
      signer: intermediateSigner,
      issuerCertificate: intermediate,
      csr,
      sans: [
        'DNS:acs.example-bank.com',
        'URI:https://acs.example-bank.com/3ds',
        'IP:192.0.2.10',
        'IP:2001:db8::1',
      ],
      extendedKeyUsage: ['clientAuth'],
      validityDays: 90,
    });

    const [rootCert, intermediateCert, leafCert] = [root, intermediate, leaf].map(
      (pem) => new X509Certificate(pem),
    );
    expect(leafCert!.checkIssued(intermediateCert!)).toBe(true);
    expect(leafCert!.verify(intermediateCert!.publicKey)).toBe(true);
    expect(intermediateCert!.verify(rootCert!.publicKey)).toBe(true);
    expect(leafCert!.ca).toBe(false);
    expect(leafCert!.subject).toBe('C=US\nO=Example Bank\nCN=acs.example-bank.com');
    expect(leafCert!.subjectAltName).toBe(
      'DNS:acs.example-bank.com, URI:https://acs.example-bank.com/3ds, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:1',
    );
    expect(leafCert!.publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      Buffer.from((await hsm.getPublicKey('ec256')).spki),
    );
    const days = (Date.parse(leafCert!.validTo) - Date.parse(leafCert!.validFrom)) / 86_400_000;
    expect(days).toBe(90);

    if (!opensslAvailable) return;
    const files = { 'root.pem': root, 'intermediate.pem': intermediate, 'leaf.pem': leaf };
    expect(openssl(['verify', '-CAfile', 'root.pem', 'intermediate.pem'], files)).toMatch(
      /intermediate\.pem: OK/,
    );
    expect(
      openssl(
        ['verify', '-x509_strict', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'leaf.pem'],
        files,
      ),
    ).toMatch(/leaf\.pem: OK/);
    const text = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], files);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Client Authentication/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA384/);
    const intermediateText = openssl(['x509', '-in', 'intermediate.pem', '-noout', '-text'], files);
    expect(intermediateText).toMatch(/CA:TRUE, pathlen:0/);
    // The leaf's authority key id is the intermediate's subject key id.
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(intermediateText)![1];
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${ski}`));
  });

  it('works with keyswitch Signer handles from configuration', async () => {
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
        subject: { CN: 'DS Root' },
        ca: true,
      });
      const csr = await createCsr({ signer: ks.signer('acs-signing'), subject: { CN: 'ACS' } });
      const leaf = await createCertificate({ signer: ks.signer('ds-ca'), issuerCertificate: root, csr });
      expect(new X509Certificate(leaf).verify(new X509Certificate(root).publicKey)).toBe(true);
      if (opensslAvailable) {
        expect(
          openssl(['verify', '-CAfile', 'root.pem', 'leaf.pem'], { 'root.pem': root, 'leaf.pem': leaf }),
        ).toMatch(/OK/);
      }
    } finally {
      await ks.close();
    }
  });

  it('honours explicit validity and serial numbers, with GeneralizedTime from 2050', async () => {
    const signer = hsmSigner(hsm, 'ec256', 'ECDSA_SHA_256');
    const pem = await createCertificate({
      signer,
      subject: { CN: 'long-lived' },
      notBefore: new Date('2049-06-01T12:00:00.789Z'),
      notAfter: new Date('2051-01-01T00:00:00Z'),
      serialNumber: 0x80n,
    });
    const certificate = new X509Certificate(pem);
    expect(new Date(certificate.validFrom).toISOString()).toBe('2049-06-01T12:00:00.000Z');
    expect(new Date(certificate.validTo).toISOString()).toBe('2051-01-01T00:00:00.000Z');
    expect(certificate.serialNumber).toBe('80');
    if (opensslAvailable) {
      const dump = openssl(['asn1parse', '-in', 'c.pem'], { 'c.pem': pem });
      expect(dump).toMatch(/UTCTIME\s+:490601120000Z/);
      expect(dump).toMatch(/GENERALIZEDTIME\s+:20510101000000Z/);
    }
  });

  it('reads subjects in RFC 4514, OpenSSL and object form alike', async () => {
    const signer = hsmSigner(hsm, 'ec256', 'ECDSA_SHA_256');
    const subjects = [
      'CN=Example\\, Inc.,O=Example Bank,C=US',
      '/C=US/O=Example Bank/CN=Example\\, Inc.',
      { CN: 'Example, Inc.', C: 'US', O: 'Example Bank' },
    ];
    const names = await Promise.all(
      subjects.map(
        async (subject) => new X509Certificate(await createCertificate({ signer, subject })).subject,
      ),
    );
    expect(new Set(names).size).toBe(1);
    expect(names[0]).toBe('C=US\nO=Example Bank\nCN=Example\\, Inc.');
  });

  it('refuses what would make a wrong certificate', async () => {
    const ec = hsmSigner(hsm, 'ec256', 'ECDSA_SHA_256');
    const other = hsmSigner(hsm, 'ec384', 'ECDSA_SHA_384');
    const leafOnly = await createCertificate({ signer: ec, subject: { CN: 'not a CA' } });
    const root = await createCertificate({ signer: ec, subject: { CN: 'Root' }, ca: true });

    expect(
      (await rejection(createCertificate({ signer: ec, issuerCertificate: leafOnly, subject: { CN: 'x' } })))
        .message,
    ).toMatch(/not a CA/);
    expect(
      (await rejection(createCertificate({ signer: other, issuerCertificate: root, subject: { CN: 'x' } })))
        .message,
    ).toMatch(/does not certify the signer's key/);
    expect(
      (
        await rejection(
          createCertificate({ signer: ec, subject: { CN: 'x' }, publicKey: await other.publicKey() }),
        )
      ).message,
    ).toMatch(/self-signed/);
    expect((await rejection(createCertificate({ signer: ec, subject: 'C=USA' }))).message).toMatch(
      /two-letter/,
    );
    expect((await rejection(createCertificate({ signer: ec, subject: 'XX=1' }))).message).toMatch(
      /unknown name attribute/,
    );
    expect(
      (await rejection(createCertificate({ signer: ec, subject: { CN: 'x' }, sans: ['FTP:x'] }))).message,
    ).toMatch(/DNS:/);
    expect(
      (await rejection(createCertificate({ signer: ec, subject: { CN: 'x' }, sans: { dns: ['bad host!'] } })))
        .message,
    ).toMatch(/not a DNS name/);
    expect(
      (
        await rejection(
          createCertificate({
            signer: ec,
            subject: { CN: 'x' },
            keyUsage: ['everything' as 'digitalSignature'],
          }),
        )
      ).message,
    ).toMatch(/unknown key usage/);
    expect(
      (
        await rejection(
          createCertificate({
            signer: ec,
            subject: { CN: 'x' },
            notBefore: new Date('2030-01-01'),
            notAfter: new Date('2029-01-01'),
          }),
        )
      ).message,
    ).toMatch(/later than notBefore/);
    const sha1 = { ...ec, algorithm: 'RSAES_OAEP_SHA_1' as SigningAlgorithm };
    expect((await rejection(createCsr({ signer: sha1, subject: { CN: 'x' } }))).code).toBe('INVALID_INPUT');
  });
});
