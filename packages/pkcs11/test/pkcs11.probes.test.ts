import { createECDH, createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeContext, probeCapabilities } from '../src/lib/capability-probe.js';
import { CKA, CKF, CKU_USER } from '../src/lib/ck.js';
import { runCrypto } from '../src/lib/crypto-dispatch.js';
import { deriveSharedSecret } from '../src/lib/key-agreement.js';
import { ecPublicKeyFromToken } from '../src/lib/key-attributes.js';
import { generateKey } from '../src/lib/key-creation.js';
import { keyGeneration } from '../src/lib/key-templates.js';
import { PROBE_LABEL } from '../src/lib/probe-keys.js';
import { probeOnce, releaseProbe } from '../src/lib/probe-sharing.js';
import { readPublicKey } from '../src/lib/public-key.js';
import type { Handle, Pkcs11Library } from '../src/lib/shared-module.js';
import { signatureFromToken, signCall } from '../src/lib/signature-calls.js';
import { findToken } from '../src/lib/token.js';
import type { TokenContext } from '../src/lib/token-context.js';
import { pkcs11Profile } from '../src/profiles.js';
import { withQuirks } from './support/quirky-token.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// Capabilities found by probing, on a real SoftHSM2 token playing the habits of other tokens (a quirk
// layer over its library): refused session objects, refused explicit-false usage attributes, a smaller
// RSA limit. The probe runs here on a library of its own (this file opens no provider).
const tokens = createTestTokens();
const skip = 'skip' in tokens;

