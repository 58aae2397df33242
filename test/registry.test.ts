import { createHmac, createPublicKey, diffieHellman, generateKeyPairSync, verify } from 'node:crypto';
import {
  type AuditEvent,
  isKeyswitchError,
  Keyswitch,
  type KeyswitchConfigInput,
  KeyswitchError,
} from '@keyswitch/core';
import { afterEach, describe, expect, it } from 'vitest';

const config: KeyswitchConfigInput = {
  environment: 'test',
  providers: { dev: { type: 'soft-hsm' } },
  keys: {
    'acs-signing': { provider: 'dev', ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
    'ds-signing': { provider: 'dev', ref: 'ds', spec: 'RSA_2048', algorithm: 'RSASSA_PSS_SHA_256' },
    'ds-decrypt': { provider: 'dev', ref: 'ds-enc', spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT' },
    'pan-kek': { provider: 'dev', ref: 'kek', spec: 'SYMMETRIC_DEFAULT' },
    'pan-hmac': { provider: 'dev', ref: 'hmac', spec: 'HMAC_256' },
    'acs-ecdh': { provider: 'dev', ref: 'ecdh', spec: 'ECC_NIST_P256', algorithm: 'ECDH' },
  },
};

let open: Keyswitch[] = [];
afterEach(async () => {
  await Promise.all(open.map((ks) => ks.close()));
  open = [];
});

/** A registry over an in-memory software HSM with every configured key created. */
async function provisioned(source: KeyswitchConfigInput = config): Promise<Keyswitch> {
  const ks = await Keyswitch.fromConfig(source);
  open.push(ks);
  const provider = await ks.provider('dev');
  for (const name of ks.keyNames()) {
    const { ref, spec, usage } = ks.keyConfig(name);
    await provider.createKey({ spec, usage, label: ref });
  }
  return ks;
}

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<KeyswitchError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (isKeyswitchError(error)) return error;
    throw error;
  }
  throw new Error('expected a KeyswitchError');
}

const message = new TextEncoder().encode('{"messageType":"ARes","transStatus":"Y"}');

