import { isKeyswitchError, KeyswitchError } from '@keyswitch/core';
import { describe, expect, it } from 'vitest';
import { type ConformanceEvent, conformance, runConformance } from '../src/index.js';
import { importIntoMinimal, MinimalProvider } from './support/minimal-provider.js';

const expectConfigInvalid = (error: unknown) => expect(isKeyswitchError(error, 'CONFIG_INVALID')).toBe(true);

describe('runConformance', () => {
  it('refuses an unknown group name with CONFIG_INVALID naming it', async () => {
    const error = await runConformance({
      createProvider: () => new MinimalProvider(),
      groups: ['signing', 'sining' as never],
    }).catch((e: unknown) => e);
    expectConfigInvalid(error);
    expect((error as Error).message).toMatch(/unknown conformance group "sining"; expected keys, signing/);
  });

  // retry: 1 — one full-suite CI run (under the load of every other test file) saw one check fail here, and
  // 160 runs since, 120 of them under load, did not reproduce it. The retry keeps CI honest about a steady
  // failure while the assertion below names the check if it happens again.
  it('runs every group: all that the provider declares passes, the rest is unsupported after a check', {
    retry: 1,
  }, async () => {
    const events: ConformanceEvent[] = [];
    const report = await runConformance({
      createProvider: () => new MinimalProvider({ name: 'dev' }),
      importKey: importIntoMinimal,
      label: 'ci',
      runId: 'run-1',
      onProgress: (event) => events.push(event),
    });
    expect(
      report.results
        .filter((entry) => entry.status !== 'passed' && entry.status !== 'unsupported')
        .map(
          (entry) =>
            `${entry.group} › ${entry.name}: ${entry.status} ${entry.reason ?? ''} ${JSON.stringify(entry.error ?? '')}`,
        ),
    ).toEqual([]);
    expect(report.summary).toMatchObject({ failed: 0, skipped: 0, ok: true });
    expect(report.summary.passed).toBeGreaterThan(60);
    expect(report.summary.total).toBe(report.results.length);
    expect(report.provider).toEqual({ name: 'dev', type: 'minimal' });
    expect(report.groups).toEqual([
      'keys',
      'signing',
      'encryption',
      'mac',
      'key-agreement',
      'data-keys',
      'random',
      'errors',
      'concurrency',
    ]);
    expect(report.capabilities.algorithms).toContain('ECDH');
    expect(report.aborted).toBe(false);

    const result = (name: string) =>
      report.results.find((entry) => `${entry.group} › ${entry.name}` === name)!;
    expect(
      result(
        'signing › RSASSA_PSS_SHA_384 with RSA_2048 › signs; node:crypto verifies with the exported public key',
      ),
    ).toMatchObject({
      status: 'unsupported',
      reason: 'RSASSA_PSS_SHA_384 is not in the capability manifest; it fails with UNSUPPORTED_ALGORITHM',
    });
    expect(
      result('keys › RSA_4096 key for ENCRYPT_DECRYPT: created, described, public key exported'),
    ).toMatchObject({
      status: 'unsupported',
      reason:
        'RSA_4096:ENCRYPT_DECRYPT keys are not in the capability manifest; createKey refuses them with UNSUPPORTED_ALGORITHM',
    });
    expect(
      result(
        'signing › RSASSA_PSS_SHA_256 with RSA_2048 › RSA-PSS: verify refuses signatures with another salt length',
      ).status,
    ).toBe('passed');

    // Every key the run made carries the label and run id and was scheduled for deletion.
    expect(report.label).toBe('ci-run-1');
    expect(report.cleanup.keys.length).toBeGreaterThan(20);
    for (const key of report.cleanup.keys) {
      expect(key.label.startsWith('ci-run-1-')).toBe(true);
      expect(['scheduled-deletion', 'already-scheduled']).toContain(key.action);
      expect(key.deletionDate).toBeDefined();
    }

    expect(events[0]).toMatchObject({ type: 'run-start', runId: 'run-1', tests: report.results.length });
    expect(events.at(-1)).toEqual({ type: 'run-end', summary: report.summary, aborted: false });
    expect(events.filter((event) => event.type === 'test-end')).toHaveLength(report.results.length);
    expect(
      events
        .filter((event) => event.type === 'group-start')
        .map((event) => event.type === 'group-start' && event.group),
    ).toEqual(report.groups);
    expect(events.filter((event) => event.type === 'cleanup')).toHaveLength(report.groups.length);
  });

  it('without an importer, reports the checks that need one as skipped, with the reason', async () => {
    const report = await runConformance({ createProvider: () => new MinimalProvider(), groups: ['mac'] });
    const skipped = report.results.filter((result) => result.status === 'skipped');
    expect(skipped.map((result) => result.name)).toEqual([
      'HMAC_SHA_256 with HMAC_256 › MACs equal node:crypto HMAC with the same (imported) key',
    ]);
    expect(skipped[0]!.reason).toMatch(/^needs an importKey option/);
    expect(report.summary.ok).toBe(true);
  });

  it('with a shared provider, never closes it and skips the checks that would', async () => {
    const provider = new MinimalProvider();
    const report = await runConformance({ provider, groups: ['errors', 'concurrency'] });
    expect(provider.closed).toBe(false);
    const skipped = report.results
      .filter((result) => result.status === 'skipped')
      .map((result) => result.name);
    expect(skipped).toEqual([
      'after close(), calls fail with CLOSED',
      'close() waits for the operations in flight, then refuses new calls with CLOSED',
    ]);
    expect(report.summary.failed).toBe(0);
  });

  it('with pre-provisioned keys, creates none and runs what they allow', async () => {
    const provider = new MinimalProvider();
    const signing = await provider.createKey({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      label: 'acs-signing',
    });
    const kek = await provider.createKey({
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      label: 'pan-kek',
    });
    const before = (await provider.listKeys()).keys.length;
    const report = await runConformance({
      provider,
      keys: { 'ECC_NIST_P256:SIGN_VERIFY': signing.ref, 'SYMMETRIC_DEFAULT:ENCRYPT_DECRYPT': [kek.ref] },
      groups: ['keys', 'signing', 'encryption'],
    });
    expect(report.cleanup.keys).toEqual([]);
    expect((await provider.listKeys()).keys.length).toBe(before);
    expect(report.summary.failed).toBe(0);
    const status = (name: string) =>
      report.results.find((result) => `${result.group} › ${result.name}` === name);
    expect(
      status('signing › ECDSA_SHA_256 with ECC_NIST_P256 › ECDSA: signs and verifies in DER and in P1363')
        ?.status,
    ).toBe('passed');
    expect(
      status('encryption › SYMMETRIC_DEFAULT › tampered ciphertext or tag fails with INVALID_CIPHERTEXT')
        ?.status,
    ).toBe('passed');
    expect(status('keys › listKeys pages through the keys, including those the suite made')?.status).toBe(
      'passed',
    );
    expect(
      status("encryption › SYMMETRIC_DEFAULT › another key's ciphertext fails with INVALID_CIPHERTEXT"),
    ).toMatchObject({
      status: 'skipped',
      reason:
        "needs a key #2 for SYMMETRIC_DEFAULT:ENCRYPT_DECRYPT: name it in keys['SYMMETRIC_DEFAULT:ENCRYPT_DECRYPT']",
    });
    expect(
      status('keys › disableKey: the key is DISABLED and operations fail with KEY_DISABLED'),
    ).toMatchObject({
      status: 'skipped',
      reason: 'needs keys.lifecycle: a key the suite may disable, enable and schedule for deletion',
    });
    expect(
      status(
        'signing › RSASSA_PSS_SHA_256 with RSA_2048 › signs; node:crypto verifies with the exported public key',
      ),
    ).toMatchObject({
      status: 'skipped',
      reason: "needs a key for RSA_2048:SIGN_VERIFY: name it in keys['RSA_2048:SIGN_VERIFY']",
    });
    // Undeclared things are still unsupported, checked without creating anything.
    expect(
      status(
        'signing › RSASSA_PSS_SHA_512 with RSA_2048 › signs; node:crypto verifies with the exported public key',
      )?.status,
    ).toBe('unsupported');
  });

  it('a pre-provisioned key of the wrong spec fails the checks that use it', async () => {
    const provider = new MinimalProvider();
    const wrong = await provider.createKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY' });
    const report = await runConformance({
      provider,
      keys: { 'ECC_NIST_P256:SIGN_VERIFY': wrong.ref },
      groups: ['signing'],
    });
    const failure = report.results.find((result) => result.status === 'failed');
    expect(failure?.reason).toMatch(
      /^keys\['ECC_NIST_P256:SIGN_VERIFY'\] \(minimal-key-1\): spec is RSA_2048, expected ECC_NIST_P256/,
    );
  });

  it('stops after the check in progress when aborted, and still cleans up', async () => {
    const controller = new AbortController();
    let ended = 0;
    const report = await runConformance({
      createProvider: () => new MinimalProvider(),
      groups: ['keys', 'signing'],
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === 'test-end' && ++ended === 3) controller.abort();
      },
    });
    expect(report.aborted).toBe(true);
    expect(
      report.results.filter(
        (result) => result.status !== 'skipped' || result.reason !== 'the run was aborted',
      ),
    ).toHaveLength(3);
    expect(report.results.length).toBe(report.summary.total);
    expect(report.cleanup.keys.length).toBeGreaterThan(0);
    expect(report.cleanup.keys.every((key) => key.action === 'scheduled-deletion')).toBe(true);
    expect(report.cleanup.keys.every((key) => key.group === 'keys')).toBe(true);
  });

  it('fails the checks of a group whose provider cannot be made, with the reason', async () => {
    let calls = 0;
    const report = await runConformance({
      createProvider: () => {
        calls += 1;
        if (calls > 1) throw new KeyswitchError('UNAVAILABLE', 'the HSM did not answer');
        return new MinimalProvider();
      },
      groups: ['random'],
    });
    expect(report.summary).toMatchObject({ total: 4, failed: 4 });
    expect(report.results[0]!.reason).toBe(
      'the provider could not be created: UNAVAILABLE ([keyswitch]: the HSM did not answer)',
    );
  });

  it('fails a check that outlives its time limit, and goes on', async () => {
    class StuckProvider extends MinimalProvider {
      protected override onGenerateRandom(): Promise<Uint8Array> {
        return new Promise(() => {});
      }
    }
    const report = await runConformance({
      provider: new StuckProvider(),
      groups: ['random'],
      timeoutMs: 100,
    });
    expect(report.results[0]).toMatchObject({ status: 'failed', reason: 'test timed out after 100 ms' });
  });

  it('refuses bad options with CONFIG_INVALID', async () => {
    const provider = new MinimalProvider();
    await runConformance({ provider, createProvider: () => provider }).catch(expectConfigInvalid);
    await runConformance({}).catch(expectConfigInvalid);
    await runConformance({ provider, label: 'has space' }).catch(expectConfigInvalid);
    await runConformance({ provider, keys: { 'RSA_2048:KEY_AGREEMENT': 'x' } }).catch(expectConfigInvalid);
    expect.assertions(5);
    try {
      conformance({
        describe: () => {},
        it: () => {},
        createProvider: () => provider,
        groups: ['nope' as 'keys'],
      });
    } catch (error) {
      expectConfigInvalid(error);
    }
  });
});
