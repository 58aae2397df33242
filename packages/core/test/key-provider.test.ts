import { createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AuditBus,
  type AuditEvent,
  type Capabilities,
  isKeyswitchError,
  type KeyDescription,
  type KeyFacts,
  KeyProvider,
  KeyswitchError,
  type SignInput,
} from '../src/index.js';

const ecKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/**
 * The smallest backend: one P-256 signing key named "acs" on node:crypto, signing only. It shows what the
 * base class does for every backend: checks, formats, errors, audit, draining.
 */
class SigningOnly extends KeyProvider {
  readonly type = 'signing-only';
  release: (() => void) | undefined;
  closedBackend = false;
  failWith: unknown;

  protected onCapabilities(): Capabilities {
    return {
      keySpecs: { ECC_NIST_P256: { usages: ['SIGN_VERIFY'], create: false } },
      algorithms: ['ECDSA_SHA_256'],
      operations: {
        createKey: false,
        enableKey: false,
        disableKey: false,
        scheduleKeyDeletion: false,
        listKeys: false,
        generateDataKey: false,
        generateRandom: false,
      },
      deletionWindowDays: { min: 7, max: 30 },
    };
  }

  protected async onDescribeKey(ref: string): Promise<KeyDescription> {
    if (ref !== 'acs') throw new KeyswitchError('KEY_NOT_FOUND', `no key ${ref}`);
    return {
      ref,
      keyId: 'k1',
      aliases: [],
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      algorithms: ['ECDSA_SHA_256'],
      state: 'ENABLED',
      version: '3',
    };
  }

  protected override async onGetPublicKey(): Promise<Uint8Array> {
    return ecKey.publicKey.export({ format: 'der', type: 'spki' });
  }

  protected override async onSign(_key: KeyFacts, input: SignInput): Promise<Uint8Array> {
    if (this.failWith) throw this.failWith;
    if (this.release === undefined) {
      await new Promise<void>((resolve) => {
        this.release = resolve;
        setImmediate(resolve);
      });
    }
    return nodeSign(input.messageType === 'RAW' ? 'sha256' : null, input.message, ecKey.privateKey);
  }

  protected override async onVerify(_key: KeyFacts, input: SignInput & { signature: Uint8Array }) {
    return nodeVerify('sha256', input.message, ecKey.publicKey, input.signature);
  }

