import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { AwsKmsProvider } from '@keyswitch/aws-kms';
import { AuditBus, type AuditEvent, EXTENSION_NAMES, type KeyProvider } from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { Pkcs11Provider } from '@keyswitch/pkcs11';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { target } from '../packages/pkcs11/test/support/targets.js';
import { createTestTokens, type TestTokens } from '../packages/pkcs11/test/support/tokens.js';

// A SoftHSM2 token made by the project's script for this file (under CI=true a missing token fails).
// Made before any provider opens: SoftHSM2 reads its configuration at C_Initialize.
const tokens = createTestTokens();

/**
 * No public operation of any backend bypasses the core's checks and audit: every public method of a
 * provider (found by reflection, so a new one fails this test until it is listed) is called once and must
 * emit exactly one audit event, under its own name. Only these methods touch no key and emit none.
 */
// poolStats reads the provider's own counters for the telemetry gauges: no key, no backend call.
const NOT_AUDITED = new Set(['constructor', 'capabilities', 'close', 'nonexistentKeyRef', 'poolStats']);
/** Methods that are another audited operation in a convenient form. */
const AUDITED_AS: Readonly<Record<string, string>> = { generateDataKeyWithoutPlaintext: 'generateDataKey' };

/** The public methods of a provider: its prototype chain's functions, minus the protected hooks. */
function publicMethods(provider: KeyProvider): string[] {
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(provider);
    proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name)!;
      if (typeof descriptor.value !== 'function') continue;
      if (/^on[A-Z]/.test(name) || name === 'runExtension') continue; // protected
      names.add(name);
    }
  }
  return [...names].filter((name) => !NOT_AUDITED.has(name)).sort();
}

type Calls = Record<string, (provider: KeyProvider) => Promise<unknown>>;

/** Calls every public method once, in order, and returns each call's audit events. */
async function auditOf(
  provider: KeyProvider,
  audit: AuditBus,
  calls: Calls,
): Promise<Record<string, string[]>> {
  const events: AuditEvent[] = [];
  audit.subscribe((event) => events.push(event));
  const seen: Record<string, string[]> = {};
  for (const [name, call] of Object.entries(calls)) {
    const before = events.length;
    await call(provider).catch(() => undefined); // a refusal is audited as a failure: still one event
    seen[name] = events.slice(before).map((event) => event.operation);
  }
  return seen;
}

const message = new Uint8Array(Buffer.from('audited'));

function coreCalls(refs: { sign: string; aes: string; mac: string; ecdh: string; spare: string }): Calls {
  const peerSpki = new Uint8Array(
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }),
  );
  return {
    describeKey: (p) => p.describeKey(refs.sign),
    listKeys: (p) => p.listKeys({ limit: 1 }),
    createKey: (p) => p.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' }),
    importKey: (p) =>
      p.importKey({ usage: 'GENERATE_VERIFY_MAC', spec: 'HMAC_256', raw: new Uint8Array(randomBytes(32)) }),
    getPublicKey: (p) => p.getPublicKey(refs.sign),
    sign: (p) => p.sign({ ref: refs.sign, algorithm: 'ECDSA_SHA_256', message }),
    verify: (p) =>
      p.verify({ ref: refs.sign, algorithm: 'ECDSA_SHA_256', message, signature: new Uint8Array([0x30, 0]) }),
    encrypt: (p) => p.encrypt({ ref: refs.aes, algorithm: 'SYMMETRIC_DEFAULT', plaintext: message }),
    decrypt: (p) => p.decrypt({ ref: refs.aes, algorithm: 'SYMMETRIC_DEFAULT', ciphertext: message }),
    generateMac: (p) => p.generateMac({ ref: refs.mac, algorithm: 'HMAC_SHA_256', message }),
    verifyMac: (p) => p.verifyMac({ ref: refs.mac, algorithm: 'HMAC_SHA_256', message, mac: message }),
    deriveSharedSecret: (p) =>
      p.deriveSharedSecret({ ref: refs.ecdh, algorithm: 'ECDH', publicKey: peerSpki }),
    generateDataKey: (p) => p.generateDataKey({ ref: refs.aes }),
    generateRandom: (p) => p.generateRandom(16),
    disableKey: (p) => p.disableKey(refs.spare),
    enableKey: (p) => p.enableKey(refs.spare),
    scheduleKeyDeletion: (p) => p.scheduleKeyDeletion(refs.spare, { pendingWindowDays: 7 }),
    cancelKeyDeletion: (p) => p.cancelKeyDeletion(refs.spare),
  };
}

