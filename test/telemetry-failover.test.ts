// Failover as telemetry shows it, on real backends: one key imported into two kms-local servers (two
// AWS Regions, reached through the real AWS SDK over HTTP). With one server stopped, a call answered by
// the replica carries a failover span event naming the provider it left and why, the failover counter
// and the operation counter name the providers, the logger hears of the move and of the breaker opening,
// and the breaker gauge reads open; once the server is back, a probe closes the breaker (logged, gauge 0).
// node:crypto verifies every signature.
import { generateKeyPairSync, verify } from 'node:crypto';
import { providerFactory as awsKms } from '@keyswitch/aws-kms';
import {
  TELEMETRY_ATTRIBUTES as A,
  FAILOVER_EVENT,
  Keyswitch,
  type KeyswitchConfigInput,
  type KeyswitchLogger,
  TELEMETRY_METRICS as M,
} from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultySoftHsm } from './support/faulty-soft-hsm.js';
import { kmsLocalProvider } from './support/kms-local-provider.js';
import { inMemoryTelemetry, pointValue } from './support/telemetry-sdk.js';

const message = new TextEncoder().encode('AReq: one key, two Regions');
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });

interface Region {
  readonly hsm: SoftHsm;
  server: KmsLocalServer;
  port: number;
  ref: string;
}
const regions: Region[] = [];

function kmsProvider(region: Region) {
  return kmsLocalProvider(`http://127.0.0.1:${region.port}`, {
    maxAttempts: 1,
    connectionTimeoutMs: 500,
    requestTimeoutMs: 2_000,
  });
}

beforeAll(async () => {
  process.env.KMS_LOCAL_SECRET_ACCESS_KEY = KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey;
  for (let index = 0; index < 2; index += 1) {
    const hsm = await SoftHsm.open();
    const server = await startKmsLocal({ port: 0, provider: hsm, closeProvider: false });
    const region: Region = { hsm, server, port: Number(new URL(server.endpoint).port), ref: '' };
    const setup = await Keyswitch.fromConfig(
      { environment: 'test', providers: { kms: kmsProvider(region) }, keys: {} },
      { providerFactories: { 'aws-kms': awsKms } },
    );
    const pkcs8 = new Uint8Array(signing.privateKey.export({ format: 'der', type: 'pkcs8' }));
    region.ref = (
      await (await setup.provider('kms')).importKey({ label: 'acs-signing', usage: 'SIGN_VERIFY', pkcs8 })
    ).ref;
    await setup.close();
    regions.push(region);
  }
});

afterAll(async () => {
  for (const region of regions) {
    await region.server.close().catch(() => undefined);
    await region.hsm.close();
  }
});

describe('telemetry of failover across kms-local replicas', () => {
  it('shows the move to the replica, the breaker opening and closing, in spans, metrics and the log', async () => {
    const [east, west] = regions as [Region, Region];
    const config: KeyswitchConfigInput = {
      environment: 'test',
      providers: { east: kmsProvider(east), west: kmsProvider(west) },
      keys: {
        'acs-signing': {
          provider: 'east',
          ref: east.ref,
          spec: 'ECC_NIST_P256',
          algorithm: 'ECDSA_SHA_256',
          replicas: [{ provider: 'west', ref: west.ref }],
        },
      },
    };
    const telemetry = inMemoryTelemetry();
    const lines: Array<{ level: string; object: Record<string, unknown>; text: string }> = [];
    const record =
      (level: string) =>
      (object: object, text = '') =>
        lines.push({ level, object: object as Record<string, unknown>, text });
    const logger: KeyswitchLogger = {
      error: record('error'),
      warn: record('warn'),
      info: record('info'),
      debug: record('debug'),
    };
    let now = 0;
    const ks = await Keyswitch.fromConfig(config, {
      providerFactories: { 'aws-kms': awsKms },
      telemetry,
      logger,
      circuitBreaker: { failures: 1, coolDownMs: 1_000, clock: () => now },
    });
    const acs = ks.signer('acs-signing');
    const signed = async (requestId: string) => {
      const signature = await acs.sign(message, { requestId });
      expect(verify('sha256', message, signing.publicKey, signature)).toBe(true);
    };
    try {
      // Both Regions up: each copy is checked, the key's own answers.
      await signed('before');
      await east.server.close();
      await signed('moved'); // east refuses the connection; west answers
      await signed('skipped'); // east's breaker is open: west at once, no move

      const spans = telemetry.spans().filter((span) => span.name === 'keyswitch.sign');
      expect(spans.map((span) => [span.attributes[A.requestId], span.attributes[A.provider]])).toEqual([
        ['before', 'east'],
        ['moved', 'west'],
        ['skipped', 'west'],
      ]);
      expect(spans.map((span) => span.events.map((event) => [event.name, event.attributes]))).toEqual([
        [],
        [[FAILOVER_EVENT, { [A.provider]: 'east', [A.outcome]: 'UNAVAILABLE' }]],
        [],
      ]);
      let metrics = await telemetry.metrics();
      const sign = { [A.key]: 'acs-signing', [A.operation]: 'sign' };
      expect(
        pointValue(metrics, M.operations, { ...sign, [A.provider]: 'east', [A.outcome]: 'success' }),
      ).toBe(1);
      expect(
        pointValue(metrics, M.operations, { ...sign, [A.provider]: 'west', [A.outcome]: 'success' }),
      ).toBe(2);
      expect(
        pointValue(metrics, M.failovers, { ...sign, [A.provider]: 'east', [A.outcome]: 'UNAVAILABLE' }),
      ).toBe(1);
      expect(pointValue(metrics, M.breakerState, { [A.provider]: 'east' })).toBe(2);
      expect(pointValue(metrics, M.breakerState, { [A.provider]: 'west' })).toBe(0);
      expect(lines.filter((line) => line.level === 'warn')).toEqual([
        {
          level: 'warn',
          object: { provider: 'east', state: 'open', component: 'keyswitch' },
          text: 'circuit breaker opened: calls skip this provider until its cool-down ends',
        },
        {
          level: 'warn',
          object: {
            key: 'acs-signing',
            operation: 'sign',
            provider: 'east',
            errorCode: 'UNAVAILABLE',
            requestId: 'moved',
            component: 'keyswitch',
          },
          text: "a provider failed; the call moves to the key's next replica",
        },
      ]);

      // East serves again; after the cool-down one probe goes there and closes its breaker.
      east.server = await startKmsLocal({ port: east.port, provider: east.hsm, closeProvider: false });
      now += 1_000;
      await signed('probe');
      expect(telemetry.spans().at(-1)?.attributes[A.provider]).toBe('east');
      expect(lines.slice(-2).map((line) => [line.level, line.object.state])).toEqual([
        ['info', 'half-open'],
        ['info', 'closed'],
      ]);
      metrics = await telemetry.metrics();
      expect(pointValue(metrics, M.breakerState, { [A.provider]: 'east' })).toBe(0);
    } finally {
      await ks.close();
      await telemetry.shutdown();
    }
  });
});

