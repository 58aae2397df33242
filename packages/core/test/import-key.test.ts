import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import {
  AuditBus,
  type AuditEvent,
  type Capabilities,
  type ImportKeyInput,
  type ImportKeyRequest,
  type KeyDescription,
  KeyProvider,
  KeyswitchError,
} from '../src/index.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });

/** A backend that stores nothing: it records what the core hands its import hook. */
class Recording extends KeyProvider {
  readonly type = 'recording';
  readonly received: ImportKeyInput[] = [];

  constructor(
    private readonly kinds: Capabilities['importKinds'],
    audit?: AuditBus,
  ) {
    super(audit === undefined ? {} : { audit });
  }

  protected onCapabilities(): Capabilities {
    return {
      keySpecs: {
        RSA_2048: { usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], create: false },
        ECC_NIST_P384: { usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], create: false },
        HMAC_256: { usages: ['GENERATE_VERIFY_MAC'], create: false },
      },
      algorithms: ['ECDSA_SHA_384', 'RSASSA_PSS_SHA_256', 'HMAC_SHA_256'],
      operations: {
        createKey: false,
        enableKey: false,
        disableKey: false,
        scheduleKeyDeletion: false,
        listKeys: false,
        generateDataKey: false,
        generateRandom: false,
        importKey: true,
      },
      ...(this.kinds === undefined ? {} : { importKinds: this.kinds }),
      deletionWindowDays: { min: 7, max: 30 },
    };
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    throw new KeyswitchError('KEY_NOT_FOUND', `no key ${ref}`);
  }

  protected override async onImportKey(input: ImportKeyInput): Promise<KeyDescription> {
    this.received.push(input);
    return {
      ref: input.label ?? `key-${this.received.length}`,
      keyId: String(this.received.length),
      aliases: [],
      spec: input.spec,
      usage: input.usage,
      algorithms: [],
      state: 'ENABLED',
    };
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as KeyswitchError).code;
  }
  return 'no error';
}

/** A PKCS#12 of `key` written by node-forge with `count` iterations, and its DER as forge's ASN.1. */
function pkcs12Asn1(count: number, useMac: boolean): forge.asn1.Asn1 {
  const key = forge.pki.privateKeyFromPem(rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string);
  return forge.pkcs12.toPkcs12Asn1(key, NO_CERTIFICATE, 'p12-password', { algorithm: '3des', count, useMac });
}

