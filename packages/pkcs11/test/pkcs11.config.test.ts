import { constants, createPublicKey, publicEncrypt, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Keyswitch, type KeyswitchError } from '@keyswitch/core';
import { afterAll, describe, expect, it } from 'vitest';
import { Pkcs11Provider, parsePkcs11Config, pkcs11OptionsSchema, providerFactory } from '../src/index.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

const configs = fileURLToPath(new URL('../../../examples/configs/', import.meta.url));

const configError = (raw: unknown): KeyswitchError => {
  try {
    parsePkcs11Config(raw, 'providers.hsm');
  } catch (error) {
    expect((error as KeyswitchError).code).toBe('CONFIG_INVALID');
    return error as KeyswitchError;
  }
  throw new Error('parsed');
};

describe('pkcs11 provider configuration', () => {
  const valid = {
    type: 'pkcs11',
    profile: 'cloudhsm',
    module: '/opt/cloudhsm/lib/libcloudhsm_pkcs11.so',
    token: { label: 'hsm1' },
    pin: { env: 'HSM_PIN' },
  };

  it('checks provider options with the configuration schema: same rules, same messages', async () => {
    const options = {
      module: '/opt/cloudhsm/lib/libcloudhsm_pkcs11.so',
      token: { label: 'hsm1' },
      pin: 'u:p',
    };
    for (const [field, value] of [
      ['sessions', 2_000],
      ['sessions', 1.5],
      ['operationTimeoutMs', 50],
      ['workerThreads', 65],
      ['profile', 'luna'],
      ['token', { label: 'a', slot: 1 }],
    ] as const) {
      const fromConfig = configError({ ...valid, [field]: value });
      const fromOptions = await Pkcs11Provider.open({ ...options, [field]: value } as never).then(
        () => undefined,
        (error: unknown) => error as KeyswitchError,
      );
      expect(fromOptions?.code, field).toBe('CONFIG_INVALID');
      expect(fromOptions?.path, field).toBe(field);
      expect(fromOptions?.detail, field).toBe(fromConfig.detail);
    }
  });

  it('a misspelt option is CONFIG_INVALID naming it, in a section and in open() alike; profile defaults to generic in both', async () => {
    const misspelt = configError({ ...valid, sesions: 4 });
    expect(misspelt.message).toContain('sesions');
    const options = {
      module: '/opt/cloudhsm/lib/libcloudhsm_pkcs11.so',
      token: { label: 'hsm1' },
      pin: 'u:p',
    };
    const fromOptions = await Pkcs11Provider.open({ ...options, sesions: 4 } as never).then(
      () => undefined,
      (error: unknown) => error as KeyswitchError,
    );
    expect(fromOptions?.code).toBe('CONFIG_INVALID');
    expect(fromOptions?.message).toContain('sesions');
    const { profile: _profile, ...withoutProfile } = valid;
    expect(parsePkcs11Config(withoutProfile, 'providers.hsm').profile).toBe('generic');
    expect(pkcs11OptionsSchema.parse(options).profile).toBe('generic');
  });

  it('validates a section with defaults', () => {
    expect(providerFactory.type).toBe('pkcs11');
    expect(parsePkcs11Config(valid, 'providers.hsm')).toEqual({
      ...valid,
      sessions: 8,
      operationTimeoutMs: 30_000,
    });
    expect(
      parsePkcs11Config(
        { ...valid, module: { env: 'MODULE' }, token: { slot: 0 }, execution: 'worker' },
        'p',
      ),
    ).toMatchObject({
      module: { env: 'MODULE' },
      token: { slot: 0 },
      execution: 'worker',
    });
  });

  it('names the JSON path of every problem, and never echoes a PIN', () => {
    expect(configError({ ...valid, module: undefined }).path).toBe('providers.hsm.module');
    expect(configError({ ...valid, profile: 'luna' }).path).toBe('providers.hsm.profile');
    expect(configError({ ...valid, token: { label: 'a', serial: 'b' } }).path).toBe('providers.hsm.token');
    expect(configError({ ...valid, sessions: 0 }).path).toBe('providers.hsm.sessions');
    expect(configError({ ...valid, sessions: 1.5 }).path).toBe('providers.hsm.sessions');
    expect(configError({ ...valid, extra: true }).message).toContain('extra');
    const pin = configError({ ...valid, pin: '1234-secret' });
    expect(pin.path).toBe('providers.hsm.pin');
    expect(pin.message).not.toContain('1234-secret');
  });

  it("refuses a malformed pkcs11: key reference at load time, at the key's ref path", async () => {
    const error = await Keyswitch.fromConfig(
      {
        providers: { hsm: valid },
        keys: {
          'acs-signing': {
            provider: 'hsm',
            ref: 'pkcs11:object=acs;pin-value=9876',
            spec: 'ECC_NIST_P256',
            algorithm: 'ECDSA_SHA_256',
          },
        },
      },
      { env: { HSM_PIN: '1234:pin' } },
    ).then(
      () => {
        throw new Error('loaded');
      },
      (e: unknown) => e as KeyswitchError,
    );
    expect(error).toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'keys.acs-signing.ref',
      keyName: 'acs-signing',
    });
    expect(error.message).not.toContain('9876');
    const wrongScheme = await Keyswitch.fromConfig(
      {
        providers: { hsm: valid },
        keys: { k: { provider: 'hsm', ref: 'alias/acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' } },
      },
      { env: { HSM_PIN: '1234:pin' } },
    ).then(
      () => {
        throw new Error('loaded');
      },
      (e: unknown) => e as KeyswitchError,
    );
    expect(wrongScheme).toMatchObject({ code: 'CONFIG_INVALID', path: 'keys.k.ref' });
  });
});