async function keysFor(provider: KeyProvider) {
  const ref = async (spec: 'ECC_NIST_P256' | 'SYMMETRIC_DEFAULT' | 'HMAC_256', usage: string) =>
    (await provider.createKey({ spec, usage: usage as never })).ref;
  return {
    sign: await ref('ECC_NIST_P256', 'SIGN_VERIFY'),
    aes: await ref('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'),
    mac: await ref('HMAC_256', 'GENERATE_VERIFY_MAC'),
    ecdh: await ref('ECC_NIST_P256', 'KEY_AGREEMENT'),
    spare: await ref('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'),
  };
}

function expectOneEventEach(methods: string[], seen: Record<string, string[]>): void {
  expect(Object.keys(seen).sort()).toEqual(methods);
  for (const name of methods) expect([name, seen[name]]).toEqual([name, [AUDITED_AS[name] ?? name]]);
}

describe('every public operation is audited, per backend', () => {
  it('soft-hsm', async () => {
    const audit = new AuditBus();
    const hsm = await SoftHsm.open({ audit });
    try {
      const calls = coreCalls(await keysFor(hsm));
      const methods = publicMethods(hsm);
      expect(methods).toEqual(Object.keys(calls).sort());
      expectOneEventEach(methods, await auditOf(hsm, audit, calls));
    } finally {
      await hsm.close();
    }
  });

  describe('aws-kms (through kms-local)', () => {
    let server: KmsLocalServer;
    beforeAll(async () => {
      server = await startKmsLocal();
    });
    afterAll(async () => {
      await server.close();
    });

    it('the contract operations and every declared extension', async () => {
      const audit = new AuditBus();
      const kms = await AwsKmsProvider.open({
        endpoint: server.endpoint,
        region: server.region,
        credentials: { ...KMS_LOCAL_DEFAULT_CREDENTIALS },
        audit,
      });
      try {
        const refs = await keysFor(kms);
        const alias = `alias/audited-${randomBytes(4).toString('hex')}`;
        const extensions: Calls = {
          reEncrypt: async (p) => {
            const ciphertext = await p.encrypt({
              ref: refs.aes,
              algorithm: 'SYMMETRIC_DEFAULT',
              plaintext: message,
            });
            return (p as AwsKmsProvider).reEncrypt({ ciphertext, destinationRef: refs.spare });
          },
          enableKeyRotation: (p) => (p as AwsKmsProvider).enableKeyRotation(refs.aes),
          getKeyRotationStatus: (p) => (p as AwsKmsProvider).getKeyRotationStatus(refs.aes),
          disableKeyRotation: (p) => (p as AwsKmsProvider).disableKeyRotation(refs.aes),
          createAlias: (p) => (p as AwsKmsProvider).createAlias(alias, refs.sign),
          updateAlias: (p) => (p as AwsKmsProvider).updateAlias(alias, refs.ecdh),
          listAliases: (p) => (p as AwsKmsProvider).listAliases({ ref: refs.ecdh }),
          deleteAlias: (p) => (p as AwsKmsProvider).deleteAlias(alias),
          generateDataKeyWithoutPlaintext: (p) =>
            (p as AwsKmsProvider).generateDataKeyWithoutPlaintext({ ref: refs.aes }),
        };
        // Every extension the manifest declares is one of these calls, and the other way round.
        const declared = Object.keys((await kms.capabilities()).extensions ?? {}).sort();
        expect(declared).toEqual(EXTENSION_NAMES.filter((name) => name in extensions).sort());
        const calls = { ...coreCalls(refs), ...extensions };
        const methods = publicMethods(kms);
        expect(methods).toEqual(Object.keys(calls).sort());
        const seen = await auditOf(kms, audit, calls);
        // reEncrypt's call encrypts first (its own audited operation).
        expect(seen['reEncrypt']).toEqual(['encrypt', 'reEncrypt']);
        seen['reEncrypt'] = ['reEncrypt'];
        expectOneEventEach(methods, seen);
      } finally {
        await kms.close();
      }
    });
  });

  describe.skipIf('skip' in tokens)('pkcs11 (SoftHSM2)', () => {
    afterAll(() => {
      if (!('skip' in tokens)) tokens.remove();
    });

    it('the contract operations, supported or refused', async () => {
      const audit = new AuditBus();
      const hsm = await Pkcs11Provider.open({ ...target('softhsm2', tokens as TestTokens).options, audit });
      try {
        const calls = coreCalls(await keysFor(hsm));
        const methods = publicMethods(hsm);
        expect(methods).toEqual(Object.keys(calls).sort());
        const seen = await auditOf(hsm, audit, calls);
        expectOneEventEach(methods, seen);
      } finally {
        await hsm.close();
      }
    });
  });
});
