import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../src/index.js';
import { PROBE_LABEL } from '../src/lib/capability-probe.js';
import { CKA, CKF, CKO } from '../src/lib/ck.js';
import { readBoolean } from '../src/lib/key-attributes.js';
import { loadedModule, type Pkcs11Library } from '../src/lib/shared-module.js';
import { withQuirks } from './support/quirky-token.js';
import { openTarget, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// Capabilities found by probing, on a real SoftHSM2 token playing the habits of other tokens (a quirk
// layer over its library): refused session objects, refused explicit-false usage attributes, a smaller
// RSA limit. Own process, own token.
const tokens = createTestTokens();
const skip = 'skip' in tokens;

describe.skipIf(skip)('PKCS#11 capabilities are probed per token, never assumed', () => {
  const softhsm = skip ? undefined : target('softhsm2', tokens as TestTokens);
  const opened: Pkcs11Provider[] = [];
  const open = async () => {
    const provider = await openTarget(softhsm!);
    opened.push(provider);
    return provider;
  };
  const library = (): Pkcs11Library => loadedModule(softhsm!.module)!;
  /** Opens a provider that never probes, so that the module is loaded and its library can be given quirks. */
  const loaded = async (): Promise<Pkcs11Library> => {
    await open();
    return library();
  };
  /** The objects with this label on the token, seen from a fresh session. */
  const objectsLabelled = (provider: Pkcs11Provider, label: string) => {
    const session = library().C_OpenSession(provider.token.slot, CKF.SERIAL_SESSION | CKF.RW_SESSION);
    try {
      library().C_FindObjectsInit(session, [{ type: CKA.LABEL, value: label }]);
      const found = library().C_FindObjects(session, 10);
      library().C_FindObjectsFinal(session);
      return found;
    } finally {
      library().C_CloseSession(session);
    }
  };

  // Probes are shared by the providers open on a token: closing them all makes the next test probe anew.
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((provider) => provider.close()));
  });

  it('a token that refuses session objects is probed with token objects, destroyed afterwards', async () => {
    await withQuirks(await loaded(), { refuseSessionObjects: true }, async () => {
      const provider = await open();
      const capabilities = await provider.capabilities();
      // Found by the probe's round trips, which need keys: with session keys refused they ran on token keys.
      expect(capabilities.algorithms).toEqual(
        expect.arrayContaining(['RSAES_OAEP_SHA_1', 'ECDH', 'SYMMETRIC_DEFAULT', 'HMAC_SHA_256']),
      );
      expect(capabilities.notes?.some((note) => note.includes('refuses session objects'))).toBe(true);
      expect(objectsLabelled(provider, PROBE_LABEL)).toEqual([]);
      const key = await provider.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', label: 'probe-t1' });
      expect(key.usage).toBe('ENCRYPT_DECRYPT');
    });
  });

  it('a token that refuses explicit false usage attributes still creates keys, each carrying only its usage', async () => {
    await withQuirks(await loaded(), { refuseExplicitFalse: true }, async () => {
      const provider = await open();
      const capabilities = await provider.capabilities();
      expect(capabilities.operations.createKey).toBe(true);
      expect(capabilities.keySpecs.RSA_2048).toEqual({
        usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
        create: true,
      });
      expect(capabilities.notes?.some((note) => note.includes('sends only the ones that are true'))).toBe(
        true,
      );
      const rsa = await provider.createKey({
        spec: 'RSA_2048',
        usage: 'ENCRYPT_DECRYPT',
        label: 'probe-t2-rsa',
      });
      const ec = await provider.createKey({
        spec: 'ECC_NIST_P256',
        usage: 'SIGN_VERIFY',
        label: 'probe-t2-ec',
      });
      const hmac = await provider.createKey({
        spec: 'HMAC_256',
        usage: 'GENERATE_VERIFY_MAC',
        label: 'probe-t2-mac',
      });
      expect([rsa.usage, ec.usage, hmac.usage]).toEqual([
        'ENCRYPT_DECRYPT',
        'SIGN_VERIFY',
        'GENERATE_VERIFY_MAC',
      ]);
      // The token's defaults would have let the RSA key sign too: keyswitch cleared that after generation.
      const [privateKey] = objectsLabelled(provider, 'probe-t2-rsa').filter((handle) => {
        const session = library().C_OpenSession(provider.token.slot, CKF.SERIAL_SESSION);
        try {
          const [objectClass] = library().C_GetAttributeValue(session, handle, [{ type: CKA.CLASS }]);
          return objectClass!.value.readUInt32LE(0) === CKO.PRIVATE_KEY;
        } finally {
          library().C_CloseSession(session);
        }
      });
      const session = library().C_OpenSession(provider.token.slot, CKF.SERIAL_SESSION);
      try {
        const [sign, decrypt] = library().C_GetAttributeValue(session, privateKey!, [
          { type: CKA.SIGN },
          { type: CKA.DECRYPT },
        ]);
        expect([readBoolean(sign!.value), readBoolean(decrypt!.value)]).toEqual([false, true]);
      } finally {
        library().C_CloseSession(session);
      }
      // And it works, cross-checked with node:crypto.
      const plaintext = randomBytes(32);
      const { spki } = await provider.getPublicKey(rsa.ref);
      const ciphertext = publicEncrypt(
        {
          key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: 'sha1',
        },
        plaintext,
      );
      const decrypted = await provider.decrypt({ ref: rsa.ref, algorithm: 'RSAES_OAEP_SHA_1', ciphertext });
      expect(Buffer.from(decrypted)).toEqual(plaintext);
    });
  });

  it('the manifest lists only key specs the token can create or already holds', async () => {
    await withQuirks(await loaded(), { maxRsaBits: 3072 }, async () => {
      const provider = await open();
      const capabilities = await provider.capabilities();
      expect(capabilities.keySpecs.RSA_3072?.create).toBe(true);
      expect(capabilities.keySpecs.RSA_4096).toBeUndefined();
      expect(
        capabilities.notes?.some((note) => note.startsWith('RSA_4096: the token can neither create')),
      ).toBe(true);
    });
    await Promise.all(opened.splice(0).map((provider) => provider.close()));
    // The real token makes an RSA-4096 key; the quirky one, probed anew, lists the spec it now holds.
    await (await open()).createKey({ spec: 'RSA_4096', usage: 'SIGN_VERIFY', label: 'probe-t3-rsa4096' });
    await Promise.all(opened.splice(0).map((provider) => provider.close()));
    await withQuirks(await loaded(), { maxRsaBits: 3072 }, async () => {
      const capabilities = await (await open()).capabilities();
      expect(capabilities.keySpecs.RSA_4096).toEqual({
        usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
        create: false,
      });
    });
  });

  it('probes once per token per process: providers open on the same token share the answer', async () => {
    const counted = (await loaded()) as unknown as Record<string, (...args: unknown[]) => unknown>;
    const original = counted.C_GenerateKeyPairAsync!;
    let generated = 0;
    counted.C_GenerateKeyPairAsync = (...args: unknown[]) => {
      generated += 1;
      return original.apply(library(), args);
    };
    try {
      const first = await (await open()).capabilities();
      const probing = generated;
      expect(probing).toBeGreaterThan(0);
      const second = await (await open()).capabilities();
      expect(second).toEqual(first);
      expect(generated).toBe(probing);
    } finally {
      counted.C_GenerateKeyPairAsync = original;
    }
  });

  it("an EC point from the token that is not on the curve is INTERNAL naming the token, not the caller's fault", async () => {
    const owner = await open();
    const key = await owner.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'probe-t5-ec' });
    const methods = library() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const original = methods.C_GetAttributeValue!;
    methods.C_GetAttributeValue = (...args: unknown[]) => {
      const values = original.apply(library(), args) as Array<{ type: number; value: Buffer }>;
      return values.map((attribute) => {
        if (attribute.type !== CKA.EC_POINT) return attribute;
        const value = Buffer.from(attribute.value);
        value[value.length - 1]! ^= 0x01; // y changed: no longer on P-256
        return { ...attribute, value };
      });
    };
    try {
      const provider = await open();
      const error = await provider.getPublicKey(key.ref).then(
        () => undefined,
        (caught: unknown) => caught as { code?: string; retryable?: boolean; message?: string },
      );
      expect(error?.code).toBe('INTERNAL');
      expect(error?.retryable).toBe(false);
      expect(error?.message).toContain(`token "${provider.token.label}"`);
      expect(error?.message).toContain('not a point on P-256');
    } finally {
      methods.C_GetAttributeValue = original;
    }
  });

  it('a key generation failing with CKR_GENERAL_ERROR is retried on the softhsm profile only', async () => {
    const softhsmProfile = await open();
    await softhsmProfile.capabilities();
    const generic = await openTarget(softhsm!, { profile: 'generic' });
    opened.push(generic);
    await generic.capabilities();
    const methods = library() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const original = methods.C_GenerateKeyAsync!;
    let calls = 0;
    methods.C_GenerateKeyAsync = (...args: unknown[]) => {
      calls += 1;
      // Every first try fails as SoftHSM2's store race does.
      if (calls === 1) return Promise.reject(Object.assign(new Error('CKR_GENERAL_ERROR'), { code: 5 }));
      return original.apply(library(), args);
    };
    try {
      const created = await softhsmProfile.createKey({
        spec: 'HMAC_256',
        usage: 'GENERATE_VERIFY_MAC',
        label: 'probe-t6-a',
      });
      expect(created.spec).toBe('HMAC_256');
      expect(calls).toBe(2);
      calls = 0;
      const refused = await generic
        .createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'probe-t6-b' })
        .then(
          () => undefined,
          (caught: unknown) => caught as { code?: string },
        );
      expect(refused?.code).toBeDefined();
      expect(calls).toBe(1);
      expect(objectsLabelled(generic, 'probe-t6-b')).toEqual([]);
    } finally {
      methods.C_GenerateKeyAsync = original;
    }
  });
});
