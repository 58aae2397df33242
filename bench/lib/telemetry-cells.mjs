/**
 * The telemetry cells of one backend, in a process of its own (started by bench/telemetry.mjs):
 * with `baseline`, today's core with telemetry off against the core of a commit before telemetry; keyswitch
 * with telemetry off against itself (the noise of the run); then each telemetry setting against telemetry
 * off; in alternating segments (see measure.mjs), on the same key and provider object. Usage:
 *   node bench/lib/telemetry-cells.mjs soft-hsm|pkcs11 OPTIONS_JSON RESULT_FILE
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compare, stopControl } from './measure.mjs';
import { log, PAYLOAD } from './suite.mjs';
import { importPackage, ROOT } from './workspace.mjs';

const [backend, optionsJson, resultFile] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
const { Keyswitch } = await importPackage('core');
// The OpenTelemetry SDK as an application sets it up: metrics aggregated in memory (exported far less
// often than a window lasts), spans batched to an exporter that drops them.
const require = createRequire(join(ROOT, 'bench', 'package.json'));
const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } =
  require('@opentelemetry/sdk-metrics');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');

const dropSpans = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };
const meterProvider = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    }),
  ],
});
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropSpans)] });
const silentLogger = { error() {}, warn() {}, info() {}, debug() {} };
// Providers that do nothing: what is left is keyswitch's own share of the cost of telemetry.
const noopSpan = { setAttribute() {}, addEvent() {}, setStatus() {}, end() {} };
const noop = {
  meterProvider: {
    getMeter: () => ({
      createCounter: () => ({ add() {} }),
      createHistogram: () => ({ record() {} }),
      createObservableGauge: () => ({ addCallback() {}, removeCallback() {} }),
    }),
  },
  tracerProvider: { getTracer: () => ({ startActiveSpan: (_name, _options, fn) => fn(noopSpan) }) },
};

const providers = {
  'soft-hsm': { type: 'soft-hsm' },
  pkcs11: {
    type: 'pkcs11',
    profile: 'softhsm',
    module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
    token: { label: 'keyswitch' },
    pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
  },
};
const ref = backend === 'pkcs11' ? 'pkcs11:object=bench-telemetry-acs;type=private' : 'bench-telemetry-acs';
const config = {
  environment: 'test',
  providers: { hsm: providers[backend] },
  keys: { 'acs-signing': { provider: 'hsm', ref, spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' } },
};

/** A registry with `options`, its signer warmed up (the key checked, the provider open). */
async function signerWith(registryOptions, keyOwner) {
  const ks = await Keyswitch.fromConfig(config, registryOptions);
  if (keyOwner) {
    await (await ks.provider('hsm')).createKey({
      spec: 'ECC_NIST_P256',
      usage: 'SIGN_VERIFY',
      label: 'bench-telemetry-acs',
    });
  }
  const signer = ks.signer('acs-signing');
  await signer.sign(message);
  return { ks, signer };
}

const message = new Uint8Array(PAYLOAD.sign).fill(7);
// Every registry uses the first one's provider object (the software HSM keeps keys per instance; a
// PKCS#11 provider has its own worker threads and sessions): the registries differ in telemetry only.
const { providerFactory } = await importPackage(backend);
const owner = await signerWith({ providerFactories: { [providers[backend].type]: providerFactory } }, true);
const provider = owner.ks.provider('hsm');
const type = providers[backend].type;
const shared = { providerFactories: { [type]: { type, parseConfig: (raw) => raw, create: () => provider } } };
const off = owner;
const offAgain = await signerWith(shared);
const settings = [];
if (options.baseline) {
  // Today's core with telemetry off, against the core of a commit before telemetry existed.
  const { Keyswitch: Before } = await import(pathToFileURL(options.baseline.file).href);
  const before = await Before.fromConfig(config, shared);
  const signer = before.signer('acs-signing');
  await signer.sign(message);
  settings.push({
    id: 'off-vs-before',
    label: 'telemetry off',
    against: { ks: before, signer },
    againstLabel: `the core before telemetry (${options.baseline.commit})`,
    a: offAgain,
    sign: {},
  });
}
settings.push(
  { id: 'off-vs-off', label: 'telemetry off (the noise: two identical registries)', a: offAgain, sign: {} },
  { id: 'request-id', label: 'requestId given, telemetry off', a: off, sign: { requestId: 'txn-8f14e45f' } },
  {
    id: 'logger',
    label: 'a logger only',
    a: await signerWith({ ...shared, logger: silentLogger }),
    sign: {},
  },
  {
    id: 'noop-providers',
    label: "metrics and spans to providers that do nothing (keyswitch's own share)",
    a: await signerWith({ ...shared, telemetry: noop }),
    sign: { requestId: 'txn-8f14e45f' },
  },
  {
    id: 'metrics',
    label: 'metrics (OpenTelemetry SDK)',
    a: await signerWith({ ...shared, telemetry: { meterProvider } }),
    sign: {},
  },
  {
    id: 'metrics-spans',
    label: 'metrics and spans (OpenTelemetry SDK)',
    a: await signerWith({ ...shared, telemetry: { meterProvider, tracerProvider } }),
    sign: { requestId: 'txn-8f14e45f' },
  },
);

// Every path warmed up (compiled, caches filled) before the first cell, so the first is not the slowest.
const warmUntil = performance.now() + options.warmupMs * 5;
while (performance.now() < warmUntil) {
  await Promise.all(
    settings
      .flatMap((setting) => [setting.a, setting.against ?? off])
      .map(({ signer }) => signer.sign(message)),
  );
}
const cells = [];
for (const setting of settings) {
  for (const concurrency of options.concurrencies) {
    const result = await compare(
      {
        keyswitch: () => setting.a.signer.sign(message, setting.sign),
        raw: () => (setting.against ?? off).signer.sign(message),
      },
      { concurrency, durationMs: options.durationMs, warmupMs: options.warmupMs },
    );
    const errors = result.keyswitch.errors + result.raw.errors;
    if (errors > 0) throw new Error(`${setting.id}: ${result.keyswitch.firstError ?? result.raw.firstError}`);
    cells.push({
      backend,
      setting: setting.id,
      label: setting.label,
      against: setting.againstLabel ?? 'telemetry off',
      concurrency,
      opsPerSecond: result.keyswitch.opsPerSecond,
      againstOpsPerSecond: result.raw.opsPerSecond,
      p50Ms: result.keyswitch.p50Ms,
      offP50Ms: result.raw.p50Ms,
      ratio: result.ratio,
    });
    log(
      `${backend} ${setting.id} x${concurrency}: ${result.keyswitch.opsPerSecond}/s vs off ${result.raw.opsPerSecond}/s, ratio ${result.ratio}`,
    );
  }
}
// The shared provider closes with the last registry (its close waits for nothing in flight by then).
const registries = new Set(settings.flatMap((setting) => [setting.a, setting.against ?? off]));
registries.delete(off);
for (const { ks } of [...registries, off]) await ks.close();
await meterProvider.shutdown();
await tracerProvider.shutdown();
await stopControl();
await writeFile(resultFile, JSON.stringify(cells));