describe('Keyswitch registry', () => {
  it('resolves configured defaults for each logical key', async () => {
    const ks = await Keyswitch.fromConfig(config);
    open.push(ks);
    expect(ks.keyConfig('ds-decrypt')).toMatchObject({
      usage: 'ENCRYPT_DECRYPT',
      algorithm: 'RSAES_OAEP_SHA_256',
    });
    expect(ks.keyConfig('pan-kek')).toMatchObject({
      usage: 'ENCRYPT_DECRYPT',
      algorithm: 'SYMMETRIC_DEFAULT',
    });
    expect(ks.keyConfig('pan-hmac')).toMatchObject({
      usage: 'GENERATE_VERIFY_MAC',
      algorithm: 'HMAC_SHA_256',
    });
    expect(ks.keyConfig('acs-ecdh')).toMatchObject({ usage: 'KEY_AGREEMENT', algorithm: 'ECDH' });
    expect(ks.environment).toBe('test');
    expect(ks.providerNames()).toEqual(['dev']);
  });

  it('signs through a signer; node:crypto verifies with the exported public key', async () => {
    const ks = await provisioned();
    const acs = ks.signer('acs-signing');
    expect(acs.joseAlgorithm).toBe('ES256');
    const der = await acs.sign(message);
    const p1363 = await acs.sign(message, { format: 'P1363' });
    expect(p1363).toHaveLength(64);
    const publicKey = createPublicKey({
      key: Buffer.from((await acs.publicKey()).spki),
      format: 'der',
      type: 'spki',
    });
    expect(verify('sha256', message, publicKey, der)).toBe(true);
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true);
    expect(await acs.verify(message, der)).toBe(true);
    expect(await acs.verify(message, p1363, { format: 'P1363' })).toBe(true);
    expect(await acs.verify(new TextEncoder().encode('tampered'), der)).toBe(false);

    const ds = ks.signer('ds-signing');
    const pss = await ds.sign(message);
    const dsKey = createPublicKey({ key: (await ds.publicKey()).pem(), format: 'pem' });
    expect(verify('sha256', message, { key: dsKey, padding: 6, saltLength: 32 }, pss)).toBe(true);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', message));
    expect(
      verify('sha256', message, { key: dsKey, padding: 6, saltLength: 32 }, await ds.signDigest(digest)),
    ).toBe(true);
    expect(await ds.verifyDigest(digest, pss)).toBe(true);
    expect((await rejection(ds.signDigest(digest.subarray(1)))).code).toBe('INVALID_INPUT');
  });

  it('encrypts with a context, decrypts only with the same one', async () => {
    const ks = await provisioned();
    const kek = ks.encrypter('pan-kek');
    const ciphertext = await kek.encrypt(message, { context: { tenant: 't1' } });
    expect(Buffer.from(await kek.decrypt(ciphertext, { context: { tenant: 't1' } }))).toEqual(
      Buffer.from(message),
    );
    const wrong = await rejection(ks.decrypter('pan-kek').decrypt(ciphertext, { context: { tenant: 't2' } }));
    expect(wrong).toMatchObject({ code: 'INVALID_CIPHERTEXT', keyName: 'pan-kek', provider: 'dev' });
    expect(wrong.message).toMatch(/^\[keyswitch\] \[dev\] key "pan-kek" \(kek\)/);
  });

  it('computes MACs, shared secrets and data keys', async () => {
    const ks = await provisioned();
    const mac = ks.mac('pan-hmac');
    const tag = await mac.generate(message);
    expect(tag).toHaveLength(32);
    expect(await mac.verify(message, tag)).toBe(true);
    expect(await mac.verify(message, createHmac('sha256', 'x').update(message).digest())).toBe(false);

    const agreement = ks.keyAgreement('acs-ecdh');
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const secret = await agreement.deriveSharedSecret(peer.publicKey.export({ format: 'jwk' }) as never);
    const expected = diffieHellman({
      privateKey: peer.privateKey,
      publicKey: createPublicKey({
        key: Buffer.from((await agreement.publicKey()).spki),
        format: 'der',
        type: 'spki',
      }),
    });
    expect(Buffer.from(secret)).toEqual(expected);

    const dataKeys = ks.dataKeys('pan-kek');
    const key = await dataKeys.generate({ context: { table: 'cards' } });
    expect(key.plaintext).toHaveLength(32);
    expect(Buffer.from(await dataKeys.decrypt(key.ciphertextBlob, { context: { table: 'cards' } }))).toEqual(
      Buffer.from(key.plaintext),
    );
    const wrapped = await dataKeys.generateWithoutPlaintext({ dataKeySpec: 'AES_128' });
    expect(wrapped.plaintext).toBeUndefined();
    expect(await dataKeys.decrypt(wrapped.ciphertextBlob)).toHaveLength(16);
    expect(await ks.random(32)).toHaveLength(32);
    expect((await ks.describe('pan-kek')).state).toBe('ENABLED');
  });

  it('refuses a handle of the wrong kind and an unknown name', async () => {
    const ks = await Keyswitch.fromConfig(config);
    open.push(ks);
    expect(await rejection(() => ks.signer('pan-kek'))).toMatchObject({
      code: 'USAGE_MISMATCH',
      keyName: 'pan-kek',
      message: expect.stringMatching(/is configured for ENCRYPT_DECRYPT; a signer needs SIGN_VERIFY/),
    });
    expect((await rejection(() => ks.dataKeys('ds-decrypt'))).code).toBe('USAGE_MISMATCH');
    expect((await rejection(() => ks.mac('acs-signing'))).code).toBe('USAGE_MISMATCH');
    expect(await rejection(() => ks.encrypter('nope'))).toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'keys.nope',
    });
    expect(await rejection(ks.provider('nope'))).toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'providers.nope',
    });
  });

  it('checks each key against its backend key at first use', async () => {
    const ks = await Keyswitch.fromConfig(config);
    open.push(ks);
    const provider = await ks.provider('dev');
    await provider.createKey({ spec: 'ECC_NIST_P384', usage: 'SIGN_VERIFY', label: 'acs' });
    await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'ecdh' });
    const spec = await rejection(ks.signer('acs-signing').sign(message));
    expect(spec).toMatchObject({
      code: 'CONFIG_INVALID',
      keyName: 'acs-signing',
      path: 'keys.acs-signing.spec',
    });
    expect(spec.message).toMatch(/configured as ECC_NIST_P256 but the backend key is ECC_NIST_P384/);
    const usage = await rejection(ks.keyAgreement('acs-ecdh').deriveSharedSecret(new Uint8Array(1)));
    expect(usage).toMatchObject({
      code: 'CONFIG_INVALID',
      keyName: 'acs-ecdh',
      path: 'keys.acs-ecdh.algorithm',
    });
    expect(usage.message).toMatch(
      /configured for KEY_AGREEMENT \(ECDH\) but the backend key's usage is SIGN_VERIFY/,
    );
    const missing = await rejection(ks.mac('pan-hmac').generate(message));
    expect(missing).toMatchObject({ code: 'KEY_NOT_FOUND', keyName: 'pan-hmac', provider: 'dev' });
    // Once the key exists the same handle works: a failed check is not remembered.
    await provider.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'hmac' });
    expect(await ks.mac('pan-hmac').generate(message)).toHaveLength(32);
  });

  it('audits every operation with its key and outcome, never data', async () => {
    const events: AuditEvent[] = [];
    const ks = await Keyswitch.fromConfig(config, { onAudit: (event) => events.push(event) });
    open.push(ks);
    const provider = await ks.provider('dev');
    await provider.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label: 'kek' });
    const secretText = 'PAN 4111111111111111';
    const ciphertext = await ks.encrypter('pan-kek').encrypt(new TextEncoder().encode(secretText));
    await rejection(ks.encrypter('pan-kek').decrypt(ciphertext.subarray(0, ciphertext.length - 1)));
    const encrypt = events.find((event) => event.operation === 'encrypt')!;
    expect(encrypt).toMatchObject({
      operation: 'encrypt',
      keyName: 'pan-kek',
      provider: 'dev',
      providerType: 'soft-hsm',
      keyRef: 'kek',
      algorithm: 'SYMMETRIC_DEFAULT',
      outcome: 'success',
    });
    expect(typeof encrypt.durationMs).toBe('number');
    expect(Number.isNaN(Date.parse(encrypt.time))).toBe(false);
    const decrypt = events.find((event) => event.operation === 'decrypt')!;
    expect(decrypt).toMatchObject({
      outcome: 'failure',
      errorCode: 'INVALID_CIPHERTEXT',
      keyName: 'pan-kek',
    });
    const serialised = JSON.stringify(events);
    expect(serialised).not.toContain('4111');
    expect(serialised).not.toContain(Buffer.from(ciphertext).toString('base64'));
    expect(serialised).not.toContain(Buffer.from(ciphertext).toString('hex').slice(0, 16));
  });

  it('names a missing backend package and validates provider sections', async () => {
    const unknown = await rejection(
      Keyswitch.fromConfig({ ...config, providers: { dev: { type: '@keyswitch/not-a-backend' } } }),
    );
    expect(unknown).toMatchObject({ code: 'CONFIG_INVALID', path: 'providers.dev.type' });
    expect(unknown.message).toMatch(/needs the package @keyswitch\/not-a-backend; install it/);
    const odd = await rejection(
      Keyswitch.fromConfig({ ...config, providers: { dev: { type: 'Not A Type!' } } }),
    );
    expect(odd).toMatchObject({ code: 'CONFIG_INVALID', path: 'providers.dev.type' });
    expect(odd.retryable).toBe(false);
    const noFactory = await rejection(
      Keyswitch.fromConfig({ ...config, providers: { dev: { type: '@keyswitch/core' } } }),
    );
    expect(noFactory.message).toMatch(/does not export a providerFactory/);
    const section = await rejection(
      Keyswitch.fromConfig({ ...config, providers: { dev: { type: 'soft-hsm', keystore: 'dev.keystore' } } }),
    );
    expect(section).toMatchObject({ code: 'CONFIG_INVALID', path: 'providers.dev.passphrase' });
  });

  it('loads backends only from @keyswitch packages: paths, relative names and other packages are refused', async () => {
    for (const type of [
      '.',
      '..',
      './backend',
      '../backend',
      '/opt/backend/index.js',
      'zod',
      'node:fs',
      '@keyswitch/../core',
      '@other/backend',
      'file:///tmp/x.js',
      'soft-hsm/../x',
    ]) {
      const refused = await rejection(Keyswitch.fromConfig({ ...config, providers: { dev: { type } } }));
      expect(refused, type).toMatchObject({
        code: 'CONFIG_INVALID',
        path: 'providers.dev.type',
        retryable: false,
      });
      expect(refused.message).toContain(JSON.stringify(type));
      expect(refused.message).toMatch(/providerFactories/);
    }
  });

  it('uses injected provider factories instead of importing a package', async () => {
    const created: string[] = [];
    const { providerFactory } = await import('@keyswitch/soft-hsm');
    const ks = await Keyswitch.fromConfig(
      { ...config, providers: { dev: { type: 'custom-hsm' } } },
      {
        providerFactories: {
          'custom-hsm': {
            type: 'custom-hsm',
            parseConfig: () => ({ type: 'soft-hsm' }),
            create: (section: never, context: never) => {
              created.push('custom-hsm');
              return providerFactory.create(section, context);
            },
          },
        },
      },
    );
    open.push(ks);
    await ks.provider('dev');
    await ks.provider('dev');
    expect(created).toEqual(['custom-hsm']);
  });

  it('refuses the software HSM in production, at first use, naming the provider', async () => {
    const ks = await Keyswitch.fromConfig({ ...config, environment: 'production' });
    open.push(ks);
    const error = await rejection(ks.signer('acs-signing').sign(message));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/production/);
  });

  it('refuses work after close', async () => {
    const ks = await provisioned();
    const signer = ks.signer('acs-signing');
    await ks.close();
    await ks.close();
    expect((await rejection(signer.sign(message))).code).toBe('CLOSED');
    expect((await rejection(() => ks.signer('acs-signing'))).code).toBe('CLOSED');
  });
});

