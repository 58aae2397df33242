import {
  constants,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { AuditBus, type AuditEvent, isKeyswitchError } from '@keyswitch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../src/index.js';
import { expectCode } from './support/backend-suite.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// importKey through the contract on a real SoftHSM2 token: core reads the material, the provider writes
// it with C_CreateObject on its worker threads. Each imported key is cross-checked with node:crypto,
// using the public key of the material imported (never one the token answers).
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch imported keys');

describe.skipIf(skip)('importKey on PKCS#11 (SoftHSM2)', () => {
  const ready = tokens as TestTokens;
  const audit = new AuditBus();
  const events: AuditEvent[] = [];
  let provider: Pkcs11Provider;

  beforeAll(async () => {
    audit.subscribe((event) => events.push(event));
    provider = await openTarget(target('softhsm2', ready), { audit });
  });

  afterAll(async () => {
    await provider?.close();
    ready.remove?.();
  });

  it('the manifest says the token imports private, public and secret keys (found by the probe)', async () => {
    const capabilities = await provider.capabilities();
    expect(capabilities.operations.importKey).toBe(true);
    expect(capabilities.importKinds).toEqual(['private', 'public', 'secret']);
  });

  it('an RSA key from a PEM signs PSS signatures node:crypto verifies with the PEM’s public key; audited', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    const imported = await provider.importKey({ usage: 'SIGN_VERIFY', pem, label: 'imported-rsa' });
    expect(imported).toMatchObject({ spec: 'RSA_2048', usage: 'SIGN_VERIFY', state: 'ENABLED' });
    expect(imported.ref).toContain('object=imported-rsa');
    expect(imported.ref).toContain('type=private');
    const signature = await provider.sign({ ref: imported.ref, algorithm: 'RSASSA_PSS_SHA_256', message });
    const publicFromPem = createPublicKey(pem);
    const pss = { key: publicFromPem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    expect(verify('sha256', message, pss, signature)).toBe(true);
    // The token's public key is the PEM's.
    expect(Buffer.from((await provider.getPublicKey(imported.ref)).spki)).toEqual(
      publicFromPem.export({ format: 'der', type: 'spki' }),
    );
    const event = events.find((entry) => entry.operation === 'importKey' && entry.outcome === 'success');
    expect(event).toBeDefined();
    expect(JSON.stringify(events)).not.toContain(pem.split('\n')[1]!);
  });

  it('an EC key from PKCS#8 signs (node:crypto verifies) and one for key agreement derives node:crypto’s secret', async () => {
    const signing = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const { ref } = await provider.importKey({
      usage: 'SIGN_VERIFY',
      pkcs8: signing.privateKey.export({ format: 'der', type: 'pkcs8' }),
      label: 'imported-ec384',
    });
    const signature = await provider.sign({ ref, algorithm: 'ECDSA_SHA_384', message });
    expect(verify('sha384', message, signing.publicKey, signature)).toBe(true);
    expect(
      await provider.verify({
        ref,
        algorithm: 'ECDSA_SHA_384',
        message,
        signature: sign('sha384', message, signing.privateKey),
      }),
    ).toBe(true);

    const agreeing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ecdh = await provider.importKey({
      usage: 'KEY_AGREEMENT',
      pkcs8: agreeing.privateKey.export({ format: 'der', type: 'pkcs8' }),
      label: 'imported-ecdh',
    });
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const secret = await provider.deriveSharedSecret({
      ref: ecdh.ref,
      algorithm: 'ECDH',
      publicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
    });
    expect(Buffer.from(secret)).toEqual(
      diffieHellman({ privateKey: peer.privateKey, publicKey: agreeing.publicKey }),
    );
  });

  it('a public key alone verifies node:crypto’s signatures and cannot sign', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const imported = await provider.importKey({
      usage: 'SIGN_VERIFY',
      spki: publicKey.export({ format: 'der', type: 'spki' }),
      label: 'imported-peer',
    });
    expect(imported.ref).toContain('type=public');
    const signature = sign('sha256', message, privateKey);
    expect(await provider.verify({ ref: imported.ref, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(
      true,
    );
    await expectCode(
      provider.sign({ ref: imported.ref, algorithm: 'ECDSA_SHA_256', message }),
      'USAGE_MISMATCH',
    );
  });

  it('an HMAC key equals node:crypto’s; a label in use is KEY_EXISTS; a non-canonical HMAC length is refused, nothing written', async () => {
    const secret = randomBytes(64);
    const { ref } = await provider.importKey({
      spec: 'HMAC_512',
      usage: 'GENERATE_VERIFY_MAC',
      raw: secret,
      label: 'imported-hmac',
    });
    const mac = await provider.generateMac({ ref, algorithm: 'HMAC_SHA_512', message });
    expect(Buffer.from(mac)).toEqual(createHmac('sha512', secret).update(message).digest());

    await expectCode(
      provider.importKey({
        spec: 'HMAC_256',
        usage: 'GENERATE_VERIFY_MAC',
        raw: randomBytes(32),
        label: 'imported-hmac',
      }),
      'KEY_EXISTS',
    );
    const refused = await provider
      .importKey({
        spec: 'HMAC_256',
        usage: 'GENERATE_VERIFY_MAC',
        raw: randomBytes(40),
        label: 'imported-hmac40',
      })
      .catch((error: unknown) => error);
    expect(isKeyswitchError(refused, 'UNSUPPORTED_ALGORITHM')).toBe(true);
    await expectCode(provider.describeKey('pkcs11:object=imported-hmac40'), 'KEY_NOT_FOUND');
  });
});
