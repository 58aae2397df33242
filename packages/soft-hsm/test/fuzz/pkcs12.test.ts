import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzParameters, mutatedBytes, outcome } from '../../../core/test/support/fuzz.js';
import { SoftHsm } from '../../src/index.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PASSWORD = 'fuzz-p12-password';

/** An RSA PKCS#12 made with node-forge (3DES key bag, SHA-1 MAC, forge's default iteration counts). */
function pkcs12(): Uint8Array {
  const key = forge.pki.privateKeyFromPem(rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date('2030-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2031-01-01T00:00:00Z');
  cert.setSubject([{ name: 'commonName', value: 'fuzz' }]);
  cert.setIssuer([{ name: 'commonName', value: 'fuzz' }]);
  cert.sign(key, forge.md.sha256.create());
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert], PASSWORD, { algorithm: '3des', count: 16 });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

let hsm: SoftHsm;
beforeAll(async () => {
  hsm = await SoftHsm.open();
});
afterAll(async () => {
  await hsm.close();
});

describe('fuzz: PKCS#12 import', () => {
  it('a typed error (never INTERNAL), or exactly the key that was exported', async () => {
    const valid = pkcs12();
    const expected = createPublicKey(rsa.privateKey).export({ format: 'der', type: 'spki' });
    let label = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutatedBytes(valid), fc.uint8Array({ maxLength: 400 })),
        fc.constantFrom(PASSWORD, 'wrong', ''),
        async (data, password) => {
          const ref = `p12-${label++}`;
          const imported = await outcome(() =>
            hsm.importKey({ label: ref, usage: 'SIGN_VERIFY', pkcs12: { data, password } }),
          );
          if (!imported.ok) {
            expect(imported.error.code, imported.error.message).not.toBe('INTERNAL');
            expect(imported.error.message).not.toContain(PASSWORD);
            return;
          }
          expect(Buffer.from((await hsm.getPublicKey(ref)).spki).equals(expected)).toBe(true);
        },
      ),
      fuzzParameters(150),
    );
  });
});
