import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuditBus,
  type AuditEvent,
  type ProviderContext,
  resolveSecret,
  type SecretReference,
} from '@keyswitch/core';
import { providerFactory, SoftHsm, softHsmConfigSchema } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from './support/errors.js';

let baseDir: string;
beforeAll(() => {
  baseDir = mkdtempSync(join(tmpdir(), 'soft-hsm-factory-'));
});
afterAll(() => rmSync(baseDir, { recursive: true, force: true }));

function context(overrides: Partial<ProviderContext> = {}): ProviderContext {
  return {
    name: 'dev',
    environment: 'development',
    baseDir,
    path: 'providers.dev',
    resolveSecret: (reference: SecretReference, field: string) =>
      resolveSecret(reference, {
        path: `providers.dev.${field}`,
        env: { KEYSTORE_PASSPHRASE: 'factory passphrase' },
        baseDir,
      }),
    audit: new AuditBus(),
    ...overrides,
  };
}

describe('one strict schema for the section and for SoftHsm.open()', () => {
  it('a misspelt option is CONFIG_INVALID naming it, in a section and in options alike', async () => {
    const fromOptions = await expectCode(SoftHsm.open({ bogus: 1 } as never), 'CONFIG_INVALID');
    expect(fromOptions.message).toContain('bogus');
    const misspelt = await expectCode(SoftHsm.open({ keystroe: 'dev.keystore' } as never), 'CONFIG_INVALID');
    expect(misspelt.message).toContain('keystroe');
    expect(() => providerFactory.parseConfig({ type: 'soft-hsm', keystroe: 'x' }, 'providers.dev')).toThrow(
      /keystroe/,
    );
    // The same passphrase rule in both.
    expect(() => providerFactory.parseConfig({ type: 'soft-hsm', keystore: 'x' }, 'providers.dev')).toThrow(
      /needs a passphrase/,
    );
    const noPassphrase = await expectCode(SoftHsm.open({ keystore: join(baseDir, 'x') }), 'CONFIG_INVALID');
    expect(noPassphrase.path).toBe('passphrase');
    await expectCode(SoftHsm.open({ readOnly: 'yes' } as never), 'CONFIG_INVALID');
  });
});

describe('parseConfig', () => {
  it('accepts an in-memory and a keystore section', () => {
    expect(providerFactory.type).toBe('soft-hsm');
    expect(providerFactory.parseConfig({ type: 'soft-hsm' }, 'providers.dev')).toEqual({ type: 'soft-hsm' });
    const section = {
      type: 'soft-hsm',
      keystore: '.keyswitch/dev.keystore',
      passphrase: { env: 'KEYSTORE_PASSPHRASE' },
    };
    expect(providerFactory.parseConfig(section, 'providers.dev')).toEqual(section);
    expect(
      softHsmConfigSchema.safeParse({ type: 'soft-hsm', passphrase: { file: 'secret.txt' } }).success,
    ).toBe(true);
  });

  it('names the JSON path of each problem', () => {
    const cases: [unknown, string, RegExp?][] = [
      [{ type: 'soft-hsm', keystore: 'dev.keystore' }, 'providers.dev.passphrase', /needs a passphrase/],
      [
        { type: 'soft-hsm', keystore: 'k', passphrase: 'plain text secret' },
        'providers.dev.passphrase',
        /never the secret itself/,
      ],
      [{ type: 'soft-hsm', keystore: 7, passphrase: { env: 'X' } }, 'providers.dev.keystore'],
      [{ type: 'soft-hsm', pin: { env: 'X' } }, 'providers.dev'],
      [{ type: 'pkcs11' }, 'providers.dev.type'],
    ];
    for (const [raw, path, message] of cases) {
      let thrown: unknown;
      try {
        providerFactory.parseConfig(raw, 'providers.dev');
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(raw)).toMatchObject({ code: 'CONFIG_INVALID', path });
      if (message) expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('plain text secret');
    }
  });
});

describe('create', () => {
  it('opens an in-memory HSM named and audited as the registry says', async () => {
    const ctx = context();
    const events: AuditEvent[] = [];
    ctx.audit.subscribe((event) => events.push(event));
    const provider = await providerFactory.create(
      providerFactory.parseConfig({ type: 'soft-hsm' }, 'providers.dev'),
      ctx,
    );
    expect(provider).toBeInstanceOf(SoftHsm);
    expect(provider.name).toBe('dev');
    expect(provider.audit).toBe(ctx.audit);
    await provider.generateRandom(8);
    expect(events[0]).toMatchObject({
      operation: 'generateRandom',
      provider: 'dev',
      providerType: 'soft-hsm',
    });
    await provider.close();
  });

  it('resolves the keystore against the config directory and the passphrase from its reference', async () => {
    const config = providerFactory.parseConfig(
      { type: 'soft-hsm', keystore: 'nested/dev.keystore', passphrase: { env: 'KEYSTORE_PASSPHRASE' } },
      'providers.dev',
    );
    const provider = (await providerFactory.create(config, context())) as SoftHsm;
    expect(provider.keystore).toBe(join(baseDir, 'nested/dev.keystore'));
    await provider.createKey({ spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', label: 'k' });
    await provider.close();
    const direct = await SoftHsm.open({
      keystore: join(baseDir, 'nested/dev.keystore'),
      passphrase: 'factory passphrase',
    });
    expect((await direct.describeKey('k')).spec).toBe('HMAC_256');
    await direct.close();
  });

  it('refuses production, and names the path of keystore and passphrase problems', async () => {
    const refused = await expectCode(
      providerFactory.create({ type: 'soft-hsm' }, context({ environment: 'production' })),
      'CONFIG_INVALID',
    );
    expect(refused.message).toContain('the software HSM is for development and tests; it refuses production');
    expect(refused.path).toBe('providers.dev');
    const config = providerFactory.parseConfig(
      { type: 'soft-hsm', keystore: 'nested/dev.keystore', passphrase: { env: 'MISSING_VARIABLE' } },
      'providers.dev',
    );
    const missing = await expectCode(providerFactory.create(config, context()), 'CONFIG_INVALID');
    expect(missing.path).toBe('providers.dev.passphrase');
    const wrong = await expectCode(
      providerFactory.create(
        { type: 'soft-hsm', keystore: 'nested/dev.keystore', passphrase: { env: 'KEYSTORE_PASSPHRASE' } },
        context({
          resolveSecret: async () =>
            (await import('@keyswitch/core')).resolveSecret({ env: 'P' }, { path: 'p', env: { P: 'nope' } }),
        }),
      ),
      'CONFIG_INVALID',
    );
    expect(wrong.path).toBe('providers.dev.keystore');
    expect(wrong.message).toContain('wrong passphrase or corrupted file');
    expect(wrong.message).not.toContain('nope');
  });
});
