// Telemetry off costs nothing: with no `telemetry` option, @opentelemetry/api is never loaded, by the
// ECMAScript build (every module the process resolves is recorded by a module hook) nor by the CommonJS
// build (require's cache). Each check has its control: the same process with `telemetry: true` does load
// it, so the check can fail. Also: `telemetry: true` without the package installed, and a CommonJS
// application whose providers the core's import of the API finds. Run on the built packages, in child
// processes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from './support/softhsm2-tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'keyswitch-telemetry-off-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dist = (name: string, file: string) => join(repositoryRoot, 'packages', name, 'dist', file);

/** Signs with a software-HSM key through a registry opened with `options`, then writes a marker line. */
const signOnce = (options: string, marker: string) => `
  {
    const ks = await Keyswitch.fromConfig(
      { environment: 'test', providers: { dev: { type: 'soft-hsm' } },
        keys: { 'acs-signing': { provider: 'dev', ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' } } },
      { providerFactories: { 'soft-hsm': providerFactory }, ${options} },
    );
    await (await ks.provider('dev')).createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'acs' });
    const signer = ks.signer('acs-signing');
    const message = new TextEncoder().encode('ARes');
    const signature = await signer.sign(message, { requestId: 'txn-1' });
    if (!(await signer.verify(message, signature))) throw new Error('signature did not verify');
    await ks.close();
    report(${JSON.stringify(marker)});
  }`;

describe('telemetry off', () => {
  it('the ECMAScript build never resolves @opentelemetry/api unless telemetry is on', () => {
    const log = join(dir, 'resolved.log');
    const hooks = `
      import { appendFileSync } from 'node:fs';
      let log;
      export function initialize(data) { log = data.log; }
      export async function resolve(specifier, context, next) {
        const result = await next(specifier, context);
        appendFileSync(log, result.url + '\\n');
        return result;
      }`;
    const register = `
      import { register } from 'node:module';
      register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)}, import.meta.url, { data: { log: ${JSON.stringify(log)} } });`;
    const main = `
      import { appendFileSync } from 'node:fs';
      const report = (marker) => appendFileSync(${JSON.stringify(log)}, marker + '\\n');
      const { Keyswitch } = await import(${JSON.stringify(pathToFileURL(dist('core', 'index.js')).href)});
      const { providerFactory } = await import(${JSON.stringify(pathToFileURL(dist('soft-hsm', 'index.js')).href)});
      ${signOnce('', 'OFF DONE')}
      ${signOnce('telemetry: true', 'ON DONE')}`;
    execFileSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', main],
      {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const off = lines.slice(0, lines.indexOf('OFF DONE'));
    const on = lines.slice(lines.indexOf('OFF DONE'), lines.indexOf('ON DONE'));
    expect(off.some((url) => url.includes('/packages/core/dist/index.js'))).toBe(true);
    expect(off.filter((url) => url.includes('opentelemetry'))).toEqual([]);
    expect(on.some((url) => url.includes('@opentelemetry/api'))).toBe(true);
  });

  it('the CommonJS build leaves require.cache without @opentelemetry/api', () => {
    const main = `
      const { Keyswitch } = require(${JSON.stringify(dist('core', 'index.cjs'))});
      const { providerFactory } = require(${JSON.stringify(dist('soft-hsm', 'index.cjs'))});
      const loaded = () => Object.keys(require.cache).filter((path) => path.includes('opentelemetry'));
      const report = (marker) => console.log(JSON.stringify({ marker, loaded: loaded(), modules: Object.keys(require.cache).length }));
      (async () => {
        ${signOnce('', 'off')}
        // The control: what telemetry: true loads (by import(), which the ECMAScript check above sees),
        // and then a require of the API from this build's own directory does appear here.
        ${signOnce('telemetry: true', 'on')}
        require(require.resolve('@opentelemetry/api', { paths: [${JSON.stringify(join(repositoryRoot, 'packages', 'core'))}] }));
        report('required');
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const output = execFileSync(process.execPath, ['-e', main], { cwd: dir, encoding: 'utf8' });
    const reports = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { marker: string; loaded: string[]; modules: number });
    expect(reports.map((report) => report.marker)).toEqual(['off', 'on', 'required']);
    expect(reports[0]!.modules).toBeGreaterThan(2);
    expect(reports[0]!.loaded).toEqual([]);
    expect(reports[2]!.loaded.length).toBeGreaterThan(0);
  });

  it('telemetry: true without @opentelemetry/api installed is CONFIG_INVALID saying what to install', () => {
    // A module hook makes the package unresolvable, as in an application that never installed it.
    const hooks = `
      export async function resolve(specifier, context, next) {
        if (specifier === '@opentelemetry/api') {
          const error = new Error("Cannot find package '@opentelemetry/api'");
          error.code = 'ERR_MODULE_NOT_FOUND';
          throw error;
        }
        return next(specifier, context);
      }`;
    const register = `
      import { register } from 'node:module';
      register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)}, import.meta.url);`;
    const main = `
      const { Keyswitch } = await import(${JSON.stringify(pathToFileURL(dist('core', 'index.js')).href)});
      const { providerFactory } = await import(${JSON.stringify(pathToFileURL(dist('soft-hsm', 'index.js')).href)});
      try {
        await Keyswitch.fromConfig({ environment: 'test', providers: { dev: { type: 'soft-hsm' } }, keys: {} },
          { providerFactories: { 'soft-hsm': providerFactory }, telemetry: true });
        console.log(JSON.stringify({ opened: true }));
      } catch (error) {
        console.log(JSON.stringify({ code: error.code, message: error.message }));
      }`;
    const output = execFileSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', main],
      { cwd: dir, encoding: 'utf8' },
    );
    const result = JSON.parse(output.trim()) as { code?: string; message?: string };
    expect(result.code).toBe('CONFIG_INVALID');
    expect(result.message).toMatch(/telemetry: true needs the @opentelemetry\/api package/);
    expect(result.message).toMatch(/meterProvider, tracerProvider/);
  });

  it('a CommonJS application: telemetry: true reports to the providers it registered with its own copy of the API', () => {
    // The application requires @opentelemetry/api (CommonJS); the core's CommonJS build imports the
    // API's ECMAScript build. Both find the providers on the one global OpenTelemetry keeps per process.
    const main = `
      const api = require('@opentelemetry/api');
      const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = require('@opentelemetry/sdk-metrics');
      const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
      const { Keyswitch } = require(${JSON.stringify(dist('core', 'index.cjs'))});
      const { providerFactory } = require(${JSON.stringify(dist('soft-hsm', 'index.cjs'))});
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
      api.metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
      const spans = new InMemorySpanExporter();
      api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
      const report = () => undefined;
      (async () => {
        ${signOnce('telemetry: true', 'on')}
        await reader.forceFlush();
        const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
        const calls = metrics.find((m) => m.descriptor.name === 'keyswitch.operations');
        console.log(JSON.stringify({
          spans: spans.getFinishedSpans().map((span) => [span.name, span.attributes['keyswitch.request_id']]),
          calls: calls.dataPoints.map((point) => [point.attributes['keyswitch.operation'], point.value]),
        }));
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const output = execFileSync(process.execPath, ['-e', main], {
      cwd: join(repositoryRoot, 'test'),
      encoding: 'utf8',
    });
    expect(JSON.parse(output.trim())).toEqual({
      spans: [
        ['keyswitch.sign', 'txn-1'],
        ['keyswitch.verify', null], // no request id (JSON writes the absent attribute as null)
      ],
      calls: [
        ['sign', 1],
        ['verify', 1],
      ],
    });
  });
});
