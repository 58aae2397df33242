import { KeyswitchError } from '@keyswitch/core';
import { describe, expect, it } from 'vitest';
import { formatPkcs11Uri, parsePkcs11Uri } from '../src/index.js';

const invalid = (text: string) => {
  try {
    parsePkcs11Uri(text);
  } catch (error) {
    expect(error).toBeInstanceOf(KeyswitchError);
    expect((error as KeyswitchError).code).toBe('INVALID_INPUT');
    return (error as KeyswitchError).message;
  }
  throw new Error(`${text} parsed`);
};

describe('RFC 7512 pkcs11: URIs', () => {
  it('parses the RFC examples: path attributes, percent-encoding, id bytes, query', () => {
    expect(parsePkcs11Uri('pkcs11:')).toEqual({});
    expect(parsePkcs11Uri('pkcs11:object=my-pubkey;type=public')).toEqual({
      object: 'my-pubkey',
      type: 'public',
    });
    const uri = parsePkcs11Uri(
      'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91?pin-source=file:/etc/token',
    );
    expect(uri).toEqual({
      token: 'The Software PKCS#11 Softtoken',
      manufacturer: 'Snake Oil, Inc.',
      model: '1.0',
      object: 'my-certificate',
      type: 'cert',
      id: new Uint8Array([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91]),
      query: { 'pin-source': 'file:/etc/token' },
    });
    expect(parsePkcs11Uri('PKCS11:object=%E2%82%AC;slot-id=3;x-vendor=v')).toEqual({
      object: '€',
      slotId: 3,
      vendor: { 'x-vendor': 'v' },
    });
    expect(parsePkcs11Uri('pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-version=1')).toMatchObject(
      {
        libraryManufacturer: 'Snake Oil, Inc.',
        libraryVersion: '1',
      },
    );
  });

  it('refuses malformed URIs with INVALID_INPUT, and PINs in them without echoing the PIN', () => {
    expect(invalid('object=a')).toContain('pkcs11:');
    expect(invalid('pkcs11:object=a;object=b')).toContain('twice');
    expect(invalid('pkcs11:object=%G1')).toContain('percent-encoding');
    expect(invalid('pkcs11:object=%4')).toContain('percent-encoding');
    expect(invalid('pkcs11:object=a b')).toContain('percent-encoded');
    expect(invalid('pkcs11:object=a/b')).toContain('percent-encoded');
    expect(invalid('pkcs11:object=%FF')).toContain('UTF-8');
    expect(invalid('pkcs11:type=secret')).toContain('type must be');
    expect(invalid('pkcs11:colour=red')).toContain('unknown path attribute');
    expect(invalid('pkcs11:object=a;')).toContain('empty');
    expect(invalid('pkcs11:object')).toContain('name=value');
    // A malformed attribute is never quoted: it may hold a PIN (found by the URI fuzz test).
    const nameless = invalid('pkcs11:=%ffpin-value=l0ngS3cret;token=ks');
    expect(nameless).toContain('no name');
    expect(nameless).not.toContain('l0ngS3cret');
    expect(invalid('pkcs11:token=ks;hsm4Pin9')).not.toContain('hsm4Pin9');
    expect(invalid('pkcs11:slot-id=x')).toContain('slot-id');
    expect(invalid('pkcs11:object=a#frag')).toContain('fragment');
    expect(invalid('pkcs11:object=a?module=x')).toContain('unknown query attribute');
    const pin = invalid('pkcs11:object=a?pin-value=sup3rs3cret');
    expect(pin).toContain('pin-value');
    expect(pin).not.toContain('sup3rs3cret');
  });

  it('formats canonical URIs that parse back to the same attributes', () => {
    const attributes = {
      token: 'NSS Certificate DB',
      object: 'acs/signing key;v2',
      id: new Uint8Array([0, 1, 0xfe]),
      type: 'private' as const,
    };
    const text = formatPkcs11Uri(attributes);
    expect(text).toBe(
      'pkcs11:token=NSS%20Certificate%20DB;object=acs%2Fsigning%20key%3Bv2;id=%00%01%FE;type=private',
    );
    expect(parsePkcs11Uri(text)).toEqual(attributes);
    expect(formatPkcs11Uri({ object: 'acs-signing', type: 'secret-key' })).toBe(
      'pkcs11:object=acs-signing;type=secret-key',
    );
    expect(formatPkcs11Uri({ object: '€' })).toBe('pkcs11:object=%E2%82%AC');
  });
});
