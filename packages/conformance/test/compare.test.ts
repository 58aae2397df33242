import { type Capabilities, KeyswitchError } from '@keyswitch/core';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { describe, expect, it } from 'vitest';
import { type ComparisonReport, compareProviders, formatComparison, type KeyImporter } from '../src/index.js';
import { importIntoMinimal, MinimalProvider, minimalCapabilities } from './support/minimal-provider.js';

const importIntoSoftHsm: KeyImporter = (hsm, { spec, usage, key, label }) =>
  (hsm as SoftHsm).importKey(
    key.type === 'secret'
      ? { label, usage, spec, raw: new Uint8Array(key.export()) }
      : { label, usage, spec, pkcs8: new Uint8Array(key.export({ format: 'der', type: 'pkcs8' })) },
  );

/** The minimal provider without HMAC: a backend that lacks something the other offers. */
const { HMAC_256: _hmac, ...keySpecsWithoutHmac } = minimalCapabilities.keySpecs;
const withoutHmac: Capabilities = {
  ...minimalCapabilities,
  keySpecs: keySpecsWithoutHmac,
  algorithms: minimalCapabilities.algorithms.filter((algorithm) => algorithm !== 'HMAC_SHA_256'),
};

const differenceList = (report: ComparisonReport) =>
  report.differences.map(
    (difference) =>
      `${difference.severity} ${difference.area} › ${difference.check} › ${difference.fact}: ${difference.a} | ${difference.b}`,
  );

describe('compareProviders', () => {
  it('finds no difference between two instances of the same provider, and cleans up', async () => {
    const report = await compareProviders({
      a: new MinimalProvider({ name: 'one' }),
      b: new MinimalProvider({ name: 'two' }),
    });
    expect(differenceList(report)).toEqual([]);
    expect(report.summary).toMatchObject({ differences: 0, breaking: 0, ok: true });
    expect(report.summary.identical).toBe(report.summary.checks);
    expect(new Set(report.checks.map((check) => check.area))).toEqual(
      new Set([
        'capabilities',
        'signing',
        'encryption',
        'mac',
        'key-agreement',
        'data-keys',
        'random',
        'errors',
        'lifecycle',
      ]),
    );
    expect(report.crossChecked).toBe(false);
    for (const side of [report.cleanup.a, report.cleanup.b]) {
      expect(side.keys.length).toBeGreaterThan(0);
      expect(
        side.keys.every((key) => key.action === 'scheduled-deletion' || key.action === 'already-scheduled'),
      ).toBe(true);
    }
    expect(formatComparison(report).trimEnd().endsWith('NO BREAKING DIFFERENCES')).toBe(true);
  });

  it('reports every divergence of a deliberately different provider, breaking or notice', async () => {
    const report = await compareProviders({
      a: new MinimalProvider({ name: 'today' }),
      b: new MinimalProvider({
        name: 'tomorrow',
        faults: ['pss-salt-zero', 'wrong-decrypt-error-code'],
        capabilities: withoutHmac,
      }),
      importKey: { a: importIntoMinimal, b: importIntoMinimal },
    });
    const codes = 'INVALID_CIPHERTEXT | INVALID_INPUT';
    expect(differenceList(report)).toEqual([
      'breaking capabilities › capability manifest › keySpecs.HMAC_256.GENERATE_VERIFY_MAC: create | none',
      'breaking capabilities › capability manifest › algorithms.HMAC_SHA_256: true | false',
      'breaking signing › RSASSA_PSS_SHA_256 with RSA_2048 › verifiesWithNode: true | false',
      'breaking signing › RSASSA_PSS_SHA_256 with RSA_2048 › pssSaltLength: 32 | 0',
      'breaking signing › RSASSA_PSS_SHA_256 with RSA_2048 › digestSigningVerifiesWithNode: true | false',
      'notice signing › RSASSA_PSS_SHA_256 with RSA_2048 › deterministic: false | true',
      `breaking encryption › RSAES_OAEP_SHA_256 with RSA_2048 › tampered: ${codes}`,
      `breaking encryption › RSAES_OAEP_SHA_256 with RSA_2048 › otherHashCiphertext: ${codes}`,
      ...[
        'wrongContext',
        'missingContext',
        'tamperedFirstByte',
        'tamperedMiddleByte',
        'tamperedTag',
        'truncated',
        'extended',
        'otherKey',
      ].map((fact) => `breaking encryption › SYMMETRIC_DEFAULT › ${fact}: ${codes}`),
      `breaking data-keys › data keys under SYMMETRIC_DEFAULT › wrongContext: ${codes}`,
      'breaking cross › RSASSA_PSS_SHA_256 with RSA_2048 › verifiesOtherSidesSignature: false | false',
    ]);
    expect(report.summary).toMatchObject({ breaking: 17, notices: 1, ok: false });
    expect(report.crossChecked).toBe(true);
    const text = formatComparison(report);
    expect(text).toContain('  signing › RSASSA_PSS_SHA_256 with RSA_2048 › pssSaltLength: a=32 b=0');
    expect(text.trimEnd().endsWith('17 BREAKING DIFFERENCE(S)')).toBe(true);
  });

  it('reads direction: what b offers beyond a is a notice', async () => {
    const report = await compareProviders({
      a: new MinimalProvider({ capabilities: withoutHmac }),
      b: new MinimalProvider(),
    });
    expect(report.differences.map((difference) => `${difference.severity} ${difference.fact}`)).toEqual([
      'notice keySpecs.HMAC_256.GENERATE_VERIFY_MAC',
      'notice algorithms.HMAC_SHA_256',
    ]);
    expect(report.summary.ok).toBe(true);
  });

  it('cross-checks two software HSMs with the same keys imported into both: nothing breaking', async () => {
    const [a, b] = [await SoftHsm.open(), await SoftHsm.open()];
    const report = await compareProviders({
      a,
      b,
      importKey: { a: importIntoSoftHsm, b: importIntoSoftHsm },
    });
    // Each instance binds its SYMMETRIC_DEFAULT ciphertext to its own key id, as AWS KMS does: moving
    // such data between backends means re-encrypting it, which the report says as a notice.
    expect(differenceList(report)).toEqual([
      'notice cross › SYMMETRIC_DEFAULT with SYMMETRIC_DEFAULT › decryptsOtherSidesCiphertext: INVALID_CIPHERTEXT | INVALID_CIPHERTEXT',
    ]);
    expect(report.summary.ok).toBe(true);
    expect(report.checks.filter((check) => check.area === 'cross').length).toBeGreaterThan(10);
    expect(report.checks.filter((check) => !check.compared)).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('stops after the check in progress when aborted, and still cleans up', async () => {
    const controller = new AbortController();
    const report = await compareProviders({
      a: new MinimalProvider(),
      b: new MinimalProvider(),
      signal: controller.signal,
      onProgress: (check) => {
        if (check.area === 'signing') controller.abort();
      },
    });
    expect(report.aborted).toBe(true);
    expect(report.checks.map((check) => check.area)).toEqual(['capabilities', 'signing']);
    expect(report.cleanup.a.keys.length).toBe(1);
  });

  it('refuses bad options with CONFIG_INVALID', async () => {
    const provider = new MinimalProvider();
    await expect(
      compareProviders({ a: provider, b: provider, keys: { b: { 'HMAC_256:SIGN_VERIFY': 'x' } } }),
    ).rejects.toBeInstanceOf(KeyswitchError);
  });
});