const tokens = createTestTokens();
const skip = 'skip' in tokens;

describe.skipIf(skip)('examples/configs through Keyswitch.fromConfig', () => {
  const opened: Keyswitch[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((ks) => ks.close()));
    (tokens as TestTokens).remove();
  });

  for (const [file, provider, oaep] of [
    ['softhsm2.json', 'hsm', 'sha1'],
    ['nss.json', 'nss', 'sha256'],
  ] as const) {
    it(`${file}: keys made on the token are used by logical name`, async () => {
      const ks = await Keyswitch.fromConfig(`${configs}${file}`);
      opened.push(ks);
      const hsm = await ks.provider(provider);
      for (const name of ['acs-signing', 'ds-decrypt', 'pan-kek', 'pan-hmac']) {
        const config = ks.keyConfig(name);
        await hsm.createKey({ spec: config.spec, usage: config.usage, label: name });
      }
      const message = Buffer.from('AReq');
      const signer = ks.signer('acs-signing');
      const signature = await signer.sign(message);
      const publicKey = createPublicKey({
        key: Buffer.from((await hsm.getPublicKey(config(ks, 'acs-signing'))).spki),
        format: 'der',
        type: 'spki',
      });
      expect(verify('sha256', message, publicKey, signature)).toBe(true);
      expect(await signer.verify(message, signature)).toBe(true);

      const kek = ks.encrypter('pan-kek');
      const ciphertext = await kek.encrypt(Buffer.from('4111111111111111'), { context: { tenant: 't1' } });
      expect(Buffer.from(await kek.decrypt(ciphertext, { context: { tenant: 't1' } })).toString()).toBe(
        '4111111111111111',
      );

      const mac = ks.mac('pan-hmac');
      expect(await mac.verify(message, await mac.generate(message))).toBe(true);

      const rsa = createPublicKey({
        key: Buffer.from((await hsm.getPublicKey(config(ks, 'ds-decrypt'))).spki),
        format: 'der',
        type: 'spki',
      });
      const sealed = publicEncrypt(
        { key: rsa, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaep },
        Buffer.from('cek'),
      );
      expect(Buffer.from(await ks.decrypter('ds-decrypt').decrypt(sealed)).toString()).toBe('cek');
    });
  }

  it('an unset environment variable for the module is CONFIG_INVALID at its JSON path', async () => {
    const ks = await Keyswitch.fromConfig(`${configs}softhsm2.json`, {
      env: { KEYSWITCH_SOFTHSM2_PIN: 'x' },
    });
    opened.push(ks);
    const error = await ks.provider('hsm').then(
      () => undefined,
      (caught: KeyswitchError) => caught,
    );
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.path).toBe('providers.hsm.module');
  });
});

function config(ks: Keyswitch, name: string): string {
  return ks.keyConfig(name).ref;
}
