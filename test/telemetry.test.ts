// Telemetry on the software HSM, read back through the OpenTelemetry SDK's in-memory exporters: one span
// and one count per handle call with the key, provider, operation and outcome (an error code for a
// failed call), the caller's request id in the audit events (the hash-chained file still verifies, by
// the library and by `keyswitch audit verify`) and in the span, and the logger in place of process
// warnings. Signatures are checked by node:crypto. No duration is asserted.
import { verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TELEMETRY_ATTRIBUTES as A,
  type AuditEvent,
  isKeyswitchError,
  Keyswitch,
  type KeyswitchConfigInput,
  type KeyswitchLogger,
  TELEMETRY_METRICS as M,
  verifyAuditFile,
} from '@keyswitch/core';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../packages/cli/test/cli-harness.js';
import { signWithTelemetry } from './docs/telemetry-example.js';
import { repositoryRoot } from './support/softhsm2-tokens.js';
import { type InMemoryTelemetry, inMemoryTelemetry, points, pointValue } from './support/telemetry-sdk.js';

const dir = mkdtempSync(join(tmpdir(), 'keyswitch-telemetry-'));
const message = new TextEncoder().encode('{"messageType":"ARes","transStatus":"Y"}');
const pan = new TextEncoder().encode('4111111111111111');

const config = (audit = false): KeyswitchConfigInput => ({
  environment: 'test',
  providers: { dev: { type: 'soft-hsm' } },
  keys: {
    'acs-signing': { provider: 'dev', ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
    'pan-kek': { provider: 'dev', ref: 'kek', spec: 'SYMMETRIC_DEFAULT' },
  },
  ...(audit ? { audit: { file: join(dir, `audit-${Date.now()}.jsonl`), fsync: 'never' as const } } : {}),
});

let opened: Keyswitch[] = [];
let sdks: InMemoryTelemetry[] = [];
afterEach(async () => {
  for (const ks of opened) await ks.close();
  for (const sdk of sdks) await sdk.shutdown();
  opened = [];
  sdks = [];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(options: Parameters<typeof Keyswitch.fromConfig>[1] = {}, audit = false) {
  const ks = await Keyswitch.fromConfig(config(audit), options);
  opened.push(ks);
  const dev = await ks.provider('dev');
  await dev.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'acs' });
  await dev.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label: 'kek' });
  return ks;
}

function sdk(): InMemoryTelemetry {
  const created = inMemoryTelemetry();
  sdks.push(created);
  return created;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isKeyswitchError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a KeyswitchError');
}

const call = (key: string, operation: string, outcome = 'success') => ({
  [A.key]: key,
  [A.provider]: 'dev',
  [A.operation]: operation,
  [A.outcome]: outcome,
});