describe('key references at load time', () => {
  it("reports a malformed reference as CONFIG_INVALID at the key's ref path, before any backend is used", async () => {
    const created: string[] = [];
    const error = await rejection(
      Keyswitch.fromConfig(
        { ...config, providers: { dev: { type: 'strict-refs' } } },
        {
          providerFactories: {
            'strict-refs': {
              type: 'strict-refs',
              parseConfig: (raw) => raw,
              validateKeyRef: (ref) => {
                if (ref === 'kek')
                  throw new KeyswitchError('INVALID_INPUT', 'a reference must start with "hsm:"');
              },
              create: async () => {
                created.push('created');
                throw new Error('not reached');
              },
            },
          },
        },
      ),
    );
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', path: 'keys.pan-kek.ref', keyName: 'pan-kek' });
    expect(error.message).toMatch(/a reference must start with "hsm:"/);
    expect(created).toEqual([]);
  });
});

describe('provider failures', () => {
  it('remembers a refused credential instead of retrying it on every use; forgets a transient failure', async () => {
    const attempts: string[] = [];
    let answer: 'ACCESS_DENIED' | 'UNAVAILABLE' = 'ACCESS_DENIED';
    const options = {
      providerFactories: {
        flaky: {
          type: 'flaky',
          parseConfig: (raw: unknown) => raw,
          create: async () => {
            attempts.push(answer);
            throw new KeyswitchError(
              answer,
              answer === 'ACCESS_DENIED' ? 'the PIN was refused' : 'no route to the HSM',
            );
          },
        },
      },
    };
    const ks = await Keyswitch.fromConfig({ ...config, providers: { dev: { type: 'flaky' } } }, options);
    open.push(ks);
    for (let i = 0; i < 3; i++)
      expect((await rejection(ks.signer('acs-signing').sign(message))).code).toBe('ACCESS_DENIED');
    expect(attempts).toEqual(['ACCESS_DENIED']);

    const transient = await Keyswitch.fromConfig(
      { ...config, providers: { dev: { type: 'flaky' } } },
      options,
    );
    open.push(transient);
    answer = 'UNAVAILABLE';
    attempts.length = 0;
    for (let i = 0; i < 3; i++) {
      const error = await rejection(transient.signer('acs-signing').sign(message));
      expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    }
    expect(attempts).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
  });
});

describe('encryption contexts', () => {
  it('refuses a context with a lone surrogate, which has no single UTF-8 form', async () => {
    const ks = await provisioned();
    const kek = ks.encrypter('pan-kek');
    for (const bad of [{ t: '\ud800' }, { t: 'a\udfffb' }, { ['\ud83d']: 'x' }]) {
      expect((await rejection(kek.encrypt(message, { context: bad }))).code).toBe('INVALID_INPUT');
    }
    const emoji = await kek.encrypt(message, { context: { t: '\ud83d\ude00' } });
    expect(await kek.decrypt(emoji, { context: { t: '😀' } })).toEqual(new Uint8Array(message));
  });
});
