import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  generateKeySync,
  type KeyObject,
  publicEncrypt,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import {
  ecdsaDerToP1363,
  encodeEncryptionContext,
  type KeyDescription,
  type KeySpec,
  KeyswitchError,
  type KeyUsage,
  keySpecInfo,
} from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../../src/index.js';
import { CKA } from '../../src/lib/ck.js';
import { loadedModule } from '../../src/lib/shared-module.js';
import { installTestFaults } from '../../src/lib/test-faults.js';
import { importKey } from './import-key.js';
import { openTarget, type Target, type TargetName, target } from './targets.js';
import { createTestTokens, type TestTokens } from './tokens.js';

const message = Buffer.from('keyswitch pkcs11 backend test message');

/** What each token is expected to offer, as measured (see README). */
const EXPECTED: Record<TargetName, { oaepSha256: boolean }> = {
  softhsm2: { oaepSha256: false },
  nss: { oaepSha256: true },
  'softhsm2-p11kit': { oaepSha256: false },
};

/** Asserts a promise rejects with a KeyswitchError of this code. */
export async function expectCode(
  promise: Promise<unknown>,
  code: KeyswitchError['code'],
): Promise<KeyswitchError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(KeyswitchError);
  expect((error as KeyswitchError).code, (error as Error).message).toBe(code);
  return error as KeyswitchError;
}

