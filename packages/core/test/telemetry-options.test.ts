// The telemetry and logger options on their own: what is refused and how, a logger that throws, the
// breaker's state changes, an audit file failure reported to the logger, and the outcome of a call that
// fails with something other than a KeyswitchError.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitState, isKeyswitchError, logSafely } from '../src/index.js';
import { CallObserver } from '../src/telemetry/call-observer.js';
import { Observer } from '../src/telemetry/observer.js';
import type { TelemetryAttributes, TelemetrySpan } from '../src/telemetry/otel-types.js';
import { resolveTelemetry } from '../src/telemetry/telemetry-options.js';

function recordingLogger() {
  const lines: Array<[string, object, string | undefined]> = [];
  const at = (level: string) => (object: object, message?: string) => lines.push([level, object, message]);
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isKeyswitchError(error) ? error.code : 'not a KeyswitchError';
  }
}

describe('telemetry options', () => {
  it('off is undefined; providers of the wrong shape are CONFIG_INVALID', async () => {
    expect(await resolveTelemetry(undefined)).toBeUndefined();
    expect(await resolveTelemetry(false)).toBeUndefined();
    expect(await resolveTelemetry({})).toBeUndefined();
    expect(await Observer.create({})).toBeUndefined();
    expect(await codeOf(resolveTelemetry('yes' as never))).toBe('CONFIG_INVALID');
    expect(await codeOf(resolveTelemetry({ tracerProvider: {} as never }))).toBe('CONFIG_INVALID');
    expect(await codeOf(resolveTelemetry({ meterProvider: { getMeter: 1 } as never }))).toBe(
      'CONFIG_INVALID',
    );
    expect(await codeOf(Observer.create({ logger: { error() {}, warn() {}, info() {} } as never }))).toBe(
      'CONFIG_INVALID',
    );
  });

  it('a logger that throws loses its line, never the caller', () => {
    const throwing = {
      error: () => {
        throw new Error('log sink down');
      },
      warn: () => {},
      info: () => {},
      debug: () => {},
    };
    expect(() => logSafely(throwing, 'error', { a: 1 }, 'x')).not.toThrow();
  });

  it("logs the breaker's state changes and the audit file's failures", async () => {
    const { lines, logger } = recordingLogger();
    const observer = (await Observer.create({ logger }))!;
    const seen: CircuitState[] = [];
    let now = 0;
    const breaker = new CircuitBreaker(
      observer.breakerOptions('kms', {
        failures: 1,
        coolDownMs: 10,
        clock: () => now,
        onStateChange: (state) => seen.push(state),
      }),
    );
    breaker.failed();
    now += 10;
    expect(breaker.allows()).toBe(true);
    breaker.succeeded();
    breaker.succeeded(); // already closed: nothing new
    expect(seen).toEqual(['open', 'half-open', 'closed']);
    expect(lines.map(([level, object]) => [level, (object as { state: string }).state])).toEqual([
      ['warn', 'open'],
      ['info', 'half-open'],
      ['info', 'closed'],
    ]);
    observer
      .auditFileOptions('audit/keyswitch.jsonl')
      .onError?.(new Error('ENOSPC: no space left on device'));
    expect(lines.at(-1)).toEqual([
      'error',
      { path: 'audit/keyswitch.jsonl', error: 'ENOSPC: no space left on device', component: 'keyswitch' },
      'audit file failure',
    ]);
    // Without a logger the options are left as given.
    const base = { failures: 2 };
    const quiet = (await Observer.create({
      telemetry: { tracerProvider: { getTracer: () => tracer([]) } },
    }))!;
    expect(quiet.breakerOptions('kms', base)).toBe(base);
    expect(quiet.auditFileOptions('x')).toEqual({});
    quiet.start(() => ({}));
    quiet.close();
  });

  it('a call that fails with something other than a KeyswitchError is INTERNAL on its span', async () => {
    const spans: Array<{ attributes: TelemetryAttributes; status?: { code: number; message?: string } }> = [];
    const observer = new CallObserver({ meter: undefined, tracer: tracer(spans) }, undefined);
    const key = { name: 'acs-signing', providerName: 'hsm', call: { keyName: 'acs-signing' } };
    await expect(
      observer.observe(key, 'sign', key.call, () => Promise.reject(new TypeError('bug'))),
    ).rejects.toThrow('bug');
    expect(spans).toEqual([
      {
        attributes: {
          'keyswitch.key': 'acs-signing',
          'keyswitch.operation': 'sign',
          'keyswitch.provider': 'hsm',
          'keyswitch.outcome': 'INTERNAL',
          'error.type': 'INTERNAL',
        },
        status: { code: 2, message: 'INTERNAL' },
      },
    ]);
  });
});

/** A tracer that records each span's attributes and status. */
function tracer(
  spans: Array<{ attributes: TelemetryAttributes; status?: { code: number; message?: string } }>,
) {
  return {
    startActiveSpan<F extends (span: TelemetrySpan) => unknown>(
      _name: string,
      options: { attributes?: TelemetryAttributes },
      fn: F,
    ): ReturnType<F> {
      const recorded: { attributes: TelemetryAttributes; status?: { code: number; message?: string } } = {
        attributes: { ...options.attributes },
      };
      spans.push(recorded);
      return fn({
        setAttribute: (name, value) => {
          recorded.attributes[name] = value;
        },
        addEvent: () => undefined,
        setStatus: (status) => {
          recorded.status = status;
        },
        end: () => undefined,
      }) as ReturnType<F>;
    },
  };
}
