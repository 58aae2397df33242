import { createHash } from 'node:crypto';
import { KeyswitchError } from '@keyswitch/core';
import pkcs11js from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { PKCS11_PROFILES, pkcs11Profile } from '../src/index.js';
import { creationRefused, type ProbeResult } from '../src/lib/capability-probe.js';
import { blobAad, blobHeader, decodeBlob, encodeBlob } from '../src/lib/ciphertext-blob.js';
import { CK_PARAMS, CKA, CKD_NULL, CKF, CKG, CKK, CKM, CKO, CKU_USER } from '../src/lib/ck.js';
import {
  codeForCkr,
  isBadCiphertext,
  isBadSignature,
  isSessionLost,
  isStaleHandle,
  pkcs11Error,
} from '../src/lib/ckr.js';
import {
  bitLength,
  EC_PARAMS,
  keySpecOf,
  readUlong,
  stateAttributes,
  usageOf,
} from '../src/lib/key-attributes.js';
import { keyGeneration } from '../src/lib/key-templates.js';
import { digestInfo } from '../src/lib/mechanisms.js';

const api = pkcs11js as unknown as Record<string, number>;

describe('PKCS#11 constants', () => {
  it('match the ones pkcs11js exports (including its CK_PARAMS_* tags)', () => {
    for (const [group, table] of [
      ['CKA_', CKA],
      ['CKO_', CKO],
      ['CKK_', CKK],
      ['CKM_', CKM],
      ['CKG_', CKG],
    ] as const) {
      for (const [name, value] of Object.entries(table))
        expect(api[`${group}${name}`], `${group}${name}`).toBe(value);
    }
    for (const [name, value] of Object.entries(CK_PARAMS)) expect(api[`CK_PARAMS_${name}`], name).toBe(value);
    expect(api.CKD_NULL).toBe(CKD_NULL);
    expect(api.CKU_USER).toBe(CKU_USER);
    expect(api.CKF_OS_LOCKING_OK).toBe(CKF.OS_LOCKING_OK);
    expect(api.CKF_RW_SESSION).toBe(CKF.RW_SESSION);
    expect(api.CKF_SERIAL_SESSION).toBe(CKF.SERIAL_SESSION);
  });
});

