import { constants, createPublicKey, generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKeyswitchError, publicKeyFromSpki } from '../../src/index.js';

const payload = new TextEncoder().encode('{"messageType":"ARes"}');

function spkiOf(keyPair: { publicKey: { export(o: { format: 'der'; type: 'spki' }): Buffer } }) {
  return new Uint8Array(keyPair.publicKey.export({ format: 'der', type: 'spki' }));
}

describe('public key interop with node:crypto and WebCrypto', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it('gives a node:crypto KeyObject equal to the original key, and a JWK createPublicKey accepts as typed', () => {
    for (const pair of [ec, rsa]) {
      const key = publicKeyFromSpki(spkiOf(pair));
      const keyObject = key.keyObject();
      expect(keyObject.type).toBe('public');
      expect(keyObject.equals(pair.publicKey)).toBe(true);
      // The quickstart's own line: it must typecheck under strict TypeScript with jwk() as returned.
      const fromJwk = createPublicKey({ key: key.jwk(), format: 'jwk' });
      expect(fromJwk.equals(pair.publicKey)).toBe(true);
    }
  });

  it('gives a WebCrypto key that verifies what node:crypto signed, for the algorithm asked', async () => {
    const ecKey = publicKeyFromSpki(spkiOf(ec));
    const ecSignature = sign('sha256', payload, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    const ecdsa = await ecKey.cryptoKey();
    expect(ecdsa.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(
      await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, ecdsa, ecSignature, payload),
    ).toBe(true);
    expect((await ecKey.cryptoKey('ECDH')).algorithm).toMatchObject({ name: 'ECDH', namedCurve: 'P-256' });

    const rsaKey = publicKeyFromSpki(spkiOf(rsa));
    const pssSignature = sign('sha256', payload, {
      key: rsa.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    const pss = await rsaKey.cryptoKey('RSASSA_PSS_SHA_256');
    expect(
      await webcrypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, pss, pssSignature, payload),
    ).toBe(true);
    const tampered = Uint8Array.from(pssSignature);
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    expect(await webcrypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, pss, tampered, payload)).toBe(
      false,
    );
    const oaep = await rsaKey.cryptoKey('RSAES_OAEP_SHA_256');
    expect(oaep.algorithm).toMatchObject({ name: 'RSA-OAEP', hash: { name: 'SHA-256' } });
    expect(oaep.usages).toEqual(['encrypt']);
  });

  it('refuses an RSA key without an algorithm, and an algorithm that does not fit the key', async () => {
    const rsaKey = publicKeyFromSpki(spkiOf(rsa));
    const ecKey = publicKeyFromSpki(spkiOf(ec));
    for (const attempt of [
      () => rsaKey.cryptoKey(),
      () => rsaKey.cryptoKey('ECDSA_SHA_256'),
      () => ecKey.cryptoKey('RSAES_OAEP_SHA_1'),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isKeyswitchError(error) && error.code).toBe('INVALID_INPUT');
    }
  });
});