describe.skipIf(skip)('PKCS#11 capabilities are probed per token, never assumed', () => {
  const env = skip ? {} : (tokens as TestTokens).env;
  let library: Pkcs11Library;
  let slot: Handle;
  let session: Handle;
  let tokenFlags: number;

  beforeAll(() => {
    const loaded = new pkcs11js.PKCS11();
    loaded.load(env.KEYSWITCH_SOFTHSM2_MODULE!);
    loaded.C_Initialize({ flags: CKF.OS_LOCKING_OK });
    library = loaded as unknown as Pkcs11Library;
    slot = loaded
      .C_GetSlotList(true)
      .find((candidate) => loaded.C_GetTokenInfo(candidate).label.trim() === env.KEYSWITCH_SOFTHSM2_TOKEN)!;
    tokenFlags = loaded.C_GetTokenInfo(slot).flags;
    session = loaded.C_OpenSession(slot, CKF.SERIAL_SESSION | CKF.RW_SESSION);
    loaded.C_Login(session, CKU_USER, env.KEYSWITCH_SOFTHSM2_PIN!);
  });

  afterAll(() => {
    library?.C_Finalize();
    (tokens as TestTokens).remove?.();
  });

  const probe = () => {
    const context: ProbeContext = {
      library,
      slot,
      tokenFlags,
      session,
      profile: pkcs11Profile('generic'),
      run: (_what, call) => call,
    };
    return probeCapabilities(context);
  };
  const labelled = (label: string) => {
    library.C_FindObjectsInit(session, [{ type: CKA.LABEL, value: label }]);
    const found = library.C_FindObjects(session, 10);
    library.C_FindObjectsFinal(session);
    return found;
  };

  it('a token that refuses session objects is probed with token objects, destroyed afterwards', async () => {
    const result = await withQuirks(library, { refuseSessionObjects: true }, probe);
    // Found by the probe's round trips, which need keys: with session keys refused they ran on token keys.
    expect(result.capabilities.algorithms).toEqual(
      expect.arrayContaining(['RSAES_OAEP_SHA_1', 'ECDH', 'SYMMETRIC_DEFAULT', 'HMAC_SHA_256']),
    );
    expect(result.creation.sessionObjects).toBe(false);
    expect(result.capabilities.notes?.some((note) => note.includes('refuses session objects'))).toBe(true);
    expect(labelled(PROBE_LABEL)).toEqual([]);
  });

  it('a token that refuses explicit false usage attributes still creates keys, with only the true ones sent', async () => {
    await withQuirks(library, { refuseExplicitFalse: true }, async () => {
      const result = await probe();
      expect(result.creation.templates).toBe('only-true');
      expect(result.capabilities.operations.createKey).toBe(true);
      expect(result.capabilities.keySpecs.RSA_2048).toEqual({
        usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
        create: true,
      });
      // The template keyswitch then sends is taken by the quirky token.
      const generation = keyGeneration(
        'ECC_NIST_P256',
        'SIGN_VERIFY',
        Buffer.from('t2'),
        'probe-t2',
        'only-true',
      );
      if (generation.kind !== 'pair') throw new Error('expected a pair');
      expect(generation.narrow.primary).toEqual(expect.arrayContaining([CKA.DECRYPT, CKA.DERIVE]));
      const pair = await library.C_GenerateKeyPairAsync(
        session,
        generation.mechanism,
        generation.publicTemplate,
        generation.privateTemplate,
      );
      library.C_DestroyObject(session, pair.privateKey);
      library.C_DestroyObject(session, pair.publicKey);
    });
  });

  it('the manifest lists only key specs the token can create or already holds', async () => {
    const limited = await withQuirks(library, { maxRsaBits: 3072 }, probe);
    expect(limited.capabilities.keySpecs.RSA_3072?.create).toBe(true);
    expect(limited.capabilities.keySpecs.RSA_4096).toBeUndefined();
    // The real token makes an RSA-4096 key; the quirky one, probed anew, lists the spec it now holds.
    const generation = keyGeneration('RSA_4096', 'SIGN_VERIFY', Buffer.from('t3'), 'probe-t3');
    if (generation.kind !== 'pair') throw new Error('expected a pair');
    await library.C_GenerateKeyPairAsync(
      session,
      generation.mechanism,
      generation.publicTemplate,
      generation.privateTemplate,
    );
    const holding = await withQuirks(library, { maxRsaBits: 3072 }, probe);
    expect(holding.capabilities.keySpecs.RSA_4096).toEqual({
      usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
      create: false,
    });
  });

  it('a malformed answer from the token is INTERNAL naming the token, not retryable, never the caller’s fault', async () => {
    const context: TokenContext = {
      library,
      token: findToken(library, { label: env.KEYSWITCH_SOFTHSM2_TOKEN! }),
      profile: pkcs11Profile('generic'),
      generation: 0,
    };
    const make = (spec: 'RSA_2048' | 'ECC_NIST_P256', usage: 'SIGN_VERIFY' | 'KEY_AGREEMENT') =>
      generateKey(
        context,
        session,
        keyGeneration(spec, usage, Buffer.from(`t5-${spec}`), `probe-t5-${usage}`),
      );
    const faulty = async (quirks: Parameters<typeof withQuirks>[1], body: () => unknown) => {
      const error = await withQuirks(library, quirks, async () => body()).then(
        () => undefined,
        (reason: unknown) => reason as { code?: string; retryable?: boolean; message?: string },
      );
      expect(error?.code).toBe('INTERNAL');
      expect(error?.retryable).toBe(false);
      expect(error?.message).toContain(`token "${env.KEYSWITCH_SOFTHSM2_TOKEN}"`);
      return error!.message!;
    };
    const rsa = make('RSA_2048', 'SIGN_VERIFY');
    // The real answer: the public key node:crypto reads, of the spec's size.
    const spki = Buffer.from(readPublicKey(context, session, rsa));
    expect(
      createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength,
    ).toBe(2048);
    // An empty CKA_MODULUS, or one of another size, is the token's fault.
    expect(await faulty({ modulusBytes: 0 }, () => readPublicKey(context, session, rsa))).toContain('0 bits');
    expect(await faulty({ modulusBytes: 128 }, () => readPublicKey(context, session, rsa))).toContain(
      '1024 bits for an RSA_2048 key',
    );

    // A C_Sign output shorter than the spec's signature: the real output verifies, the cut one is refused.
    const digest = createHash('sha256').update('t5').digest();
    const call = signCall('RSASSA_PKCS1_V1_5_SHA_256', 'RSA_2048', digest);
    if (call.op !== 'sign') throw new Error('expected a sign call');
    const sign = () =>
      runCrypto(library, {
        kind: 'crypto',
        session,
        key: rsa.primary,
        call,
        state: undefined,
        explain: undefined,
        returnIv: false,
      }).output as Buffer;
    const signature = signatureFromToken(sign(), call.outputLength, 'payments');
    const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(verify('sha256', Buffer.from('t5'), publicKey, signature)).toBe(true);
    expect(signature).toHaveLength(256);
    expect(
      await faulty({ signatureBytes: 200 }, () =>
        signatureFromToken(sign(), call.outputLength, env.KEYSWITCH_SOFTHSM2_TOKEN!),
      ),
    ).toContain('200 bytes where 256 were due');

    // An ECDH shared secret shorter than the curve's: refused, nothing returned.
    const ec = make('ECC_NIST_P256', 'KEY_AGREEMENT');
    const peer = createECDH('prime256v1');
    peer.generateKeys();
    const ecSpki = Buffer.from(readPublicKey(context, session, ec));
    const secret = deriveSharedSecret(context, session, ec, peer.getPublicKey());
    expect(Buffer.from(secret)).toEqual(peer.computeSecret(ecSpki.subarray(ecSpki.length - 65)));
    expect(
      await faulty({ valueBytes: 16 }, () => deriveSharedSecret(context, session, ec, peer.getPublicKey())),
    ).toContain('16 bytes for ECC_NIST_P256, where 32 were due');
    for (const key of [rsa, ec]) {
      library.C_DestroyObject(session, key.privateKey!);
      library.C_DestroyObject(session, key.publicKey!);
    }
  });

  it('key creation is probed per curve and per HMAC size, not inferred from one key of the family', async () => {
    const result = await withQuirks(library, { refuseCurves: ['P-521'], refuseSecretBytes: [64] }, probe);
    const { keySpecs, notes } = result.capabilities;
    // The mechanism info covers P-521 and 64-byte secrets: only a throwaway key of each finds the refusal.
    expect(keySpecs.ECC_NIST_P521).toBeUndefined();
    expect(keySpecs.HMAC_512).toBeUndefined();
    expect(keySpecs.ECC_NIST_P384?.create).toBe(true);
    expect(keySpecs.HMAC_384?.create).toBe(true);
    expect(notes).toEqual(
      expect.arrayContaining([
        'ECC_NIST_P521 keys: the token refused to create one (CKR_CURVE_NOT_SUPPORTED)',
        'HMAC_512 keys: the token refused to create one (CKR_KEY_SIZE_RANGE)',
      ]),
    );
    // RSA sizes are inferred from the range (one small key made), and say so.
    expect(result.creation.inferred).toEqual(['RSA_2048', 'RSA_3072', 'RSA_4096']);
  });

  it('objects an unfinished probe left are destroyed when the next probe starts', async () => {
    const generation = keyGeneration('ECC_NIST_P256', 'SIGN_VERIFY', Buffer.from('t6'), PROBE_LABEL);
    if (generation.kind !== 'pair') throw new Error('expected a pair');
    await library.C_GenerateKeyPairAsync(
      session,
      generation.mechanism,
      generation.publicTemplate,
      generation.privateTemplate,
    );
    expect(labelled(PROBE_LABEL)).toHaveLength(2);
    const result = await probe();
    expect(labelled(PROBE_LABEL)).toEqual([]);
    expect(result.capabilities.notes).toContain(
      `destroyed 2 objects labelled ${PROBE_LABEL} that an unfinished earlier probe left`,
    );
  });

  it('probes once per token per process while a provider shares the answer, and anew after', async () => {
    let runs = 0;
    const run = () => {
      runs += 1;
      return probe();
    };
    const [first, second] = [{}, {}];
    const a = await probeOnce('token-a', first, run);
    const b = await probeOnce('token-a', second, run);
    expect(b).toBe(a);
    expect(runs).toBe(1);
    releaseProbe(first);
    await probeOnce('token-a', second, run);
    expect(runs).toBe(1);
    releaseProbe(second);
    await probeOnce('token-a', first, run);
    expect(runs).toBe(2);
    releaseProbe(first);
  });
});

describe('answers from the token', () => {
  it("an EC point that is not on the curve is INTERNAL naming the token, not the caller's fault", () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const point = spki.subarray(spki.length - 65);
    const ckaEcPoint = Buffer.concat([Buffer.from([0x04, 0x41]), point]);
    expect(Buffer.from(ecPublicKeyFromToken('P-256', ckaEcPoint, 'payments'))).toEqual(spki);
    const bad = Buffer.from(ckaEcPoint);
    bad[bad.length - 1]! ^= 0x01;
    let caught: { code?: string; retryable?: boolean; message?: string } | undefined;
    try {
      ecPublicKeyFromToken('P-256', bad, 'payments');
    } catch (error) {
      caught = error as typeof caught;
    }
    expect(caught?.code).toBe('INTERNAL');
    expect(caught?.retryable).toBe(false);
    expect(caught?.message).toContain('token "payments"');
  });
});