describe('key attributes', () => {
  it('give the key spec from key type and size', () => {
    const modulus = Buffer.alloc(256, 0xff);
    expect(keySpecOf({ keyType: CKK.RSA, modulus })).toBe('RSA_2048');
    expect(
      keySpecOf({ keyType: CKK.RSA, modulus: Buffer.concat([Buffer.from([0]), Buffer.alloc(384, 0x80)]) }),
    ).toBe('RSA_3072');
    expect(keySpecOf({ keyType: CKK.EC, ecParams: EC_PARAMS['P-384'] })).toBe('ECC_NIST_P384');
    expect(keySpecOf({ keyType: CKK.AES, valueLength: 32 })).toBe('SYMMETRIC_DEFAULT');
    expect(keySpecOf({ keyType: CKK.GENERIC_SECRET, valueLength: 48 })).toBe('HMAC_384');
    expect(keySpecOf({ keyType: CKK.SHA512_HMAC, valueLength: 20 })).toBe('HMAC_512');
    for (const facts of [
      { keyType: CKK.RSA, modulus: Buffer.alloc(128, 0xff) },
      { keyType: CKK.EC, ecParams: Buffer.from('06052b8104000a', 'hex') },
      { keyType: CKK.AES, valueLength: 16 },
      { keyType: CKK.GENERIC_SECRET, valueLength: 20 },
      { keyType: 0x13 },
    ]) {
      expect(() => keySpecOf(facts)).toThrowError(expect.objectContaining({ code: 'UNSUPPORTED_ALGORITHM' }));
    }
    expect(bitLength(Buffer.from([0, 0, 1, 0]))).toBe(9);
    expect(readUlong(Buffer.from([0x61, 1, 0, 0, 0, 0, 0, 0]))).toBe(0x161);
  });

  it('give usages and state: the private key says what it may do (all of it); a disabled one, its public half', () => {
    const flags = (entries: Array<[number, boolean]>) => new Map(entries);
    expect(
      usageOf('RSA_2048', 'pair', {
        primary: flags([
          [CKA.SIGN, true],
          [CKA.DECRYPT, true],
        ]),
      }),
    ).toEqual({
      usage: 'SIGN_VERIFY',
      usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
      enabled: true,
    });
    // An EC key pkcs11-tool made with --usage-derive that also signs: both, signing reported first.
    expect(
      usageOf('ECC_NIST_P256', 'pair', {
        primary: flags([
          [CKA.SIGN, true],
          [CKA.DERIVE, true],
        ]),
      }).usages,
    ).toEqual(['SIGN_VERIFY', 'KEY_AGREEMENT']);
    // Disabled, a signing-and-decrypting RSA key keeps both usages through its public half.
    expect(
      usageOf('RSA_2048', 'pair', {
        primary: flags([]),
        public: flags([
          [CKA.VERIFY, true],
          [CKA.ENCRYPT, true],
        ]),
      }),
    ).toEqual({ usage: 'SIGN_VERIFY', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], enabled: false });
    expect(usageOf('RSA_2048', 'pair', { primary: flags([[CKA.DECRYPT, true]]) })).toMatchObject({
      usage: 'ENCRYPT_DECRYPT',
      enabled: true,
    });
    expect(
      usageOf('RSA_2048', 'pair', { primary: flags([]), public: flags([[CKA.ENCRYPT, true]]) }),
    ).toMatchObject({
      usage: 'ENCRYPT_DECRYPT',
      enabled: false,
    });
    expect(usageOf('ECC_NIST_P256', 'pair', { primary: flags([[CKA.DERIVE, true]]) })).toMatchObject({
      usage: 'KEY_AGREEMENT',
      enabled: true,
    });
    expect(
      usageOf('ECC_NIST_P256', 'pair', { primary: flags([]), public: flags([[CKA.VERIFY, true]]) }),
    ).toMatchObject({
      usage: 'SIGN_VERIFY',
      enabled: false,
    });
    expect(usageOf('ECC_NIST_P256', 'pair', { primary: flags([]) })).toMatchObject({
      usage: 'KEY_AGREEMENT',
      enabled: false,
    });
    expect(usageOf('ECC_NIST_P256', 'public', { primary: flags([[CKA.VERIFY, true]]) })).toMatchObject({
      usage: 'SIGN_VERIFY',
      enabled: true,
    });
    expect(usageOf('SYMMETRIC_DEFAULT', 'secret', { primary: flags([[CKA.DECRYPT, true]]) }).enabled).toBe(
      true,
    );
    expect(usageOf('HMAC_256', 'secret', { primary: flags([[CKA.ENCRYPT, true]]) })).toMatchObject({
      usage: 'GENERATE_VERIFY_MAC',
      enabled: false,
    });
    expect(stateAttributes('RSA_4096')).toEqual([CKA.SIGN, CKA.DECRYPT]);
    expect(stateAttributes('ECC_NIST_P521')).toEqual([CKA.SIGN, CKA.DERIVE]);
  });

  it('key templates grant only the key usage, keep keys sensitive and unextractable, and carry id and label', () => {
    const id = Buffer.alloc(16, 7);
    const generation = keyGeneration('RSA_3072', 'ENCRYPT_DECRYPT', id, 'ds-decrypt');
    if (generation.kind !== 'pair') throw new Error('expected a pair');
    const value = (template: typeof generation.privateTemplate, type: number) =>
      template.find((entry) => entry.type === type)?.value;
    expect(value(generation.privateTemplate, CKA.SENSITIVE)).toBe(true);
    expect(value(generation.privateTemplate, CKA.EXTRACTABLE)).toBe(false);
    expect(value(generation.privateTemplate, CKA.TOKEN)).toBe(true);
    expect(value(generation.privateTemplate, CKA.PRIVATE)).toBe(true);
    expect(value(generation.privateTemplate, CKA.DECRYPT)).toBe(true);
    expect(value(generation.privateTemplate, CKA.SIGN)).toBe(false);
    expect(value(generation.privateTemplate, CKA.UNWRAP)).toBe(false);
    expect(value(generation.privateTemplate, CKA.MODULUS_BITS)).toBeUndefined();
    expect(value(generation.publicTemplate, CKA.MODULUS_BITS)).toBe(3072);
    expect(value(generation.publicTemplate, CKA.ENCRYPT)).toBe(true);
    expect(value(generation.publicTemplate, CKA.ID)).toBe(id);
    expect(value(generation.privateTemplate, CKA.LABEL)).toBe('ds-decrypt');
    const hmac = keyGeneration('HMAC_384', 'GENERATE_VERIFY_MAC', id, undefined);
    if (hmac.kind !== 'secret') throw new Error('expected a secret key');
    expect(hmac.template.find((entry) => entry.type === CKA.VALUE_LEN)?.value).toBe(48);
    expect(hmac.template.find((entry) => entry.type === CKA.LABEL)).toBeUndefined();
    expect(hmac.template.find((entry) => entry.type === CKA.ENCRYPT)?.value).toBe(false);
  });

  it('PKCS#1 v1.5 DigestInfo is the DER node:crypto signs', () => {
    const digest = createHash('sha384').update('x').digest();
    const info = digestInfo('sha384', digest);
    expect(info.subarray(0, 2).toString('hex')).toBe('3041');
    expect(info.subarray(info.length - 48)).toEqual(digest);
  });
});

