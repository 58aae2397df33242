import fc from 'fast-check';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzParameters, mutatedText, outcome } from '../../../core/test/support/fuzz.js';
import { decryptJwe, encryptJwe, signJws, verifyJws } from '../../src/index.js';
import { hsmAgreement, hsmDecrypter, hsmSigner, openSharedKeys, type SharedKeys } from '../support/keys.js';

let keys: SharedKeys;
beforeAll(async () => {
  keys = await openSharedKeys();
});
afterAll(() => keys.hsm.close());

const base64url = fc.constantFrom('A', 'Q', 'g', 'w', '_', '-', '0', '9', '.', '=', '+', '/', ' ', 'eyJ', '');
const b64 = (value: Uint8Array | string) => Buffer.from(value).toString('base64url');

/** A compact serialization with a header of any JSON and segments of any bytes. */
function compactOf(segments: number): fc.Arbitrary<string> {
  const header = fc.oneof(
    fc.record(
      {
        alg: fc.constantFrom('ES256', 'PS256', 'RS256', 'none', 'HS256', 'RSA-OAEP-256', 'ECDH-ES', 'dir'),
        enc: fc.constantFrom('A128GCM', 'A128CBC-HS256', 'A512GCM'),
        epk: fc.anything({ maxDepth: 2 }),
        crit: fc.anything({ maxDepth: 1 }),
        b64: fc.anything({ maxDepth: 0 }),
        zip: fc.constantFrom('DEF', 'x'),
        x5c: fc.anything({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );
  return fc
    .tuple(
      header,
      fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: segments - 1, maxLength: segments - 1 }),
    )
    .map(([h, rest]) => [b64(JSON.stringify(h)), ...rest.map(b64)].join('.'));
}

describe('fuzz: JWS and JWE', () => {
  it('verifyJws: a typed error, or the untouched JWS (which jose verifies too)', async () => {
    const cases = [
      { signer: hsmSigner(keys.hsm, 'ec256', 'ECDSA_SHA_256') },
      { signer: hsmSigner(keys.hsm, 'rsa-sign', 'RSASSA_PSS_SHA_256') },
    ];
    const signed = await Promise.all(
      cases.map(async ({ signer }) => ({
        jws: await signJws({ messageType: 'CRes', acsTransID: 'x' }, signer, { typ: 'JOSE' }),
        key: (await signer.publicKey()).spki,
      })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...signed)
          .chain(({ jws, key }) =>
            fc.tuple(fc.oneof(mutatedText(jws, base64url), compactOf(3)), fc.constant(key)),
          ),
        async ([jws, spki]) => {
          const result = await outcome(() => verifyJws(jws, { key: spki }));
          if (!result.ok) return;
          expect(signed.map((s) => s.jws)).toContain(jws);
          const key = await jose.importSPKI(
            `-----BEGIN PUBLIC KEY-----\n${Buffer.from(spki).toString('base64')}\n-----END PUBLIC KEY-----`,
            result.value.protectedHeader.alg,
          );
          await jose.compactVerify(jws, key);
        },
      ),
      fuzzParameters(400),
    );
  });

  it('decryptJwe: a typed error, or the plaintext that was encrypted', async () => {
    const plaintext = JSON.stringify({ DV: '1.0', DD: { C001: 'Android' } });
    const rsa = await encryptJwe(plaintext, keys.rsa.publicKey, { enc: 'A128GCM' });
    const ecdh = await encryptJwe(plaintext, keys.ecdh.publicKey, { enc: 'A128CBC-HS256' });
    const recipients = {
      rsa: hsmDecrypter(keys.hsm, 'rsa-enc', 'RSAES_OAEP_SHA_256'),
      ecdh: hsmAgreement(keys.hsm, 'ecdh'),
    };
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(['rsa', rsa] as const, ['ecdh', ecdh] as const)
          .chain(([name, jwe]) =>
            fc.tuple(fc.constant(name), fc.oneof(mutatedText(jwe, base64url), compactOf(5))),
          ),
        async ([name, jwe]) => {
          const result = await outcome(() => decryptJwe(jwe, recipients[name]));
          if (result.ok) expect(new TextDecoder().decode(result.value.plaintext)).toBe(plaintext);
        },
      ),
      fuzzParameters(400),
    );
  });
});