  protected override async onClose(): Promise<void> {
    this.closedBackend = true;
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isKeyswitchError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

const message = new TextEncoder().encode('payload');

describe('KeyProvider base class', () => {
  it('signs in DER or P1363 and verifies both', async () => {
    const provider = new SigningOnly();
    const der = await provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message });
    expect(nodeVerify('sha256', message, ecKey.publicKey, der)).toBe(true);
    const p1363 = await provider.sign({
      ref: 'acs',
      algorithm: 'ECDSA_SHA_256',
      message,
      signatureFormat: 'P1363',
    });
    expect(p1363).toHaveLength(64);
    expect(nodeVerify('sha256', message, { key: ecKey.publicKey, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(
      true,
    );
    const request = { ref: 'acs', algorithm: 'ECDSA_SHA_256', message } as const;
    expect(await provider.verify({ ...request, signature: p1363, signatureFormat: 'P1363' })).toBe(true);
    expect(
      await provider.verify({ ...request, signature: p1363.subarray(1), signatureFormat: 'P1363' }),
    ).toBe(false);
    expect(
      await provider.verify({ ...request, signature: new Uint8Array(64), signatureFormat: 'P1363' }),
    ).toBe(false);
    expect(await codeOf(provider.verify({ ...request, signature: new Uint8Array(0) }))).toBe('INVALID_INPUT');
    const key = await provider.getPublicKey('acs');
    expect(createPublicKey(key.pem()).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('checks arguments once, before the backend sees them', async () => {
    const provider = new SigningOnly();
    const digest = new Uint8Array(31);
    expect(
      await codeOf(
        provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message: digest, messageType: 'DIGEST' }),
      ),
    ).toBe('INVALID_INPUT');
    expect(
      await codeOf(provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message: 'text' as never })),
    ).toBe('INVALID_INPUT');
    expect(
      await codeOf(
        provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message, messageType: 'HASH' as never }),
      ),
    ).toBe('INVALID_INPUT');
    expect(
      await codeOf(
        provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message, signatureFormat: 'JOSE' as never }),
      ),
    ).toBe('INVALID_INPUT');
    expect(await codeOf(provider.sign(undefined as never))).toBe('INVALID_INPUT');
    expect(await codeOf(provider.sign({ ref: '', algorithm: 'ECDSA_SHA_256', message }))).toBe(
      'INVALID_INPUT',
    );
    expect(await codeOf(provider.sign({ ref: 'acs', algorithm: 'HMAC_SHA_256' as never, message }))).toBe(
      'INVALID_INPUT',
    );
    expect(await codeOf(provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_384', message }))).toBe(
      'UNSUPPORTED_ALGORITHM',
    );
    expect(await codeOf(provider.sign({ ref: 'nope', algorithm: 'ECDSA_SHA_256', message }))).toBe(
      'KEY_NOT_FOUND',
    );
    expect(await codeOf(provider.generateRandom(0))).toBe('INVALID_INPUT');
    expect(await codeOf(provider.generateRandom(1025))).toBe('INVALID_INPUT');
    expect(await codeOf(provider.listKeys({ limit: 0 }))).toBe('UNSUPPORTED_OPERATION');
    expect(await codeOf(provider.createKey({ spec: 'RSA_1024' as never, usage: 'SIGN_VERIFY' }))).toBe(
      'INVALID_INPUT',
    );
    expect(await codeOf(provider.createKey({ spec: 'RSA_2048', usage: 'MAC' as never }))).toBe(
      'INVALID_INPUT',
    );
    expect(await codeOf(provider.createKey({ spec: 'HMAC_256', usage: 'SIGN_VERIFY' }))).toBe(
      'INVALID_INPUT',
    );
    expect(
      await codeOf(provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'bad label!' })),
    ).toBe('INVALID_INPUT');
  });

  it('fails an operation the backend does not declare with UNSUPPORTED_OPERATION, an algorithm with UNSUPPORTED_ALGORITHM', async () => {
    const provider = new SigningOnly();
    expect(await codeOf(provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY' }))).toBe(
      'UNSUPPORTED_OPERATION',
    );
    expect(await codeOf(provider.disableKey('acs'))).toBe('UNSUPPORTED_OPERATION');
    expect(await codeOf(provider.enableKey('acs'))).toBe('UNSUPPORTED_OPERATION');
    expect(await codeOf(provider.scheduleKeyDeletion('acs'))).toBe('UNSUPPORTED_OPERATION');
    expect(await codeOf(provider.generateRandom(16))).toBe('UNSUPPORTED_OPERATION');
    expect(await codeOf(provider.importKey({ usage: 'SIGN_VERIFY', spki: new Uint8Array(1) }))).toBe(
      'UNSUPPORTED_OPERATION',
    );
    expect(() => provider.nonexistentKeyRef()).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_OPERATION' }),
    );
    expect(await codeOf(provider.generateDataKey({ ref: 'acs' }))).toBe('UNSUPPORTED_OPERATION');
    expect(
      await codeOf(provider.encrypt({ ref: 'acs', algorithm: 'SYMMETRIC_DEFAULT', plaintext: message })),
    ).toBe('UNSUPPORTED_ALGORITHM');
    expect(await codeOf(provider.generateMac({ ref: 'acs', algorithm: 'HMAC_SHA_256', message }))).toBe(
      'UNSUPPORTED_ALGORITHM',
    );
    expect(
      await codeOf(
        provider.deriveSharedSecret({ ref: 'acs', algorithm: 'ECDH', publicKey: new Uint8Array(1) }),
      ),
    ).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('wraps foreign errors as INTERNAL and names the provider and key', async () => {
    const provider = new SigningOnly({ name: 'hsm' });
    provider.failWith = new TypeError('native crash');
    const error = await provider
      .sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message }, { keyName: 'acs-signing' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(KeyswitchError);
    expect(error).toMatchObject({ code: 'INTERNAL', provider: 'hsm', keyName: 'acs-signing', keyRef: 'acs' });
    expect(error.cause).toBe(provider.failWith);
    expect(error.message).toBe(
      '[keyswitch] [hsm] key "acs-signing" (acs): unexpected backend failure: TypeError',
    );
    provider.failWith = new KeyswitchError('THROTTLED', 'slow down');
    expect(
      await provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message }).catch((e) => e),
    ).toMatchObject({
      code: 'THROTTLED',
      retryable: true,
      provider: 'hsm',
    });
  });

  it('audits each operation once, with the key version and outcome', async () => {
    const audit = new AuditBus();
    const events: AuditEvent[] = [];
    audit.subscribe((event) => events.push(event));
    const provider = new SigningOnly({ name: 'hsm', audit });
    expect(provider.audit).toBe(audit);
    const signature = await provider.sign(
      { ref: 'acs', algorithm: 'ECDSA_SHA_256', message },
      { keyName: 'acs-signing' },
    );
    await provider.verify({
      ref: 'acs',
      algorithm: 'ECDSA_SHA_256',
      message,
      signature: signature.subarray(1),
    });
    await provider.sign({ ref: 'gone', algorithm: 'ECDSA_SHA_256', message }).catch(() => {});
    expect(events.map((e) => [e.operation, e.outcome, e.errorCode, e.valid])).toEqual([
      ['sign', 'success', undefined, undefined],
      ['verify', 'success', undefined, false],
      ['sign', 'failure', 'KEY_NOT_FOUND', undefined],
    ]);
    await provider
      .sign({ ref: 'pkcs11:object=acs?pin-value=1234', algorithm: 'ECDSA_SHA_256', message })
      .catch(() => {});
    expect(events.at(-1)!.keyRef).toBe('pkcs11:object=acs?pin-value=[redacted]');
    expect(JSON.stringify(events)).not.toContain('1234');
    expect(events[0]).toMatchObject({
      keyName: 'acs-signing',
      provider: 'hsm',
      providerType: 'signing-only',
      keyRef: 'acs',
      keyVersion: '3',
      algorithm: 'ECDSA_SHA_256',
    });
  });

  it('drains work in flight before closing the backend, then refuses work', async () => {
    const provider = new SigningOnly();
    const inFlight = provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message });
    await new Promise((resolve) => setImmediate(resolve));
    const closing = provider.close();
    expect(provider.closed).toBe(true);
    expect(provider.closedBackend).toBe(false);
    await expect(inFlight).resolves.toBeInstanceOf(Uint8Array);
    await closing;
    expect(provider.closedBackend).toBe(true);
    expect(await codeOf(provider.sign({ ref: 'acs', algorithm: 'ECDSA_SHA_256', message }))).toBe('CLOSED');
    await provider.close();
  });

  it('reports its type as its name when unnamed, and caches capabilities', async () => {
    const provider = new SigningOnly();
    expect(provider.name).toBe('signing-only');
    expect(await provider.capabilities()).toBe(await provider.capabilities());
  });
});
