import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derToPem, pemToDer } from '../../src/encoding/index.js';
import { expectInvalidInput } from './support/expect-invalid-input.js';
import { nodeKey } from './support/node-keys.js';

describe('derToPem', () => {
  it.each(['RSA_2048', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P521'] as const)(
    'equals node:crypto PEM export for %s',
    (spec) => {
      const { publicKey, spki } = nodeKey(spec);
      expect(derToPem(spki, 'PUBLIC KEY')).toBe(publicKey.export({ format: 'pem', type: 'spki' }));
    },
  );

  it('writes 64-character lines and a trailing newline', () => {
    const pem = derToPem(randomBytes(200), 'CERTIFICATE');
    const lines = pem.split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.slice(1, -3).every((line) => line.length === 64)).toBe(true);
    expect(lines.at(-3)!.length).toBeLessThanOrEqual(64);
    expect(lines.at(-2)).toBe('-----END CERTIFICATE-----');
    expect(lines.at(-1)).toBe('');
  });

  it('accepts labels with inner spaces and hyphens', () => {
    expect(derToPem(new Uint8Array([1]), 'X509 CRL')).toBe(
      '-----BEGIN X509 CRL-----\nAQ==\n-----END X509 CRL-----\n',
    );
    expect(pemToDer(derToPem(new Uint8Array([1]), 'A-B'), 'A-B')).toEqual(new Uint8Array([1]));
  });

  it.each([
    ['empty', ''],
    ['leading space', ' PUBLIC KEY'],
    ['trailing hyphen', 'PUBLIC KEY-'],
    ['double space', 'PUBLIC  KEY'],
    ['newline', 'PUBLIC\nKEY'],
    ['non-ASCII', 'CLÉ'],
  ])('rejects a label with %s', (_, label) => {
    expectInvalidInput(() => derToPem(new Uint8Array([1]), label), 'PEM label is not valid');
  });

  it('rejects empty or non-byte input', () => {
    expectInvalidInput(() => derToPem(new Uint8Array(0), 'PUBLIC KEY'), 'DER input is empty');
    expectInvalidInput(() => derToPem('MFkw' as unknown as Uint8Array, 'PUBLIC KEY'), 'must be a Uint8Array');
    expectInvalidInput(
      () => derToPem(new Uint8Array([1]), undefined as unknown as string),
      'PEM label is not valid',
    );
  });
});

describe('pemToDer', () => {
  const { publicKey, spki } = nodeKey('ECC_NIST_P256');
  const pem = publicKey.export({ format: 'pem', type: 'spki' }) as string;

  it('reads node:crypto PEM back to the same DER, as a plain Uint8Array', () => {
    const der = pemToDer(pem, 'PUBLIC KEY');
    expect(der).toEqual(spki);
    expect(Buffer.isBuffer(der)).toBe(false);
    expect(pemToDer(pem)).toEqual(spki);
  });

  it('tolerates CRLF, indentation, surrounding blank lines and unwrapped base64', () => {
    expect(pemToDer(pem.replace(/\n/g, '\r\n'), 'PUBLIC KEY')).toEqual(spki);
    expect(pemToDer(`\n\n  ${pem.replace(/\n/g, '\n    ')}\n\n`, 'PUBLIC KEY')).toEqual(spki);
    const body = Buffer.from(spki).toString('base64');
    expect(pemToDer(`-----BEGIN PUBLIC KEY-----${body}-----END PUBLIC KEY-----`)).toEqual(spki);
  });

  it('round-trips any label', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pkcs8 = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const der = pemToDer(pkcs8, 'PRIVATE KEY');
    expect(derToPem(der, 'PRIVATE KEY')).toBe(pkcs8);
  });

  it('rejects a label other than the expected one, naming both', () => {
    expectInvalidInput(
      () => pemToDer(pem, 'CERTIFICATE'),
      'PEM label is "PUBLIC KEY", expected "CERTIFICATE"',
    );
  });

  it('rejects BEGIN and END labels that differ', () => {
    const mixed = pem.replace('END PUBLIC KEY', 'END CERTIFICATE');
    expectInvalidInput(() => pemToDer(mixed), 'does not match END label');
  });

  it.each([
    ['no armour', Buffer.from([1, 2, 3]).toString('base64')],
    ['no END line', '-----BEGIN PUBLIC KEY-----\nAQID\n'],
    [
      'text before the block',
      `Public key:\n${'-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n'}`,
    ],
    ['text after the block', '-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\ntrailer'],
    ['an empty label', '-----BEGIN -----\nAQID\n-----END -----\n'],
  ])('rejects %s', (_, text) => {
    expectInvalidInput(() => pemToDer(text), 'PEM input is not one');
  });

  it('rejects two blocks', () => {
    expectInvalidInput(() => pemToDer(pem + pem), 'more than one block');
  });

  it('rejects an empty body', () => {
    expectInvalidInput(
      () => pemToDer('-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----\n'),
      'PEM body is empty',
    );
  });

  it.each([
    ['a character outside base64', 'AQ*D'],
    ['base64url characters', 'AQ_-'],
    ['wrong padding', 'AQ='],
    ['padding in the middle', 'AQ==AQID'],
    ['non-zero unused bits', 'AR=='],
    ['an RFC 1421 header', 'Proc-Type: 4,ENCRYPTED\nAQID'],
  ])('rejects a body with %s', (_, body) => {
    expectInvalidInput(
      () => pemToDer(`-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`),
      'PEM body is not valid base64',
    );
  });

  it('rejects non-string input', () => {
    expectInvalidInput(() => pemToDer(spki as unknown as string), 'PEM input must be a string');
  });
});
