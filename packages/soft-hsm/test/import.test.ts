import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftHsm } from '@keyswitch/soft-hsm';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from './support/errors.js';

const message = new TextEncoder().encode('reproduce a production key');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });

let hsm: SoftHsm;
let workDir: string;
beforeAll(async () => {
  hsm = await SoftHsm.open();
  workDir = mkdtempSync(join(tmpdir(), 'soft-hsm-import-'));
});
afterAll(async () => {
  await hsm.close();
  rmSync(workDir, { recursive: true, force: true });
});

/** Checks the imported key is the given key: same public key, and its signatures verify under it. */
async function expectSameKey(ref: string, privateKey: KeyObject) {
  const expected = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  expect(Buffer.from((await hsm.getPublicKey(ref)).spki)).toEqual(expected);
  const algorithm = privateKey.asymmetricKeyType === 'rsa' ? 'RSASSA_PSS_SHA_256' : 'ECDSA_SHA_384';
  const hash = algorithm === 'RSASSA_PSS_SHA_256' ? 'sha256' : 'sha384';
  const digest = createHash(hash).update(message).digest();
  const signature = await hsm.sign({ ref, algorithm, message: digest, messageType: 'DIGEST' });
  const options = algorithm === 'RSASSA_PSS_SHA_256' ? { padding: 6, saltLength: 32 } : {};
  expect(verify(hash, message, { key: createPublicKey(privateKey), ...options }, signature)).toBe(true);
}

/** An RSA PKCS#12 made with node-forge: encrypted key bag (3DES) and a self-signed certificate. */
function forgePkcs12(privateKey: KeyObject, password: string): Uint8Array {
  const key = forge.pki.privateKeyFromPem(privateKey.export({ format: 'pem', type: 'pkcs1' }) as string);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date('2030-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2031-01-01T00:00:00Z');
  cert.setSubject([{ name: 'commonName', value: 'acs-signing' }]);
  cert.setIssuer([{ name: 'commonName', value: 'acs-signing' }]);
  cert.sign(key, forge.md.sha256.create());
  const p12 = forge.pkcs12.toPkcs12Asn1(key, [cert], password, { algorithm: '3des' });
  return Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
}

describe('importing asymmetric keys', () => {
  it('from PEM: PKCS#8, PKCS#1 and SEC1; the spec is read from the key', async () => {
    const a = await hsm.importKey({
      label: 'pem-pkcs8',
      usage: 'SIGN_VERIFY',
      pem: rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    });
    expect(a).toMatchObject({ ref: 'pem-pkcs8', spec: 'RSA_2048', usage: 'SIGN_VERIFY', state: 'ENABLED' });
    await expectSameKey('pem-pkcs8', rsa.privateKey);
    const b = await hsm.importKey({
      label: 'pem-pkcs1',
      usage: 'ENCRYPT_DECRYPT',
      pem: rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string,
    });
    expect(b.spec).toBe('RSA_2048');
    const c = await hsm.importKey({
      label: 'pem-sec1',
      usage: 'SIGN_VERIFY',
      pem: ec.privateKey.export({ format: 'pem', type: 'sec1' }) as string,
    });
    expect(c.spec).toBe('ECC_NIST_P384');
    await expectSameKey('pem-sec1', ec.privateKey);
  });

  it('from DER PKCS#8', async () => {
    const pkcs8 = ec.privateKey.export({ format: 'der', type: 'pkcs8' });
    const d = await hsm.importKey({ label: 'der-ec', usage: 'KEY_AGREEMENT', pkcs8, spec: 'ECC_NIST_P384' });
    expect(d.spec).toBe('ECC_NIST_P384');
    expect(Buffer.from((await hsm.getPublicKey('der-ec')).spki)).toEqual(
      createPublicKey(ec.privateKey).export({ format: 'der', type: 'spki' }),
    );
  });

  it('from a PKCS#12 made with node-forge (RSA)', async () => {
    const data = forgePkcs12(rsa.privateKey, 'p12-password');
    const imported = await hsm.importKey({
      label: 'p12-forge',
      usage: 'SIGN_VERIFY',
      pkcs12: { data, password: 'p12-password' },
    });
    expect(imported.spec).toBe('RSA_2048');
    await expectSameKey('p12-forge', rsa.privateKey);
  });

  it.each([
    ['OpenSSL 3 defaults (PBES2, AES-256-CBC, HMAC-SHA-256)', []],
    ['OpenSSL legacy (3DES, SHA-1)', ['-legacy']],
  ])('from a PKCS#12 made by the openssl CLI with %s (EC)', async (_, extra) => {
    const keyFile = join(workDir, 'ec.pem');
    const p12File = join(workDir, `ec${extra.length}.p12`);
    writeFileSync(keyFile, ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    execFileSync('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/CN=ds-test',
      '-days',
      '1',
      '-out',
      join(workDir, 'ec.crt'),
    ]);
    execFileSync('openssl', [
      'pkcs12',
      '-export',
      ...extra,
      '-inkey',
      keyFile,
      '-in',
      join(workDir, 'ec.crt'),
      '-out',
      p12File,
      '-passout',
      'pass:p12-password',
    ]);
    const label = `p12-openssl-${extra.length}`;
    const imported = await hsm.importKey({
      label,
      usage: 'SIGN_VERIFY',
      pkcs12: { data: readFileSync(p12File), password: 'p12-password' },
    });
    expect(imported.spec).toBe('ECC_NIST_P384');
    await expectSameKey(label, ec.privateKey);
  });

  it('refuses a wrong PKCS#12 password without echoing it', async () => {
    const data = forgePkcs12(rsa.privateKey, 'right-password');
    const error = await expectCode(
      hsm.importKey({
        label: 'p12-wrong',
        usage: 'SIGN_VERIFY',
        pkcs12: { data, password: 'wrong-password-xyzzy' },
      }),
      'INVALID_INPUT',
    );
    expect(error.message).toMatch(/wrong password/);
    expect(error.message).not.toContain('xyzzy');
    expect(JSON.stringify(error)).not.toContain('xyzzy');
    await expectCode(
      hsm.importKey({
        label: 'p12-junk',
        usage: 'SIGN_VERIFY',
        pkcs12: { data: new Uint8Array(40), password: 'x' },
      }),
      'INVALID_INPUT',
    );
  });
});