function der(asn1: forge.asn1.Asn1): Uint8Array {
  return new Uint8Array(Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'));
}

// node-forge writes a key without a certificate when given null, which its typings do not admit.
const NO_CERTIFICATE = null as unknown as forge.pki.Certificate[];

/** An INTEGER's content bytes for 2^31 - 1. */
const HUGE = '\x7f\xff\xff\xff';

describe('importKey: one request type, read once by the core', () => {
  it('hands the hook a node:crypto key, its kind and the spec read from the key itself', async () => {
    const provider = new Recording(['private', 'secret', 'public']);
    const pkcs8 = new Uint8Array(ec.privateKey.export({ format: 'der', type: 'pkcs8' }));
    const requests: ImportKeyRequest[] = [
      {
        label: 'pem',
        usage: 'SIGN_VERIFY',
        pem: rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string,
      },
      { label: 'pkcs8', usage: 'SIGN_VERIFY', pkcs8 },
      {
        label: 'p12',
        usage: 'SIGN_VERIFY',
        pkcs12: { data: der(pkcs12Asn1(2048, true)), password: 'p12-password' },
      },
      { label: 'raw', usage: 'GENERATE_VERIFY_MAC', spec: 'HMAC_256', raw: randomBytes(32) },
      {
        label: 'spki',
        usage: 'SIGN_VERIFY',
        spki: new Uint8Array(createPublicKey(ec.privateKey).export({ format: 'der', type: 'spki' })),
      },
      {
        label: 'public-pem',
        usage: 'ENCRYPT_DECRYPT',
        pem: rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string,
      },
    ];
    for (const request of requests) await provider.importKey(request);
    expect(provider.received.map(({ label, kind, spec, key }) => [label, kind, spec, key.type])).toEqual([
      ['pem', 'private', 'RSA_2048', 'private'],
      ['pkcs8', 'private', 'ECC_NIST_P384', 'private'],
      ['p12', 'private', 'RSA_2048', 'private'],
      ['raw', 'secret', 'HMAC_256', 'secret'],
      ['spki', 'public', 'ECC_NIST_P384', 'public'],
      ['public-pem', 'public', 'RSA_2048', 'public'],
    ]);
    // The PKCS#12 key is the key that went in.
    const p12Key = provider.received[2]!.key;
    expect(createPublicKey(p12Key).export({ format: 'der', type: 'spki' })).toEqual(
      rsa.publicKey.export({ format: 'der', type: 'spki' }),
    );
  });

  it('is audited as importKey under the new key reference, and refuses what the manifest does not offer', async () => {
    const audit = new AuditBus();
    const events: AuditEvent[] = [];
    audit.subscribe((event) => events.push(event));
    const provider = new Recording(undefined, audit);
    await provider.importKey({
      label: 'k1',
      usage: 'SIGN_VERIFY',
      pkcs8: new Uint8Array(rsa.privateKey.export({ format: 'der', type: 'pkcs8' })),
    });
    // Public keys are not imported unless importKinds says so.
    expect(
      await codeOf(
        provider.importKey({
          label: 'k2',
          usage: 'SIGN_VERIFY',
          pem: rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string,
        }),
      ),
    ).toBe('UNSUPPORTED_OPERATION');
    // A spec the backend cannot hold.
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(
      await codeOf(
        provider.importKey({
          label: 'k3',
          usage: 'SIGN_VERIFY',
          pem: p256.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
        }),
      ),
    ).toBe('UNSUPPORTED_ALGORITHM');
    expect(
      await codeOf(
        provider.importKey({ label: 'k4', usage: 'ENCRYPT_DECRYPT', spec: 'HMAC_256', raw: randomBytes(32) }),
      ),
    ).toBe('INVALID_INPUT');
    expect(await codeOf(provider.importKey({ label: 'k5', usage: 'SIGN_VERIFY' }))).toBe('INVALID_INPUT');
    expect(events.map((event) => [event.operation, event.outcome, event.keyRef, event.errorCode])).toEqual([
      ['importKey', 'success', 'k1', undefined],
      ['importKey', 'failure', undefined, 'UNSUPPORTED_OPERATION'],
      ['importKey', 'failure', undefined, 'UNSUPPORTED_ALGORITHM'],
      ['importKey', 'failure', undefined, 'INVALID_INPUT'],
      ['importKey', 'failure', undefined, 'INVALID_INPUT'],
    ]);
  });
});

describe('importKey: PKCS#12 work is bounded before any key derivation runs', () => {
  const importP12 = (data: Uint8Array) =>
    new Recording(undefined).importKey({
      label: 'p12',
      usage: 'SIGN_VERIFY',
      pkcs12: { data, password: 'p12-password' },
    });

  it('a MAC asking for 2^31 - 1 iterations fails with INVALID_INPUT (and the test does not hang)', async () => {
    const pfx = pkcs12Asn1(2048, true);
    const macData = (pfx.value as forge.asn1.Asn1[])[2]!;
    (macData.value as forge.asn1.Asn1[])[2]!.value = HUGE;
    const error = await new Recording(undefined)
      .importKey({ label: 'p12', usage: 'SIGN_VERIFY', pkcs12: { data: der(pfx), password: 'p12-password' } })
      .then(
        () => undefined,
        (caught: unknown) => caught as KeyswitchError,
      );
    expect(error).toBeInstanceOf(KeyswitchError);
    expect(error?.code).toBe('INVALID_INPUT');
    expect(error?.message).toMatch(/2,147,483,647 iterations for the MAC/);
  });

  it('a key bag asking for 2^31 - 1 iterations fails with INVALID_INPUT', async () => {
    const pfx = pkcs12Asn1(2048, false);
    // PFX → authSafe ContentInfo → [0] → OCTET STRING holding the AuthenticatedSafe.
    const holder = ((pfx.value as forge.asn1.Asn1[])[1]!.value as forge.asn1.Asn1[])[1]!
      .value as forge.asn1.Asn1[];
    const authSafe = forge.asn1.fromDer(holder[0]!.value as string);
    for (const contentInfo of authSafe.value as forge.asn1.Asn1[]) {
      const [, wrapped] = contentInfo.value as forge.asn1.Asn1[];
      const octets = (wrapped!.value as forge.asn1.Asn1[])[0]!;
      if (typeof octets.value !== 'string') continue;
      const safeContents = forge.asn1.fromDer(octets.value);
      for (const bag of safeContents.value as forge.asn1.Asn1[]) {
        const bagValue = ((bag.value as forge.asn1.Asn1[])[1]!.value as forge.asn1.Asn1[])[0]!;
        const algorithm = (bagValue.value as forge.asn1.Asn1[])[0]!;
        const parameters = (algorithm.value as forge.asn1.Asn1[])[1]!;
        const iterations = (parameters.value as forge.asn1.Asn1[])[1];
        if (iterations !== undefined) iterations.value = HUGE;
      }
      octets.value = forge.asn1.toDer(safeContents).getBytes();
    }
    holder[0]!.value = forge.asn1.toDer(authSafe).getBytes();
    expect(await codeOf(importP12(der(pfx)))).toBe('INVALID_INPUT');
    await expect(importP12(der(pfx))).rejects.toThrow(/2,147,483,647 iterations for the key bag/);
  });

  it('an ordinary file (2,048 iterations) reads; a wrong password, junk and an oversize file do not', async () => {
    await expect(importP12(der(pkcs12Asn1(2048, true)))).resolves.toMatchObject({ spec: 'RSA_2048' });
    await expect(
      new Recording(undefined).importKey({
        label: 'p12',
        usage: 'SIGN_VERIFY',
        pkcs12: { data: der(pkcs12Asn1(2048, true)), password: 'wrong' },
      }),
    ).rejects.toThrow(/wrong password, or not a PKCS#12 file/);
    expect(await codeOf(importP12(new Uint8Array(40)))).toBe('INVALID_INPUT');
    expect(await codeOf(importP12(new Uint8Array(65_537)))).toBe('INVALID_INPUT');
    // 30,000 iterations: over the per-derivation limit, refused before deriving.
    await expect(importP12(der(pkcs12Asn1(30_000, false)))).rejects.toThrow(
      /30,000 iterations for the key bag/,
    );
  });
});