/** The node:crypto public key of a provider key. */
async function nodeKey(provider: Pkcs11Provider, ref: string): Promise<KeyObject> {
  const { spki } = await provider.getPublicKey(ref);
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

/**
 * Declares the backend tests for one test token: keys, every operation cross-checked with node:crypto,
 * lifecycle, errors, concurrency, session recovery and shutdown. Tokens come from scripts/test-tokens.sh
 * in a per-file temporary directory; without them the tests skip loudly (and fail under CI=true).
 */
export function declareBackendTests(name: TargetName): void {
  const tokens = createTestTokens();
  const skip = 'skip' in tokens;
  const which: Target | undefined = skip ? undefined : target(name, tokens as TestTokens);
  const title = which?.title ?? name;

  describe.skipIf(skip)(`PKCS#11 backend on ${title}`, () => {
    let provider: Pkcs11Provider;
    const keys: Record<string, KeyDescription> = {};
    const create = async (id: string, spec: KeySpec, usage: KeyUsage) => {
      keys[id] = await provider.createKey({ spec, usage, label: `test-${id}` });
    };

    beforeAll(async () => {
      provider = await openTarget(which!);
      await provider.capabilities();
      await Promise.all([
        create('ec256', 'ECC_NIST_P256', 'SIGN_VERIFY'),
        create('ec384', 'ECC_NIST_P384', 'SIGN_VERIFY'),
        create('ecdh256', 'ECC_NIST_P256', 'KEY_AGREEMENT'),
        create('ecdh384', 'ECC_NIST_P384', 'KEY_AGREEMENT'),
        create('rsaSign', 'RSA_2048', 'SIGN_VERIFY'),
        create('rsaEncrypt', 'RSA_2048', 'ENCRYPT_DECRYPT'),
        create('aes', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'),
        create('aes2', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'),
        create('hmac256', 'HMAC_256', 'GENERATE_VERIFY_MAC'),
        create('hmac512', 'HMAC_512', 'GENERATE_VERIFY_MAC'),
      ]);
    });

    afterAll(async () => {
      await provider?.close();
      if (!skip) (tokens as TestTokens).remove();
    });

    describe('capabilities', () => {
      it('come from the mechanism list and the one-time probes', async () => {
        const capabilities = await provider.capabilities();
        const expected = EXPECTED[name];
        expect(capabilities.algorithms).toEqual(
          expect.arrayContaining([
            'RSASSA_PSS_SHA_256',
            'RSASSA_PSS_SHA_512',
            'RSASSA_PKCS1_V1_5_SHA_256',
            'RSAES_OAEP_SHA_1',
            'ECDSA_SHA_256',
            'ECDSA_SHA_384',
            'ECDSA_SHA_512',
            'ECDH',
            'SYMMETRIC_DEFAULT',
            'HMAC_SHA_256',
            'HMAC_SHA_512',
          ]),
        );
        expect(capabilities.algorithms.includes('RSAES_OAEP_SHA_256')).toBe(expected.oaepSha256);
        expect(capabilities.operations).toEqual({
          createKey: true,
          enableKey: true,
          disableKey: true,
          scheduleKeyDeletion: false,
          cancelKeyDeletion: false,
          listKeys: true,
          generateDataKey: true,
          generateRandom: true,
          importKey: true,
        });
        // Found by writing throwaway keys with C_CreateObject: both tokens take every kind.
        expect(capabilities.importKinds).toEqual(['private', 'public', 'secret']);
        expect(capabilities.keySpecs.RSA_2048).toEqual({
          usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
          create: true,
        });
        expect(capabilities.keySpecs.ECC_NIST_P521).toEqual({
          usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
          create: true,
        });
        expect(capabilities.notes?.some((note) => note.startsWith('scheduleKeyDeletion'))).toBe(true);
      });
    });

    describe('keys', () => {
      it('are created with safe templates: sensitive, never extractable, token, private, one usage, random id', async () => {
        const library = loadedModule(which!.module)!;
        const session = library.C_OpenSession(provider.token.slot, 6);
        try {
          const find = (label: string, objectClass: number) => {
            library.C_FindObjectsInit(session, [
              { type: CKA.CLASS, value: objectClass },
              { type: CKA.LABEL, value: label },
            ]);
            const found = library.C_FindObjects(session, 2);
            library.C_FindObjectsFinal(session);
            expect(found).toHaveLength(1);
            return found[0]!;
          };
          const read = (handle: Buffer, types: number[]) =>
            library
              .C_GetAttributeValue(
                session,
                handle,
                types.map((type) => ({ type })),
              )
              .map((attribute) => attribute.value);
          const bool = (value: Buffer | undefined) => value?.[0] === 1;
          const flags = [CKA.TOKEN, CKA.PRIVATE, CKA.SENSITIVE, CKA.EXTRACTABLE];
          const rsaPrivate = read(find('test-rsaSign', 3), [
            ...flags,
            CKA.SIGN,
            CKA.DECRYPT,
            CKA.UNWRAP,
            CKA.DERIVE,
            CKA.ID,
          ]);
          expect(rsaPrivate.slice(0, 8).map(bool)).toEqual([
            true,
            true,
            true,
            false,
            true,
            false,
            false,
            false,
          ]);
          expect(rsaPrivate[8]).toHaveLength(16);
          expect(rsaPrivate[8]!.toString('hex')).toBe(keys.rsaSign!.keyId);
          const rsaPublic = read(find('test-rsaEncrypt', 2), [CKA.TOKEN, CKA.VERIFY, CKA.ENCRYPT]);
          expect(rsaPublic.map(bool)).toEqual([true, false, true]);
          const ecdh = read(find('test-ecdh256', 3), [...flags, CKA.SIGN, CKA.DERIVE]);
          expect(ecdh.map(bool)).toEqual([true, true, true, false, false, true]);
          const aes = read(find('test-aes', 4), [
            ...flags,
            CKA.ENCRYPT,
            CKA.DECRYPT,
            CKA.SIGN,
            CKA.WRAP,
            CKA.VALUE_LEN,
          ]);
          expect(aes.slice(0, 8).map(bool)).toEqual([true, true, true, false, true, true, false, false]);
          const hmac = read(find('test-hmac512', 4), [...flags, CKA.SIGN, CKA.VERIFY, CKA.ENCRYPT]);
          expect(hmac.map(bool)).toEqual([true, true, true, false, true, true, false]);
        } finally {
          library.C_CloseSession(session);
        }
      });

      it('are described by canonical pkcs11: URIs, and found by label, by id or by the canonical URI', async () => {
        const created = keys.ec256!;
        const label = encodeURIComponent(provider.token.label).replace(/%20/g, '%20');
        expect(created.ref).toBe(
          `pkcs11:token=${label};object=test-ec256;id=${created.keyId.replace(/(..)/g, '%$1').toUpperCase()};type=private`,
        );
        expect(created).toMatchObject({
          spec: 'ECC_NIST_P256',
          usage: 'SIGN_VERIFY',
          state: 'ENABLED',
          aliases: ['test-ec256'],
          algorithms: ['ECDSA_SHA_256'],
        });
        const byLabel = await provider.describeKey('pkcs11:object=test-ec256');
        const byId = await provider.describeKey(
          `pkcs11:id=${created.keyId.replace(/(..)/g, '%$1')};type=private`,
        );
        const byCanonical = await provider.describeKey(created.ref);
        expect(byLabel).toEqual(created);
        expect(byId).toEqual(created);
        expect(byCanonical).toEqual(created);
        expect(await provider.describeKey('pkcs11:object=test-aes')).toMatchObject({
          spec: 'SYMMETRIC_DEFAULT',
          usage: 'ENCRYPT_DECRYPT',
          ref: expect.stringContaining(';type=secret-key'),
        });
        expect(await provider.describeKey('pkcs11:object=test-rsaEncrypt;type=public')).toMatchObject({
          spec: 'RSA_2048',
          usage: 'ENCRYPT_DECRYPT',
          ref: expect.stringContaining(';type=public'),
        });
        const rsaEncrypt = await provider.describeKey(keys.rsaEncrypt!.ref);
        expect(rsaEncrypt.algorithms).toEqual(
          EXPECTED[name].oaepSha256 ? ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] : ['RSAES_OAEP_SHA_1'],
        );
      });

      it('refuse bad references clearly: INVALID_INPUT for malformed URIs, KEY_NOT_FOUND for missing keys', async () => {
        await expectCode(provider.describeKey('alias/acs-signing'), 'INVALID_INPUT');
        await expectCode(provider.describeKey('pkcs11:type=private'), 'INVALID_INPUT');
        await expectCode(provider.describeKey('pkcs11:object=a;type=cert'), 'INVALID_INPUT');
        await expectCode(provider.describeKey('pkcs11:object=%zz'), 'INVALID_INPUT');
        const pin = await expectCode(provider.describeKey('pkcs11:object=a?pin-value=1234'), 'INVALID_INPUT');
        expect(pin.detail).not.toContain('1234');
        await expectCode(provider.describeKey('pkcs11:object=no-such-key'), 'KEY_NOT_FOUND');
        await expectCode(provider.describeKey('pkcs11:token=another;object=test-ec256'), 'KEY_NOT_FOUND');
        await expectCode(
          provider.sign({ ref: 'pkcs11:object=no-such-key', algorithm: 'ECDSA_SHA_256', message }),
          'KEY_NOT_FOUND',
        );
      });

      it('refuse a second key with the same label, and ambiguous references', async () => {
        await expectCode(
          provider.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'test-aes' }),
          'KEY_EXISTS',
        );
        await expectCode(
          provider.importKey({
            spec: 'SYMMETRIC_DEFAULT',
            usage: 'ENCRYPT_DECRYPT',
            raw: randomBytes(32),
            label: 'test-hmac256',
          }),
          'KEY_EXISTS',
        );
        // Another tool (not keyswitch) writes a key with a label already in use.
        const uri = importKey(provider, which!.module, {
          spec: 'SYMMETRIC_DEFAULT',
          usage: 'ENCRYPT_DECRYPT',
          key: generateKeySync('aes', { length: 256 }),
          label: 'test-hmac256',
        });
        expect(uri).toContain('type=secret-key');
        await expectCode(provider.describeKey('pkcs11:object=test-hmac256;type=secret-key'), 'AMBIGUOUS_KEY');
        expect(await provider.describeKey(keys.hmac256!.ref)).toMatchObject({ spec: 'HMAC_256' });
      });

      it('lists every key, a page at a time', async () => {
        const seen: KeyDescription[] = [];
        let nextToken: string | undefined;
        do {
          const page = await provider.listKeys({
            limit: 3,
            ...(nextToken === undefined ? {} : { nextToken }),
          });
          expect(page.keys.length).toBeLessThanOrEqual(3);
          seen.push(...page.keys);
          nextToken = page.nextToken;
        } while (nextToken !== undefined);
        for (const key of Object.values(keys)) {
          expect(seen.find((entry) => entry.keyId === key.keyId)).toEqual(key);
        }
        await expectCode(provider.listKeys({ nextToken: 'x' }), 'INVALID_INPUT');
      });
    });

    describe('signing', () => {
      for (const [algorithm, hash, saltLength] of [
        ['RSASSA_PSS_SHA_256', 'sha256', 32],
        ['RSASSA_PSS_SHA_384', 'sha384', 48],
        ['RSASSA_PSS_SHA_512', 'sha512', 64],
      ] as const) {
        it(`${algorithm}: MGF1 with the same hash, salt = digest length; verifies with node:crypto`, async () => {
          const ref = keys.rsaSign!.ref;
          const signature = await provider.sign({ ref, algorithm, message });
          const key = await nodeKey(provider, ref);
          const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING };
          expect(verify(hash, message, { ...pss, saltLength }, signature)).toBe(true);
          // Salt length is exactly the digest length, not the maximum.
          expect(
            verify(hash, message, { ...pss, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature),
          ).toBe(true);
          expect(verify(hash, message, { ...pss, saltLength: saltLength + 1 }, signature)).toBe(false);
          expect(await provider.verify({ ref, algorithm, message, signature })).toBe(true);
        });
      }

      it('RSASSA_PKCS1_V1_5: raw messages and digests; verifies with node:crypto', async () => {
        const ref = keys.rsaSign!.ref;
        const key = await nodeKey(provider, ref);
        for (const [algorithm, hash] of [
          ['RSASSA_PKCS1_V1_5_SHA_256', 'sha256'],
          ['RSASSA_PKCS1_V1_5_SHA_512', 'sha512'],
        ] as const) {
          const signature = await provider.sign({ ref, algorithm, message });
          expect(verify(hash, message, key, signature)).toBe(true);
          const digest = createHash(hash).update(message).digest();
          const fromDigest = await provider.sign({ ref, algorithm, message: digest, messageType: 'DIGEST' });
          expect(Buffer.from(fromDigest)).toEqual(Buffer.from(signature)); // PKCS#1 v1.5 is deterministic
        }
      });

      it('ECDSA: DER by default, P1363 on request, digests too; verifies with node:crypto', async () => {
        for (const [id, algorithm, hash, size] of [
          ['ec256', 'ECDSA_SHA_256', 'sha256', 32],
          ['ec384', 'ECDSA_SHA_384', 'sha384', 48],
        ] as const) {
          const ref = keys[id]!.ref;
          const key = await nodeKey(provider, ref);
          const der = await provider.sign({ ref, algorithm, message });
          expect(der[0]).toBe(0x30);
          expect(verify(hash, message, key, der)).toBe(true);
          const p1363 = await provider.sign({ ref, algorithm, message, signatureFormat: 'P1363' });
          expect(p1363).toHaveLength(2 * size);
          expect(verify(hash, message, { key, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true);
          const digest = createHash(hash).update(message).digest();
          const fromDigest = await provider.sign({ ref, algorithm, message: digest, messageType: 'DIGEST' });
          expect(verify(hash, message, key, fromDigest)).toBe(true);
          expect(await provider.verify({ ref, algorithm, message, signature: der })).toBe(true);
          expect(
            await provider.verify({ ref, algorithm, message, signature: p1363, signatureFormat: 'P1363' }),
          ).toBe(true);
          expect(ecdsaDerToP1363(der, size)).toHaveLength(2 * size);
        }
      });

      it('verify answers false for wrong, tampered and malformed signatures', async () => {
        const ec = keys.ec256!.ref;
        const rsa = keys.rsaSign!.ref;
        const der = Buffer.from(await provider.sign({ ref: ec, algorithm: 'ECDSA_SHA_256', message }));
        const pss = Buffer.from(await provider.sign({ ref: rsa, algorithm: 'RSASSA_PSS_SHA_256', message }));
        const other = Buffer.from('another message');
        expect(
          await provider.verify({ ref: ec, algorithm: 'ECDSA_SHA_256', message: other, signature: der }),
        ).toBe(false);
        expect(
          await provider.verify({
            ref: rsa,
            algorithm: 'RSASSA_PSS_SHA_256',
            message: other,
            signature: pss,
          }),
        ).toBe(false);
        const flipped = Buffer.from(pss);
        flipped[10]! ^= 1;
        expect(
          await provider.verify({ ref: rsa, algorithm: 'RSASSA_PSS_SHA_256', message, signature: flipped }),
        ).toBe(false);
        expect(
          await provider.verify({
            ref: rsa,
            algorithm: 'RSASSA_PSS_SHA_256',
            message,
            signature: pss.subarray(1),
          }),
        ).toBe(false);
        expect(
          await provider.verify({
            ref: ec,
            algorithm: 'ECDSA_SHA_256',
            message,
            signature: Buffer.from([0x30, 0x02, 0x01]),
          }),
        ).toBe(false);
        expect(
          await provider.verify({ ref: ec, algorithm: 'ECDSA_SHA_256', message, signature: randomBytes(64) }),
        ).toBe(false);
        expect(
          await provider.verify({
            ref: ec,
            algorithm: 'ECDSA_SHA_256',
            message,
            signature: randomBytes(64),
            signatureFormat: 'P1363',
          }),
        ).toBe(false);
        // The session is healthy after all those failures.
        expect(await provider.verify({ ref: ec, algorithm: 'ECDSA_SHA_256', message, signature: der })).toBe(
          true,
        );
      });

      it('signatures made by node:crypto with an imported key verify through the provider', async () => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
        const { ref } = await provider.importKey({
          spec: 'ECC_NIST_P256',
          usage: 'SIGN_VERIFY',
          pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
          label: 'test-imported-ec',
        });
        const signature = sign('sha256', message, privateKey);
        expect(await provider.verify({ ref, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(true);
      });
    });

    describe('encryption', () => {
      it('RSAES_OAEP_SHA_1: node:crypto ciphertexts decrypt; round trips; tampering is INVALID_CIPHERTEXT', async () => {
        const ref = keys.rsaEncrypt!.ref;
        const key = await nodeKey(provider, ref);
        const secret = randomBytes(32);
        const fromNode = publicEncrypt(
          { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
          secret,
        );
        expect(
          Buffer.from(await provider.decrypt({ ref, algorithm: 'RSAES_OAEP_SHA_1', ciphertext: fromNode })),
        ).toEqual(secret);
        const ciphertext = await provider.encrypt({ ref, algorithm: 'RSAES_OAEP_SHA_1', plaintext: secret });
        expect(ciphertext).toHaveLength(256);
        expect(
          Buffer.from(await provider.decrypt({ ref, algorithm: 'RSAES_OAEP_SHA_1', ciphertext })),
        ).toEqual(secret);
        const tampered = Buffer.from(ciphertext);
        tampered[5]! ^= 1;
        await expectCode(
          provider.decrypt({ ref, algorithm: 'RSAES_OAEP_SHA_1', ciphertext: tampered }),
          'INVALID_CIPHERTEXT',
        );
        await expectCode(
          provider.decrypt({ ref, algorithm: 'RSAES_OAEP_SHA_1', ciphertext: tampered.subarray(3) }),
          'INVALID_CIPHERTEXT',
        );
        expect(
          Buffer.from(await provider.decrypt({ ref, algorithm: 'RSAES_OAEP_SHA_1', ciphertext })),
        ).toEqual(secret);
      });

      it(`RSAES_OAEP_SHA_256: ${EXPECTED[name].oaepSha256 ? 'node:crypto ciphertexts decrypt' : 'declared unsupported: UNSUPPORTED_ALGORITHM'}`, async () => {
        const ref = keys.rsaEncrypt!.ref;
        const secret = randomBytes(32);
        if (!EXPECTED[name].oaepSha256) {
          await expectCode(
            provider.encrypt({ ref, algorithm: 'RSAES_OAEP_SHA_256', plaintext: secret }),
            'UNSUPPORTED_ALGORITHM',
          );
          return;
        }
        const key = await nodeKey(provider, ref);
        const fromNode = publicEncrypt(
          { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          secret,
        );
        expect(
          Buffer.from(await provider.decrypt({ ref, algorithm: 'RSAES_OAEP_SHA_256', ciphertext: fromNode })),
        ).toEqual(secret);
        const ciphertext = await provider.encrypt({
          ref,
          algorithm: 'RSAES_OAEP_SHA_256',
          plaintext: secret,
        });
        expect(
          Buffer.from(await provider.decrypt({ ref, algorithm: 'RSAES_OAEP_SHA_256', ciphertext })),
        ).toEqual(secret);
        await expectCode(
          provider.decrypt({ ref, algorithm: 'RSAES_OAEP_SHA_1', ciphertext }),
          'INVALID_CIPHERTEXT',
        );
      });

      it('SYMMETRIC_DEFAULT: AES-GCM bound to the encryption context; every change is INVALID_CIPHERTEXT', async () => {
        const ref = keys.aes!.ref;
        const plaintext = randomBytes(100);
        const context = { tenant: 't1', purpose: 'pan' };
        const ciphertext = Buffer.from(
          await provider.encrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext, context }),
        );
        const again = Buffer.from(
          await provider.encrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext, context }),
        );
        expect(again.equals(ciphertext)).toBe(false); // a fresh IV each time
        const decrypt = (bytes: Uint8Array, withContext: Record<string, string> | null = context) =>
          provider.decrypt({
            ref,
            algorithm: 'SYMMETRIC_DEFAULT',
            ciphertext: bytes,
            ...(withContext ? { context: withContext } : {}),
          });
        expect(Buffer.from(await decrypt(ciphertext, { purpose: 'pan', tenant: 't1' }))).toEqual(plaintext);
        await expectCode(decrypt(ciphertext, { tenant: 't2', purpose: 'pan' }), 'INVALID_CIPHERTEXT');
        await expectCode(decrypt(ciphertext, null), 'INVALID_CIPHERTEXT');
        for (const index of [0, 2, 5, 25, 40, ciphertext.length - 1]) {
          const tampered = Buffer.from(ciphertext);
          tampered[index]! ^= 0x01;
          await expectCode(decrypt(tampered), 'INVALID_CIPHERTEXT');
        }
        await expectCode(decrypt(ciphertext.subarray(0, 30)), 'INVALID_CIPHERTEXT');
        await expectCode(
          provider.decrypt({ ref: keys.aes2!.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext, context }),
          'INVALID_CIPHERTEXT',
        );
        expect(Buffer.from(await decrypt(ciphertext))).toEqual(plaintext);
      });

      it('SYMMETRIC_DEFAULT blobs follow the documented format (node:crypto opens them, and they open node’s)', async () => {
        const secret = generateKeySync('aes', { length: 256 });
        const { ref } = await provider.importKey({
          spec: 'SYMMETRIC_DEFAULT',
          usage: 'ENCRYPT_DECRYPT',
          raw: secret.export(),
          label: 'test-imported-aes',
        });
        const keyId = Buffer.from((await provider.describeKey(ref)).keyId, 'hex');
        const context = { a: '1' };
        const plaintext = Buffer.from('4111111111111111');
        const blob = Buffer.from(
          await provider.encrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext, context }),
        );
        const header = blob.subarray(0, 3 + keyId.length);
        expect([...header.subarray(0, 3)]).toEqual([0x50, 0x01, 16]);
        expect(header.subarray(3).equals(keyId)).toBe(true);
        const aad = Buffer.concat([
          Buffer.from('keyswitch/pkcs11/aes-gcm/v1\0'),
          header,
          encodeEncryptionContext(context),
        ]);
        const iv = blob.subarray(header.length, header.length + 12);
        const sealed = blob.subarray(header.length + 12);
        const decipher = createDecipheriv('aes-256-gcm', secret, iv).setAAD(aad);
        decipher.setAuthTag(sealed.subarray(sealed.length - 16));
        expect(
          Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]),
        ).toEqual(plaintext);
        // And the other way round.
        const nodeIv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', secret, nodeIv).setAAD(aad);
        const nodeBlob = Buffer.concat([
          header,
          nodeIv,
          cipher.update(plaintext),
          cipher.final(),
          cipher.getAuthTag(),
        ]);
        expect(
          Buffer.from(
            await provider.decrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext: nodeBlob, context }),
          ),
        ).toEqual(plaintext);
      });

      it('data keys: the wrapped key decrypts to the plaintext key under the same context', async () => {
        const ref = keys.aes!.ref;
        const context = { tenant: 't9' };
        const dataKey = await provider.generateDataKey({ ref, dataKeySpec: 'AES_128', context });
        expect(dataKey.plaintext).toHaveLength(16);
        const opened = await provider.decrypt({
          ref,
          algorithm: 'SYMMETRIC_DEFAULT',
          ciphertext: dataKey.ciphertextBlob,
          context,
        });
        expect(Buffer.from(opened)).toEqual(Buffer.from(dataKey.plaintext!));
        const withoutPlaintext = await provider.generateDataKey({ ref, withPlaintext: false });
        expect(withoutPlaintext.plaintext).toBeUndefined();
      });
    });

    describe('MAC, key agreement, random', () => {
      it('HMAC equals node:crypto’s for an imported key; verifyMac answers false for a wrong or short tag', async () => {
        for (const [spec, algorithm, hash, bytes] of [
          ['HMAC_256', 'HMAC_SHA_256', 'sha256', 32],
          ['HMAC_512', 'HMAC_SHA_512', 'sha512', 64],
        ] as const) {
          const secret = randomBytes(bytes);
          const { ref } = await provider.importKey({
            spec,
            usage: 'GENERATE_VERIFY_MAC',
            raw: secret,
            label: `test-imported-${spec}`,
          });
          expect(await provider.describeKey(ref)).toMatchObject({ spec, usage: 'GENERATE_VERIFY_MAC' });
          const mac = await provider.generateMac({ ref, algorithm, message });
          expect(Buffer.from(mac)).toEqual(createHmac(hash, secret).update(message).digest());
          expect(await provider.verifyMac({ ref, algorithm, message, mac })).toBe(true);
          const wrong = Buffer.from(mac);
          wrong[0]! ^= 1;
          expect(await provider.verifyMac({ ref, algorithm, message, mac: wrong })).toBe(false);
          expect(await provider.verifyMac({ ref, algorithm, message, mac: mac.subarray(1) })).toBe(false);
        }
        const generated = await provider.generateMac({
          ref: keys.hmac512!.ref,
          algorithm: 'HMAC_SHA_512',
          message,
        });
        expect(generated).toHaveLength(64);
      });

      it('ECDH gives the raw shared secret, equal to node:crypto’s on the peer side', async () => {
        for (const [id, curve] of [
          ['ecdh256', 'prime256v1'],
          ['ecdh384', 'secp384r1'],
        ] as const) {
          const ref = keys[id]!.ref;
          const peer = generateKeyPairSync('ec', { namedCurve: curve });
          const secret = await provider.deriveSharedSecret({
            ref,
            algorithm: 'ECDH',
            publicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
          });
          const expected = diffieHellman({
            privateKey: peer.privateKey,
            publicKey: await nodeKey(provider, ref),
          });
          expect(Buffer.from(secret)).toEqual(expected);
          expect(secret).toHaveLength(keySpecInfo(keys[id]!.spec).coordinateBytes!);
        }
        const wrongCurve = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
          format: 'der',
          type: 'spki',
        });
        await expectCode(
          provider.deriveSharedSecret({ ref: keys.ecdh256!.ref, algorithm: 'ECDH', publicKey: wrongCurve }),
          'INVALID_INPUT',
        );
      });

      it('random bytes come from C_GenerateRandom', async () => {
        const a = await provider.generateRandom(32);
        const b = await provider.generateRandom(32);
        expect(a).toHaveLength(32);
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
        expect(await provider.generateRandom(1024)).toHaveLength(1024);
      });
    });

    describe('key state', () => {
      it('disableKey clears the usage attributes: DISABLED, and every operation (public ones too) is KEY_DISABLED', async () => {
        const sign = await provider.createKey({
          spec: 'ECC_NIST_P256',
          usage: 'SIGN_VERIFY',
          label: 'test-state-sign',
        });
        const agree = await provider.createKey({
          spec: 'ECC_NIST_P256',
          usage: 'KEY_AGREEMENT',
          label: 'test-state-ecdh',
        });
        const aes = await provider.createKey({
          spec: 'SYMMETRIC_DEFAULT',
          usage: 'ENCRYPT_DECRYPT',
          label: 'test-state-aes',
        });
        const signature = await provider.sign({ ref: sign.ref, algorithm: 'ECDSA_SHA_256', message });
        const ciphertext = await provider.encrypt({
          ref: aes.ref,
          algorithm: 'SYMMETRIC_DEFAULT',
          plaintext: message,
        });
        const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
          format: 'der',
          type: 'spki',
        });
        for (const key of [sign, agree, aes]) await provider.disableKey(key.ref);
        for (const key of [sign, agree, aes])
          expect((await provider.describeKey(key.ref)).state).toBe('DISABLED');
        expect(await provider.describeKey(sign.ref)).toMatchObject({
          usage: 'SIGN_VERIFY',
          spec: 'ECC_NIST_P256',
        });
        expect(await provider.describeKey(agree.ref)).toMatchObject({ usage: 'KEY_AGREEMENT' });
        await expectCode(
          provider.sign({ ref: sign.ref, algorithm: 'ECDSA_SHA_256', message }),
          'KEY_DISABLED',
        );
        await expectCode(
          provider.verify({ ref: sign.ref, algorithm: 'ECDSA_SHA_256', message, signature }),
          'KEY_DISABLED',
        );
        // NSS softokn does not enforce CKA_DERIVE: keyswitch's own check catches it.
        await expectCode(
          provider.deriveSharedSecret({ ref: agree.ref, algorithm: 'ECDH', publicKey: peer }),
          'KEY_DISABLED',
        );
        await expectCode(
          provider.encrypt({ ref: aes.ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext: message }),
          'KEY_DISABLED',
        );
        await expectCode(
          provider.decrypt({ ref: aes.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext }),
          'KEY_DISABLED',
        );
        for (const key of [sign, agree, aes]) await provider.enableKey(key.ref);
        for (const key of [sign, agree, aes])
          expect((await provider.describeKey(key.ref)).state).toBe('ENABLED');
        expect(await provider.verify({ ref: sign.ref, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(
          true,
        );
        expect(
          await provider.deriveSharedSecret({ ref: agree.ref, algorithm: 'ECDH', publicKey: peer }),
        ).toHaveLength(32);
        expect(
          Buffer.from(await provider.decrypt({ ref: aes.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext })),
        ).toEqual(message);
      });

      it('scheduleKeyDeletion is not offered: UNSUPPORTED_OPERATION, and the key keeps working', async () => {
        await expectCode(provider.scheduleKeyDeletion(keys.aes2!.ref), 'UNSUPPORTED_OPERATION');
        expect((await provider.describeKey(keys.aes2!.ref)).state).toBe('ENABLED');
      });

      it('getPublicKey: SPKI from CKA_MODULUS/CKA_PUBLIC_EXPONENT or CKA_EC_POINT; USAGE_MISMATCH for secret keys', async () => {
        const rsa = await provider.getPublicKey(keys.rsaSign!.ref);
        expect(rsa.keySpec).toBe('RSA_2048');
        expect(
          createPublicKey({ key: Buffer.from(rsa.spki), format: 'der', type: 'spki' }).asymmetricKeyDetails
            ?.modulusLength,
        ).toBe(2048);
        const ec = await provider.getPublicKey(keys.ec384!.ref);
        expect(ec.keySpec).toBe('ECC_NIST_P384');
        await expectCode(provider.getPublicKey(keys.aes!.ref), 'USAGE_MISMATCH');
      });
    });

    describe('sessions', () => {
      it('runs many operations at once on the pool while the event loop keeps running', async () => {
        const ref = keys.rsaSign!.ref;
        const key = await nodeKey(provider, ref);
        // The event loop's delay is measured by the bench (pnpm bench), never asserted here.
        let ticks = 0;
        const timer = setInterval(() => {
          ticks += 1;
        }, 1);
        const signatures = await Promise.all(
          Array.from({ length: 48 }, () => provider.sign({ ref, algorithm: 'RSASSA_PSS_SHA_256', message })),
        );
        clearInterval(timer);
        for (const signature of signatures) {
          expect(
            verify(
              'sha256',
              message,
              { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
              signature,
            ),
          ).toBe(true);
        }
        expect(ticks).toBeGreaterThan(0);
      });

      it('recovers when the token closes every session under the pool (C_CloseAllSessions), login included', async () => {
        const library = loadedModule(which!.module)!;
        const ec = keys.ec256!.ref;
        expect(
          await provider.verify({
            ref: ec,
            algorithm: 'ECDSA_SHA_256',
            message,
            signature: await provider.sign({ ref: ec, algorithm: 'ECDSA_SHA_256', message }),
          }),
        ).toBe(true);
        library.C_CloseAllSessions(provider.token.slot);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, index) =>
            index % 3 === 0
              ? provider.generateMac({ ref: keys.hmac256!.ref, algorithm: 'HMAC_SHA_256', message })
              : provider.sign({ ref: ec, algorithm: 'ECDSA_SHA_256', message }),
          ),
        );
        expect(results).toHaveLength(12);
        library.C_CloseAllSessions(provider.token.slot);
        expect((await provider.describeKey(keys.rsaSign!.ref)).state).toBe('ENABLED');
        library.C_CloseAllSessions(provider.token.slot);
        expect(await provider.generateRandom(8)).toHaveLength(8);
      });

      it('recovers when the token logs the application out', async () => {
        const library = loadedModule(which!.module)!;
        const session = library.C_OpenSession(provider.token.slot, 6);
        try {
          library.C_Logout(session);
        } catch (error) {
          // NSS softokn may already have dropped the login with the sessions closed before.
          expect((error as Error).message).toBe('CKR_USER_NOT_LOGGED_IN');
        }
        library.C_CloseSession(session);
        const signature = await provider.sign({ ref: keys.ec256!.ref, algorithm: 'ECDSA_SHA_256', message });
        expect(verify('sha256', message, await nodeKey(provider, keys.ec256!.ref), signature)).toBe(true);
      });

      it('looks a key up again when its cached object handle went stale', async () => {
        const first = await provider.createKey({
          spec: 'SYMMETRIC_DEFAULT',
          usage: 'ENCRYPT_DECRYPT',
          label: 'test-stale',
        });
        const ref = 'pkcs11:object=test-stale';
        await provider.encrypt({ ref, algorithm: 'SYMMETRIC_DEFAULT', plaintext: message });
        const library = loadedModule(which!.module)!;
        const session = library.C_OpenSession(provider.token.slot, 6);
        try {
          library.C_FindObjectsInit(session, [{ type: CKA.LABEL, value: 'test-stale' }]);
          const [handle] = library.C_FindObjects(session, 1);
          library.C_FindObjectsFinal(session);
          library.C_DestroyObject(session, handle!);
        } finally {
          library.C_CloseSession(session);
        }
        const second = await provider.createKey({
          spec: 'SYMMETRIC_DEFAULT',
          usage: 'ENCRYPT_DECRYPT',
          label: 'test-stale',
        });
        expect(second.keyId).not.toBe(first.keyId);
        const ciphertext = await provider.encrypt({
          ref,
          algorithm: 'SYMMETRIC_DEFAULT',
          plaintext: message,
        });
        expect(Buffer.from(ciphertext.subarray(3, 19)).toString('hex')).toBe(second.keyId);
      });

      it('an operation over its time limit is UNAVAILABLE; its session rejoins the pool when the call returns', async () => {
        // The token's key generation is held past its limit on purpose, so the outcome does not depend on
        // how fast this machine generates an RSA key.
        const faults = installTestFaults([{ function: 'C_GenerateKeyPair', delayMs: 1_500, times: 0 }]);
        const slow = await openTarget(which!, { sessions: 1, operationTimeoutMs: 100 });
        faults.arm(0, 1);
        try {
          const creating = slow.createKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', label: 'test-slow-rsa' });
          const waiting = slow.sign({ ref: keys.ec256!.ref, algorithm: 'ECDSA_SHA_256', message });
          const [created, waited] = await Promise.allSettled([creating, waiting]);
          expect(created.status === 'rejected' && (created.reason as KeyswitchError).code).toBe(
            'UNAVAILABLE',
          );
          expect(waited.status === 'rejected' && (waited.reason as KeyswitchError).retryable).toBe(true);
          // Once the key generation has returned, the session serves again.
          await expect
            .poll(
              () =>
                slow.sign({ ref: keys.ec256!.ref, algorithm: 'ECDSA_SHA_256', message }).then(
                  () => true,
                  () => false,
                ),
              {
                timeout: 20_000,
                interval: 200,
              },
            )
            .toBe(true);
        } finally {
          faults.remove();
          await slow.close();
        }
      });

      it('a second provider (deprecated execution option, 2 threads) runs on workers with the same results', async () => {
        const other = await openTarget(which!, { execution: 'async', workerThreads: 2 });
        try {
          expect(other.execution).toBe('worker');
          expect(other.workerThreadIds).toHaveLength(2);
          const ec = keys.ec256!.ref;
          const signature = await other.sign({ ref: ec, algorithm: 'ECDSA_SHA_256', message });
          expect(await provider.verify({ ref: ec, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(
            true,
          );
          expect(
            await other.verify({
              ref: ec,
              algorithm: 'ECDSA_SHA_256',
              message,
              signature: Buffer.from(signature).reverse(),
            }),
          ).toBe(false);
          const ciphertext = await provider.encrypt({
            ref: keys.aes!.ref,
            algorithm: 'SYMMETRIC_DEFAULT',
            plaintext: message,
          });
          expect(
            Buffer.from(
              await other.decrypt({ ref: keys.aes!.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext }),
            ),
          ).toEqual(message);
          const mac = await provider.generateMac({
            ref: keys.hmac256!.ref,
            algorithm: 'HMAC_SHA_256',
            message,
          });
          expect(
            await other.verifyMac({ ref: keys.hmac256!.ref, algorithm: 'HMAC_SHA_256', message, mac }),
          ).toBe(true);
          const state = await other.createKey({
            spec: 'ECC_NIST_P256',
            usage: 'SIGN_VERIFY',
            label: 'test-other-mode',
          });
          await other.disableKey(state.ref);
          await expectCode(
            other.sign({ ref: state.ref, algorithm: 'ECDSA_SHA_256', message }),
            'KEY_DISABLED',
          );
          await expectCode(
            provider.sign({ ref: state.ref, algorithm: 'ECDSA_SHA_256', message }),
            'KEY_DISABLED',
          );
        } finally {
          await other.close();
        }
      });

      it('waiters queue for a small pool, and close() drains work in flight', async () => {
        const small = await openTarget(which!, { sessions: 2 });
        const ref = keys.rsaSign!.ref;
        const pending = Array.from({ length: 10 }, () =>
          small.sign({ ref, algorithm: 'RSASSA_PSS_SHA_256', message }),
        );
        const closing = small.close();
        const settled = await Promise.allSettled(pending);
        await closing;
        expect(settled.every((result) => result.status === 'fulfilled')).toBe(true);
        await expectCode(small.sign({ ref, algorithm: 'RSASSA_PSS_SHA_256', message }), 'CLOSED');
        // The module stays initialized for the provider still open.
        expect(await provider.generateRandom(4)).toHaveLength(4);
      });
    });

    describe('failures', () => {
      it('a missing module is CONFIG_INVALID (not retryable), naming the module option', async () => {
        const error = await expectCode(
          openTarget(which!, { module: '/nonexistent/libpkcs11-missing.so' }),
          'CONFIG_INVALID',
        );
        expect(error.retryable).toBe(false);
        expect(error.path).toBe('module');
      });

      it('a token that is not there is UNAVAILABLE (retryable), naming the tokens seen', async () => {
        const error = await expectCode(
          openTarget(which!, { token: { label: 'no-such-token' } }),
          'UNAVAILABLE',
        );
        expect(error.retryable).toBe(true);
        expect(error.message).toContain(provider.token.label);
        await expectCode(openTarget(which!, { token: { serial: 'nope' } }), 'UNAVAILABLE');
      });
    });
  });
}