describe('importing secret keys', () => {
  it('AES keys decrypt what they encrypt, and must be 32 bytes', async () => {
    const raw = new Uint8Array(32).fill(9);
    const imported = await hsm.importKey({
      label: 'aes',
      usage: 'ENCRYPT_DECRYPT',
      spec: 'SYMMETRIC_DEFAULT',
      raw,
    });
    expect(imported.spec).toBe('SYMMETRIC_DEFAULT');
    const ciphertext = await hsm.encrypt({ ref: 'aes', algorithm: 'SYMMETRIC_DEFAULT', plaintext: message });
    expect(await hsm.decrypt({ ref: 'aes', algorithm: 'SYMMETRIC_DEFAULT', ciphertext })).toEqual(message);
    raw.fill(0); // the HSM keeps its own copy
    expect(await hsm.decrypt({ ref: 'aes', algorithm: 'SYMMETRIC_DEFAULT', ciphertext })).toEqual(message);
    await expectCode(
      hsm.importKey({
        label: 'aes-16',
        usage: 'ENCRYPT_DECRYPT',
        spec: 'SYMMETRIC_DEFAULT',
        raw: new Uint8Array(16),
      }),
      'INVALID_INPUT',
    );
  });

  it('HMAC keys take the AWS KMS lengths', async () => {
    await hsm.importKey({
      label: 'hmac-64',
      usage: 'GENERATE_VERIFY_MAC',
      spec: 'HMAC_256',
      raw: new Uint8Array(64),
    });
    await expectCode(
      hsm.importKey({
        label: 'hmac-31',
        usage: 'GENERATE_VERIFY_MAC',
        spec: 'HMAC_256',
        raw: new Uint8Array(31),
      }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.importKey({
        label: 'hmac-129',
        usage: 'GENERATE_VERIFY_MAC',
        spec: 'HMAC_512',
        raw: new Uint8Array(129),
      }),
      'INVALID_INPUT',
    );
    await expectCode(
      hsm.importKey({ label: 'hmac-nospec', usage: 'GENERATE_VERIFY_MAC', raw: new Uint8Array(32) }),
      'INVALID_INPUT',
    );
  });
});

describe('import errors', () => {
  const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

  it.each([
    ['no source', { label: 'e1', usage: 'SIGN_VERIFY' }],
    ['two sources', { label: 'e2', usage: 'SIGN_VERIFY', pem, pkcs8: new Uint8Array(3) }],
    ['a usage the spec does not allow', { label: 'e3', usage: 'GENERATE_VERIFY_MAC', pem }],
    ['a spec that does not match', { label: 'e4', usage: 'SIGN_VERIFY', pem, spec: 'RSA_3072' }],
    [
      'an encrypted PEM',
      {
        label: 'e6',
        usage: 'SIGN_VERIFY',
        pem: rsa.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'x' }),
      },
    ],
    [
      'an Ed25519 key',
      {
        label: 'e7',
        usage: 'SIGN_VERIFY',
        pem: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }),
      },
    ],
    [
      'a 1024-bit RSA key',
      {
        label: 'e8',
        usage: 'SIGN_VERIFY',
        pem: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
          format: 'pem',
          type: 'pkcs8',
        }),
      },
    ],
    [
      'a P-256K key',
      {
        label: 'e9',
        usage: 'SIGN_VERIFY',
        pem: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({
          format: 'pem',
          type: 'pkcs8',
        }),
      },
    ],
    ['garbage PKCS#8', { label: 'e10', usage: 'SIGN_VERIFY', pkcs8: new Uint8Array([0x30, 0x00]) }],
    ['a bad label', { label: 'no spaces', usage: 'SIGN_VERIFY', pem }],
  ])('refuses %s with INVALID_INPUT', async (_, request) => {
    const error = await expectCode(hsm.importKey(request as never), 'INVALID_INPUT');
    expect(error.message).not.toMatch(/BEGIN|MII/);
  });

  it('refuses a label in use with KEY_EXISTS', async () => {
    await hsm.importKey({ label: 'dup', usage: 'SIGN_VERIFY', pem });
    await expectCode(hsm.importKey({ label: 'dup', usage: 'SIGN_VERIFY', pem }), 'KEY_EXISTS');
  });

  it('refuses a public key alone with UNSUPPORTED_OPERATION: its manifest imports private and secret keys', async () => {
    expect((await hsm.capabilities()).importKinds).toEqual(['private', 'secret']);
    const spki = createPublicKey(rsa.privateKey).export({ format: 'pem', type: 'spki' }) as string;
    await expectCode(
      hsm.importKey({ label: 'e5', usage: 'SIGN_VERIFY', pem: spki }),
      'UNSUPPORTED_OPERATION',
    );
  });

  it('imports without a label, as createKey does: the key id is its reference', async () => {
    const imported = await hsm.importKey({ usage: 'SIGN_VERIFY', pem });
    expect(imported.aliases).toEqual([]);
    expect((await hsm.describeKey(imported.keyId)).ref).toBe(imported.ref);
  });
});
