import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base64UrlDecode,
  base64UrlEncode,
  derToPem,
  ecdsaDerToP1363,
  ecdsaP1363ToDer,
  jwkToSpki,
  type PublicJwk,
  parseSpki,
  pemToDer,
  publicKeyFromSpki,
  spkiToJwk,
  toSpki,
} from '../../src/index.js';
import { fuzzParameters, mutatedBytes, mutatedText, outcomeSync } from '../support/fuzz.js';

const keys = [
  generateKeyPairSync('rsa', { modulusLength: 2048 }),
  generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  generateKeyPairSync('ec', { namedCurve: 'P-521' }),
];
const spkis = keys.map((pair) => new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' })));
const jwks = keys.map((pair) => pair.publicKey.export({ format: 'jwk' }) as unknown as PublicJwk);

/** What node:crypto makes of a DER SubjectPublicKeyInfo: its JWK, or undefined when it refuses it. */
function nodeJwk(der: Uint8Array): Record<string, unknown> | undefined {
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  } catch {
    return undefined;
  }
}

const spkiInputs = fc.oneof(
  fc.constantFrom(...spkis).chain((der) => mutatedBytes(der)),
  fc.uint8Array({ maxLength: 600 }),
);

describe('fuzz: DER, SPKI, PEM and JWK', () => {
  it('SPKI parsing: a typed error, or the key node:crypto reads from the same bytes', () => {
    fc.assert(
      fc.property(spkiInputs, (der) => {
        const parsed = outcomeSync(() => spkiToJwk(der));
        const parsedAgain = outcomeSync(() => parseSpki(der));
        const publicKey = outcomeSync(() => publicKeyFromSpki(der));
        expect(parsedAgain.ok).toBe(parsed.ok);
        expect(publicKey.ok).toBe(parsed.ok);
        if (!parsed.ok) {
          expect(parsed.error.code).toBe('INVALID_INPUT');
          return;
        }
        const reference = nodeJwk(der);
        expect(reference, 'keyswitch accepted an SPKI node:crypto refuses').toBeDefined();
        expect(parsed.value).toMatchObject(reference!);
      }),
      fuzzParameters(1500),
    );
  });

  it('PEM: a typed error, or DER that is what the text encodes', () => {
    const pems = spkis.map((der) => derToPem(der, 'PUBLIC KEY'));
    const alphabet = fc.constantFrom(
      '-',
      '\n',
      '\r\n',
      ' ',
      '=',
      'A',
      '/',
      '+',
      '_',
      'BEGIN',
      'END',
      'PUBLIC KEY',
      '-----',
      '\u00e9',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(...pems).chain((pem) => mutatedText(pem, alphabet)),
          fc.string({ maxLength: 80 }),
        ),
        (pem) => {
          const der = outcomeSync(() => pemToDer(pem, 'PUBLIC KEY'));
          const spki = outcomeSync(() => toSpki(pem));
          if (!der.ok) expect(der.error.code).toBe('INVALID_INPUT');
          if (!spki.ok) expect(spki.error.code).toBe('INVALID_INPUT');
          if (spki.ok) expect(nodeJwk(spki.value)).toBeDefined();
        },
      ),
      fuzzParameters(1500),
    );
  });

  it('JWK: a typed error, or the SPKI node:crypto makes of the same JWK', () => {
    const field = fc.oneof(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }));
    const jwkInputs = fc.oneof(
      fc
        .tuple(
          fc.constantFrom(...jwks),
          fc.constantFrom('kty', 'crv', 'x', 'y', 'n', 'e', 'd', 'use', 'alg'),
          field,
        )
        .map(([jwk, name, value]) => ({ ...jwk, [name]: value })),
      fc
        .constantFrom(...jwks)
        .chain((jwk) =>
          fc
            .constantFrom(...Object.keys(jwk).filter((k) => k !== 'kty'))
            .chain((name) =>
              mutatedText(
                String((jwk as unknown as Record<string, string>)[name]),
                fc.constantFrom('A', '_', '-', '=', '+', ''),
              ).map((value) => ({ ...jwk, [name]: value })),
            ),
        ),
      fc.anything({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(jwkInputs, (jwk) => {
        const spki = outcomeSync(() => jwkToSpki(jwk as PublicJwk));
        if (!spki.ok) {
          expect(spki.error.code).toBe('INVALID_INPUT');
          return;
        }
        const reference = createPublicKey({ key: jwk as never, format: 'jwk' }).export({
          format: 'der',
          type: 'spki',
        });
        expect(Buffer.from(spki.value).equals(reference)).toBe(true);
      }),
      fuzzParameters(1500),
    );
  });

  it('ECDSA DER signatures: a typed error, or the one canonical DER of (r, s)', () => {
    const signatures = ([1, 2, 3] as const).map((index) => ({
      der: new Uint8Array(sign('sha256', Buffer.from('payload'), keys[index]!.privateKey)),
      size: [32, 48, 66][index - 1]!,
    }));
    fc.assert(
      fc.property(
        fc
          .constantFrom(...signatures)
          .chain(({ der, size }) =>
            fc.tuple(fc.oneof(mutatedBytes(der), fc.uint8Array({ maxLength: 140 })), fc.constant(size)),
          ),
        ([der, size]) => {
          const raw = outcomeSync(() => ecdsaDerToP1363(der, size));
          if (!raw.ok) {
            expect(raw.error.code).toBe('INVALID_INPUT');
            return;
          }
          expect(raw.value).toHaveLength(2 * size);
          expect(Buffer.from(ecdsaP1363ToDer(raw.value, size)).equals(Buffer.from(der))).toBe(true);
        },
      ),
      fuzzParameters(2000),
    );
  });

  it('base64url: a typed error, or bytes that encode back to the same text', () => {
    fc.assert(
      fc.property(
        fc.string({
          maxLength: 40,
          unit: fc.constantFrom('A', 'b', '0', '-', '_', '=', '+', '/', ' ', '\n', 'é'),
        }),
        (text) => {
          const bytes = outcomeSync(() => base64UrlDecode(text));
          if (!bytes.ok) expect(bytes.error.code).toBe('INVALID_INPUT');
          else expect(base64UrlEncode(bytes.value)).toBe(text);
        },
      ),
      fuzzParameters(2000),
    );
  });
});