describe('telemetry on the software HSM', () => {
  it('counts and times every handle call by key, provider, operation and outcome; a failure records its code', async () => {
    const telemetry = sdk();
    const ks = await open({ telemetry: telemetry });
    const acs = ks.signer('acs-signing');
    const kek = ks.encrypter('pan-kek');
    const signatures = [await acs.sign(message), await acs.sign(message), await acs.sign(message)];
    const spki = (await acs.publicKey()).spki;
    for (const signature of signatures) {
      expect(
        cryptoVerify('sha256', message, { key: Buffer.from(spki), format: 'der', type: 'spki' }, signature),
      ).toBe(true);
    }
    expect(await acs.verify(message, signatures[0]!)).toBe(true);
    const ciphertext = await kek.encrypt(pan, { context: { tenant: 't1' } });
    expect(await kek.decrypt(ciphertext, { context: { tenant: 't1' } })).toEqual(pan);
    expect(await codeOf(kek.decrypt(ciphertext, { context: { tenant: 't2' } }))).toBe('INVALID_CIPHERTEXT');

    const metrics = await telemetry.metrics();
    const expected: Array<[Record<string, string>, number]> = [
      [call('acs-signing', 'sign'), 3],
      [call('acs-signing', 'getPublicKey'), 1],
      [call('acs-signing', 'verify'), 1],
      [call('pan-kek', 'encrypt'), 1],
      [call('pan-kek', 'decrypt'), 1],
      [call('pan-kek', 'decrypt', 'INVALID_CIPHERTEXT'), 1],
    ];
    for (const [attributes, count] of expected) {
      expect(pointValue(metrics, M.operations, attributes), JSON.stringify(attributes)).toBe(count);
      expect((pointValue(metrics, M.duration, attributes) as Histogram).count).toBe(count);
    }
    // Nothing else was counted (the backend's own key checks are not handle calls), and no attribute
    // holds anything but names, operations and outcomes.
    expect(points(metrics, M.operations)).toHaveLength(expected.length);
    const values = new Set(points(metrics, M.duration).flatMap((point) => Object.values(point.attributes)));
    expect([...values].sort()).toEqual(
      ['INVALID_CIPHERTEXT', 'acs-signing', 'decrypt', 'dev', 'encrypt', 'getPublicKey', 'pan-kek', 'sign']
        .concat(['success', 'verify'])
        .sort(),
    );
    expect(metrics.find((metric) => metric.descriptor.name === M.duration)?.descriptor.unit).toBe('s');

    const spans = telemetry.spans();
    expect(spans.map((span) => span.name).sort()).toEqual(
      [
        'keyswitch.decrypt',
        'keyswitch.decrypt',
        'keyswitch.encrypt',
        'keyswitch.getPublicKey',
        'keyswitch.sign',
        'keyswitch.sign',
        'keyswitch.sign',
        'keyswitch.verify',
      ].sort(),
    );
    const failed = spans.filter((span) => span.status.code === 2);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      name: 'keyswitch.decrypt',
      status: { code: 2, message: 'INVALID_CIPHERTEXT' },
      attributes: { ...call('pan-kek', 'decrypt', 'INVALID_CIPHERTEXT'), 'error.type': 'INVALID_CIPHERTEXT' },
    });
    expect(spans.find((span) => span.name === 'keyswitch.sign')?.attributes).toEqual(
      call('acs-signing', 'sign'),
    );
  });

  it('a requestId reaches the audit events and the span; the audit file still verifies, in the library and the CLI', async () => {
    const telemetry = sdk();
    const events: AuditEvent[] = [];
    const ks = await open({ telemetry, onAudit: (event) => events.push(event) }, true);
    const requestId = '3ds-txn 8f14e45f-ceea-467f-a0e6-0c7d1f4c8f5b';
    await ks.signer('acs-signing').sign(message, { requestId });
    await ks.encrypter('pan-kek').encrypt(pan, { requestId: 'ré-2 ✓' });
    await ks.signer('acs-signing').sign(message);
    const operations = events.filter((event) => event.operation !== 'createKey');
    // The key's one-time check at its first use is part of that call, and carries its id too.
    expect(operations.map((event) => [event.operation, event.requestId])).toEqual([
      ['describeKey', requestId],
      ['sign', requestId],
      ['describeKey', 'ré-2 ✓'],
      ['encrypt', 'ré-2 ✓'],
      ['sign', undefined],
    ]);
    expect(telemetry.spans().map((span) => span.attributes[A.requestId])).toEqual([
      requestId,
      'ré-2 ✓',
      undefined,
    ]);
    // The request id is never a metric attribute (one series per request would swamp the backend).
    const metrics = await telemetry.metrics();
    expect(points(metrics, M.operations).every((point) => !(A.requestId in point.attributes))).toBe(true);

    const file = ks.auditFile!.path;
    await ks.close();
    const report = await verifyAuditFile(file);
    expect(report).toMatchObject({ ok: true });
    const cli = await runCli(['audit', 'verify', file]);
    expect(cli.stdout).toMatch(/intact, \d+ records/);
    expect(cli.exitCode).toBe(0);
  });

  it('refuses a requestId that is not a short printable string, before any backend call and with telemetry off', async () => {
    const events: AuditEvent[] = [];
    const ks = await open({ onAudit: (event) => events.push(event) });
    const acs = ks.signer('acs-signing');
    const bad: unknown[] = [
      42,
      '',
      'x'.repeat(129),
      'a\nforged: line',
      'tab\there',
      '\u202eevil',
      'a\u2028b',
      '\ud800',
    ];
    const before = events.length;
    for (const requestId of bad) {
      expect(
        await codeOf(acs.sign(message, { requestId: requestId as string })),
        JSON.stringify(requestId),
      ).toBe('INVALID_INPUT');
    }
    expect(events.length).toBe(before);
    // The same check when a provider is called directly, and nothing is audited.
    const dev = await ks.provider('dev');
    const ref = ks.keyConfig('acs-signing').ref;
    expect(
      await codeOf(dev.sign({ ref, algorithm: 'ECDSA_SHA_256', message }, { requestId: 'a\r\nb' })),
    ).toBe('INVALID_INPUT');
    expect(events.length).toBe(before);
    // The longest and the widest accepted ids pass, telemetry off.
    await acs.publicKey();
    const checked = events.length;
    await acs.sign(message, { requestId: 'x'.repeat(128) });
    await acs.sign(message, { requestId: 'txn-😀' });
    expect(events.slice(checked).map((event) => event.requestId)).toEqual(['x'.repeat(128), 'txn-😀']);
  });

  it('with a logger, an audit listener that throws is logged instead of becoming a process warning', async () => {
    const lines: Array<[string, object, string]> = [];
    const logger: KeyswitchLogger = {
      error: (object, text) => lines.push(['error', object, text ?? '']),
      warn: (object, text) => lines.push(['warn', object, text ?? '']),
      info: (object, text) => lines.push(['info', object, text ?? '']),
      debug: (object, text) => lines.push(['debug', object, text ?? '']),
    };
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const ks = await open({
        logger,
        onAudit: () => {
          throw new Error('listener down');
        },
      });
      await ks.signer('acs-signing').sign(message);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(lines).toContainEqual([
      'error',
      { error: 'listener down', component: 'keyswitch' },
      'an audit listener threw',
    ]);
    expect(warnings.filter((warning) => warning.message.includes('listener down'))).toEqual([]);
  });

  it('refuses a logger without pino methods and a telemetry option of the wrong shape', async () => {
    expect(await codeOf(Keyswitch.fromConfig(config(), { logger: { warn() {} } as never }))).toBe(
      'CONFIG_INVALID',
    );
    expect(await codeOf(Keyswitch.fromConfig(config(), { telemetry: { meterProvider: {} } as never }))).toBe(
      'CONFIG_INVALID',
    );
  });

  it('telemetry: true reports to the global OpenTelemetry providers', async () => {
    const { metrics, trace } = await import('@opentelemetry/api');
    const telemetry = sdk();
    expect(metrics.setGlobalMeterProvider(telemetry.meterProvider)).toBe(true);
    expect(trace.setGlobalTracerProvider(telemetry.tracerProvider)).toBe(true);
    try {
      const ks = await open({ telemetry: true });
      await ks.signer('acs-signing').sign(message, { requestId: 'global-1' });
      expect(pointValue(await telemetry.metrics(), M.operations, call('acs-signing', 'sign'))).toBe(1);
      expect(telemetry.spans().map((span) => span.attributes[A.requestId])).toEqual(['global-1']);
    } finally {
      metrics.disable();
      trace.disable();
    }
  });

  it("docs/telemetry.md's example runs as written, on a keystore the key was created in", async () => {
    const docs = readFileSync(join(repositoryRoot, 'docs', 'telemetry.md'), 'utf8');
    const block = /<!-- snippet: runs-as test\/docs\/telemetry-example.ts -->\n```ts\n([\s\S]*?)\n```/.exec(
      docs,
    )?.[1];
    const example = readFileSync(join(repositoryRoot, 'test', 'docs', 'telemetry-example.ts'), 'utf8');
    const body = /\/\/ docs:begin\n([\s\S]*?)\n\s*\/\/ docs:end/.exec(example)?.[1];
    const dedent = (text: string | undefined) =>
      text
        ?.split('\n')
        .map((line) => line.replace(/^ {2}/, ''))
        .join('\n');
    expect(block).toBeDefined();
    expect(dedent(body)).toBe(block);

    process.env.KEYSWITCH_TELEMETRY_PASSPHRASE = 'telemetry docs example passphrase';
    const keystore: KeyswitchConfigInput = {
      environment: 'test',
      providers: {
        dev: {
          type: 'soft-hsm',
          keystore: join(dir, 'docs.keystore'),
          passphrase: { env: 'KEYSWITCH_TELEMETRY_PASSPHRASE' },
        },
      },
      keys: {
        'acs-signing': { provider: 'dev', ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
      },
    };
    const setup = await Keyswitch.fromConfig(keystore);
    await (await setup.provider('dev')).createKey({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      label: 'acs',
    });
    const spki = (await setup.signer('acs-signing').publicKey()).spki;
    await setup.close();
    const telemetry = sdk();
    const logged: unknown[] = [];
    const logger = {
      error: () => {},
      warn: (object: object) => logged.push(object),
      info: () => {},
      debug: () => {},
    };
    const signature = await signWithTelemetry(
      keystore,
      telemetry.meterProvider,
      telemetry.tracerProvider,
      logger,
      message,
    );
    expect(
      cryptoVerify('sha256', message, { key: Buffer.from(spki), format: 'der', type: 'spki' }, signature),
    ).toBe(true);
    expect(telemetry.spans().map((span) => [span.name, span.attributes[A.requestId]])).toEqual([
      ['keyswitch.sign', 'txn-8f14e45f'],
    ]);
    expect(pointValue(await telemetry.metrics(), M.operations, call('acs-signing', 'sign'))).toBe(1);
    expect(logged).toEqual([]);
  });

  it('a key with versions: the request id reaches the audit events and spans of each version asked', async () => {
    const telemetry = sdk();
    const warned: Array<[object, string | undefined]> = [];
    const logger: KeyswitchLogger = {
      error: () => {},
      warn: (object, text) => warned.push([object, text]),
      info: () => {},
      debug: () => {},
    };
    const events: AuditEvent[] = [];
    const ks = await Keyswitch.fromConfig(
      {
        ...config(),
        keys: {
          ...config().keys,
          'acs-2025': { provider: 'dev', ref: 'acs-2025', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
        },
        versions: {
          'acs-signing': {
            versions: [
              { id: '2025', key: 'acs-2025' },
              { id: '2026', key: 'acs-signing' },
            ],
          },
          'acs-overdue': {
            cryptoperiodDays: 30,
            cryptoperiodEnforcement: 'warn',
            versions: [{ id: '2020', key: 'acs-2025', createdAt: '2020-01-01' }],
          },
        },
      },
      { telemetry, onAudit: (event) => events.push(event), logger },
    );
    opened.push(ks);
    const dev = await ks.provider('dev');
    await dev.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'acs' });
    await dev.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'acs-2025' });
    const old = await ks.signer('acs-2025').sign(message);
    events.length = 0;
    const signer = ks.signer('acs-signing');
    const signature = await signer.sign(message, { requestId: 'rot-1' });
    expect(await signer.verify(message, old, { requestId: 'rot-2' })).toBe(true);
    expect(await signer.verify(message, signature, { requestId: 'rot-3' })).toBe(true);
    const keyOperations = events.filter(
      (event) => event.operation === 'sign' || event.operation === 'verify',
    );
    expect(keyOperations.length).toBeGreaterThanOrEqual(3);
    expect(keyOperations.every((event) => event.requestId?.startsWith('rot-'))).toBe(true);
    expect(events.filter((event) => event.requestId === undefined)).toEqual([]);
    const spans = telemetry
      .spans()
      .filter((span) => span.attributes[A.requestId]?.toString().startsWith('rot-'));
    expect(
      spans.filter((span) => span.name === 'keyswitch.sign').map((span) => span.attributes[A.requestId]),
    ).toEqual(['rot-1']);
    expect(
      new Set(
        spans.filter((span) => span.name === 'keyswitch.verify').map((span) => span.attributes[A.requestId]),
      ),
    ).toEqual(new Set(['rot-2', 'rot-3']));
    // A version past its cryptoperiod (enforcement `warn`) is a log line, not a process warning.
    await ks.signer('acs-overdue').sign(message, { requestId: 'rot-4' });
    expect(warned).toContainEqual([
      expect.objectContaining({ type: 'cryptoperiod-expired', keyName: 'acs-overdue', keyVersion: '2020' }),
      expect.stringMatching(/^key version cryptoperiod ended /),
    ]);
  });
});