describe('ciphertext blobs', () => {
  it('split back into key id, IV and sealed data; anything else is INVALID_CIPHERTEXT', () => {
    const header = blobHeader(Buffer.from([1, 2, 3]));
    const blob = encodeBlob(header, Buffer.alloc(12, 9), Buffer.alloc(20, 5));
    const decoded = decodeBlob(blob);
    expect([...decoded.keyId]).toEqual([1, 2, 3]);
    expect(decoded.iv).toEqual(new Uint8Array(12).fill(9));
    expect(decoded.sealed).toHaveLength(20);
    expect(Buffer.from(decoded.header)).toEqual(header);
    for (const bad of [
      new Uint8Array([0x50]),
      new Uint8Array([0x51, 1, 0, ...new Uint8Array(40)]),
      blob.subarray(0, 20),
    ]) {
      expect(() => decodeBlob(bad)).toThrowError(expect.objectContaining({ code: 'INVALID_CIPHERTEXT' }));
    }
    expect(blobAad(header, { b: '2', a: '1' })).toEqual(blobAad(header, { a: '1', b: '2' }));
    expect(blobAad(header, { a: '1' })).not.toEqual(blobAad(header, undefined));
  });
});

describe('CKR mapping', () => {
  const ckr = (name: string, method = 'C_Sign') => Object.assign(new Error(name), { method });
  it('maps return values to keyswitch codes, naming the call', () => {
    expect(codeForCkr('CKR_KEY_HANDLE_INVALID')).toBe('KEY_NOT_FOUND');
    expect(codeForCkr('CKR_PIN_INCORRECT')).toBe('ACCESS_DENIED');
    expect(codeForCkr('CKR_MECHANISM_INVALID')).toBe('UNSUPPORTED_ALGORITHM');
    // The library lacks the function itself (C_GenerateRandom, C_SetAttributeValue): an operation, not an algorithm.
    expect(codeForCkr('CKR_FUNCTION_NOT_SUPPORTED')).toBe('UNSUPPORTED_OPERATION');
    expect(codeForCkr('CKR_ENCRYPTED_DATA_LEN_RANGE')).toBe('INVALID_CIPHERTEXT');
    expect(codeForCkr('CKR_DEVICE_ERROR')).toBe('UNAVAILABLE');
    expect(codeForCkr('CKR_FUNCTION_FAILED')).toBe('INTERNAL');
    expect(codeForCkr('CKR_HOST_MEMORY')).toBe('INTERNAL');
    expect(codeForCkr('CKR_SESSION_COUNT')).toBe('THROTTLED');
    expect(codeForCkr('CKR_ARGUMENTS_BAD')).toBe('INTERNAL');
    const error = pkcs11Error(ckr('CKR_DEVICE_ERROR'), 'C_Sign');
    expect(error).toBeInstanceOf(KeyswitchError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('C_Sign failed: CKR_DEVICE_ERROR');
    expect(pkcs11Error(new Error('boom'), 'C_Login').code).toBe('INTERNAL');
    // Retryable only for device, session and connection failures: a function that failed, or a library
    // out of memory, fails the same way again (INTERNAL naming the call, not retryable).
    for (const name of ['CKR_FUNCTION_FAILED', 'CKR_HOST_MEMORY', 'CKR_GENERAL_ERROR']) {
      const failed = pkcs11Error(ckr(name), 'C_SignInit');
      expect(failed.code, name).toBe('INTERNAL');
      expect(failed.retryable, name).toBe(false);
      expect(failed.message).toContain(`C_SignInit failed: ${name}`);
    }
    for (const name of [
      'CKR_DEVICE_ERROR',
      'CKR_DEVICE_REMOVED',
      'CKR_SESSION_CLOSED',
      'CKR_TOKEN_NOT_PRESENT',
    ]) {
      expect(pkcs11Error(ckr(name), 'C_Sign').retryable, name).toBe(true);
    }
    for (const name of [
      'CKR_SESSION_HANDLE_INVALID',
      'CKR_SESSION_CLOSED',
      'CKR_DEVICE_REMOVED',
      'CKR_TOKEN_NOT_PRESENT',
      'CKR_USER_NOT_LOGGED_IN',
    ]) {
      expect(isSessionLost(ckr(name)), name).toBe(true);
    }
    expect(isStaleHandle(ckr('CKR_OBJECT_HANDLE_INVALID'))).toBe(true);
    // Every token's answer to a forged or malformed ciphertext is a bad ciphertext, on every profile:
    // SoftHSM2's CKR_GENERAL_ERROR, opencryptoki's CKR_FUNCTION_FAILED, NSS's CKR_ARGUMENTS_BAD for c ≥ n.
    for (const name of [
      'CKR_ENCRYPTED_DATA_INVALID',
      'CKR_ENCRYPTED_DATA_LEN_RANGE',
      'CKR_GENERAL_ERROR',
      'CKR_FUNCTION_FAILED',
      'CKR_ARGUMENTS_BAD',
      'CKR_DATA_LEN_RANGE',
    ]) {
      expect(isBadCiphertext(ckr(name, 'C_Decrypt')), name).toBe(true);
    }
    // …but not what says the token, the session or the connection failed, nor what is about the key.
    for (const name of [
      'CKR_DEVICE_ERROR',
      'CKR_DEVICE_REMOVED',
      'CKR_SESSION_HANDLE_INVALID',
      'CKR_USER_NOT_LOGGED_IN',
      'CKR_HOST_MEMORY',
      'CKR_KEY_HANDLE_INVALID',
      'CKR_KEY_FUNCTION_NOT_PERMITTED',
      'CKR_BUFFER_TOO_SMALL',
    ]) {
      expect(isBadCiphertext(ckr(name, 'C_Decrypt')), name).toBe(false);
    }
    // A failed C_DecryptInit, an error that is not a token's answer, or an error already mapped, neither.
    expect(isBadCiphertext(ckr('CKR_FUNCTION_FAILED', 'C_DecryptInit'))).toBe(false);
    expect(isBadCiphertext(new KeyswitchError('UNAVAILABLE', 'C_Decrypt timed out'))).toBe(false);
    expect(isBadCiphertext(new Error('worker exited'))).toBe(false);
    expect(isSessionLost(new KeyswitchError('UNAVAILABLE', 'x'))).toBe(false);
  });

  it('a signature C_Verify refuses, however the token says it, does not verify (false)', () => {
    for (const name of [
      'CKR_SIGNATURE_INVALID',
      'CKR_SIGNATURE_LEN_RANGE',
      'CKR_DATA_LEN_RANGE',
      'CKR_DATA_INVALID',
      'CKR_GENERAL_ERROR',
      'CKR_FUNCTION_FAILED',
      'CKR_ARGUMENTS_BAD',
    ]) {
      expect(isBadSignature(ckr(name, 'C_Verify')), name).toBe(true);
    }
    // Not what says the token, the session or the connection failed, nor what is about the key.
    for (const name of [
      'CKR_DEVICE_ERROR',
      'CKR_DEVICE_MEMORY',
      'CKR_HOST_MEMORY',
      'CKR_SESSION_HANDLE_INVALID',
      'CKR_USER_NOT_LOGGED_IN',
      'CKR_KEY_HANDLE_INVALID',
      'CKR_OBJECT_HANDLE_INVALID',
      'CKR_KEY_FUNCTION_NOT_PERMITTED',
      'CKR_KEY_TYPE_INCONSISTENT',
      'CKR_OPERATION_ACTIVE',
    ]) {
      expect(isBadSignature(ckr(name, 'C_Verify')), name).toBe(false);
    }
    // C_VerifyInit has not seen the signature; a timeout or a keyswitch error is not the token's answer.
    expect(isBadSignature(ckr('CKR_FUNCTION_FAILED', 'C_VerifyInit'))).toBe(false);
    expect(isBadSignature(new KeyswitchError('KEY_DISABLED', 'the key is disabled'))).toBe(false);
    expect(isBadSignature(new Error('worker exited'))).toBe(false);
  });
});

describe('key specs withdrawn from creation', () => {
  const probed = (): ProbeResult => ({
    mechanisms: new Set(),
    creation: { sessionObjects: true, templates: 'explicit-false', inferred: ['RSA_3072', 'RSA_4096'] },
    imports: { kinds: [], templates: 'explicit-false' },
    capabilities: {
      keySpecs: {
        RSA_4096: { usages: ['SIGN_VERIFY'], create: true },
        ECC_NIST_P256: { usages: ['SIGN_VERIFY'], create: true },
      },
      algorithms: [],
      operations: {
        createKey: true,
        enableKey: true,
        disableKey: true,
        scheduleKeyDeletion: false,
        cancelKeyDeletion: false,
        listKeys: true,
        generateDataKey: false,
        generateRandom: false,
      },
      deletionWindowDays: { min: 7, max: 30 },
      notes: [],
    },
  });
  const parts = (profile: 'generic' | 'softhsm') => ({
    token: { label: 'payments' },
    profile: pkcs11Profile(profile),
  });
  const refusal = (name: string) =>
    new KeyswitchError('UNSUPPORTED_ALGORITHM', `C_GenerateKeyPair failed: ${name}`, {
      cause: Object.assign(new Error(name), { method: 'C_GenerateKeyPair' }),
    });

  it('only an inferred spec, only for a size or template refusal, and on SoftHSM2 only CKR_KEY_SIZE_RANGE', () => {
    const result = probed();
    const error = creationRefused(
      result,
      { spec: 'RSA_4096' },
      refusal('CKR_KEY_SIZE_RANGE'),
      parts('generic'),
    );
    expect(error).toMatchObject({ code: 'UNSUPPORTED_ALGORITHM', retryable: false });
    expect((error as Error).message).toContain(
      'token "payments": RSA_4096: the token refused to create such a key',
    );
    expect(result.capabilities.keySpecs.RSA_4096).toEqual({ usages: ['SIGN_VERIFY'], create: false });
    expect(result.capabilities.notes).toHaveLength(1);
    // A spec the probe made a key of keeps its answer; other failures pass through as they were.
    for (const [spec, name, profile] of [
      ['ECC_NIST_P256', 'CKR_KEY_SIZE_RANGE', 'generic'],
      ['RSA_3072', 'CKR_DEVICE_ERROR', 'generic'],
      ['RSA_3072', 'CKR_TEMPLATE_INCONSISTENT', 'softhsm'], // SoftHSM2's store race answers this too
    ] as const) {
      const original = refusal(name);
      expect(creationRefused(result, { spec }, original, parts(profile)), `${spec} ${name}`).toBe(original);
    }
    expect(result.capabilities.keySpecs.ECC_NIST_P256?.create).toBe(true);
    expect(
      creationRefused(result, { spec: 'RSA_3072' }, refusal('CKR_TEMPLATE_INCONSISTENT'), parts('generic')),
    ).toMatchObject({ code: 'UNSUPPORTED_ALGORITHM', retryable: false });
  });
});

describe('profiles', () => {
  it('hold each token family’s quirks', () => {
    expect(PKCS11_PROFILES).toEqual(['cloudhsm', 'softhsm', 'nss', 'opencryptoki', 'generic']);
    // A failed key generation is retried only on SoftHSM2, whose store race it is.
    for (const name of PKCS11_PROFILES)
      expect(pkcs11Profile(name).retriesRacedGeneration, name).toBe(name === 'softhsm');
    const cloudhsm = pkcs11Profile('cloudhsm');
    expect(cloudhsm).toMatchObject({ gcmIv: 'token', setAttributeValue: false, ecdhNullKdf: false });
    expect(cloudhsm.pinProblem?.('crypto_user:password')).toBeUndefined();
    expect(cloudhsm.pinProblem?.('password')).toContain('crypto-user-name:password');
    expect(pkcs11Profile('nss')).toMatchObject({ enforcesUsageAttributes: false });
    expect(pkcs11Profile('softhsm')).toMatchObject({ enforcesUsageAttributes: true, gcmIv: 'host' });
    // Where calls run is no profile's business: every PKCS#11 call runs on a worker thread.
    for (const name of PKCS11_PROFILES) expect(pkcs11Profile(name), name).not.toHaveProperty('execution');
  });
});