describe('telemetry of a hedged call (a fault layer over real software HSMs)', () => {
  it('names the copy that answered; a copy that failed before the hedge is a failover, one that hangs is not', async () => {
    const { factory: faulty, fault } = faultySoftHsm();
    const telemetry = inMemoryTelemetry();
    const ks = await Keyswitch.fromConfig(
      {
        environment: 'test',
        providers: { faulty: { type: 'faulty-hsm' }, spare: { type: 'soft-hsm' } },
        keys: {
          'acs-signing': {
            provider: 'faulty',
            ref: 'acs',
            spec: 'ECC_NIST_P256',
            algorithm: 'ECDSA_SHA_256',
            replicas: [{ provider: 'spare', ref: 'acs' }],
            hedge: { afterMs: 20 },
          },
        },
      },
      { providerFactories: { 'faulty-hsm': faulty }, telemetry, circuitBreaker: { coolDownMs: 600_000 } },
    );
    try {
      const pkcs8 = new Uint8Array(signing.privateKey.export({ format: 'der', type: 'pkcs8' }));
      for (const name of ['faulty', 'spare'])
        await (await ks.provider(name)).importKey({ label: 'acs', usage: 'SIGN_VERIFY', pkcs8 });
      const acs = ks.signer('acs-signing');
      const signed = async (requestId: string) =>
        expect(verify('sha256', message, signing.publicKey, await acs.sign(message, { requestId }))).toBe(
          true,
        );
      await signed('both-up');
      fault.mode = 'hang';
      await signed('hedged'); // the first copy hangs: the hedge to the spare answers
      fault.mode = 'down';
      await signed('down'); // the first copy fails at once: the call moves on to the spare
      fault.mode = 'none';
      fault.release(); // the hung call answers, too late
      await new Promise((resolve) => setImmediate(resolve));

      const spans = telemetry.spans().filter((span) => span.name === 'keyswitch.sign');
      expect(
        spans.map((span) => [
          span.attributes[A.requestId],
          span.attributes[A.provider],
          span.events.map((event) => event.attributes?.[A.provider]),
        ]),
      ).toEqual([
        ['both-up', 'faulty', []],
        ['hedged', 'spare', []],
        ['down', 'spare', ['faulty']],
      ]);
      const metrics = await telemetry.metrics();
      const sign = { [A.key]: 'acs-signing', [A.operation]: 'sign', [A.outcome]: 'success' };
      expect(pointValue(metrics, M.operations, { ...sign, [A.provider]: 'spare' })).toBe(2);
      expect(
        pointValue(metrics, M.failovers, {
          [A.key]: 'acs-signing',
          [A.operation]: 'sign',
          [A.provider]: 'faulty',
          [A.outcome]: 'UNAVAILABLE',
        }),
      ).toBe(1);
    } finally {
      fault.mode = 'none';
      fault.release();
      await ks.close();
      await telemetry.shutdown();
    }
  });
});
