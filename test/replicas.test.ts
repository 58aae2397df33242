// Keys with replicas on real backends: the same keys imported into two KMS endpoints (two kms-local
// servers, as two AWS Regions would be), reached through the real AWS SDK over HTTP. One endpoint is
// stopped under load: every operation completes on the other or fails with a typed error, and no answer
// is wrong (node:crypto checks every signature). The stopped endpoint's breaker opens, and a probe brings
// it back once it serves again. A replica that is another key is refused.
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { providerFactory as awsKms } from '@keyswitch/aws-kms';
import {
  type AuditEvent,
  isKeyswitchError,
  type KeyProvider,
  Keyswitch,
  type KeyswitchConfigInput,
} from '@keyswitch/core';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsLocalProvider } from './support/kms-local-provider.js';

const message = new TextEncoder().encode('AReq: one key, two Regions');
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const hmacKey = randomBytes(32);
const publicKey = signing.publicKey;

interface Region {
  readonly hsm: SoftHsm;
  server: KmsLocalServer;
  port: number;
  /** Key ARNs by purpose (kept by the software HSM behind the server across restarts). */
  readonly refs: Record<'signing' | 'other' | 'hmac', string>;
}

const regions: Region[] = [];
const opened: Keyswitch[] = [];

function kmsProvider(region: Region) {
  return kmsLocalProvider(`http://127.0.0.1:${region.port}`, {
    maxAttempts: 1,
    connectionTimeoutMs: 500,
    requestTimeoutMs: 2_000,
  });
}

function config(replicaKey: 'signing' | 'other' = 'signing'): KeyswitchConfigInput {
  const [east, west] = regions as [Region, Region];
  return {
    environment: 'test',
    providers: { east: kmsProvider(east), west: kmsProvider(west) },
    keys: {
      'acs-signing': {
        provider: 'east',
        ref: east.refs.signing,
        spec: 'ECC_NIST_P256',
        algorithm: 'ECDSA_SHA_256',
        replicas: [{ provider: 'west', ref: west.refs[replicaKey] }],
      },
      'pan-hmac': {
        provider: 'east',
        ref: east.refs.hmac,
        spec: 'HMAC_256',
        algorithm: 'HMAC_SHA_256',
        replicas: [{ provider: 'west', ref: west.refs.hmac }],
      },
    },
  };
}

async function open(options: Parameters<typeof Keyswitch.fromConfig>[1] = {}, replicaKey?: 'other') {
  const ks = await Keyswitch.fromConfig(config(replicaKey), {
    providerFactories: { 'aws-kms': awsKms },
    ...options,
  });
  opened.push(ks);
  return ks;
}

async function importInto(provider: KeyProvider, label: string, request: object): Promise<string> {
  return (await provider.importKey({ label, ...request } as Parameters<KeyProvider['importKey']>[0])).ref;
}

beforeAll(async () => {
  process.env.KMS_LOCAL_SECRET_ACCESS_KEY = KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey;
  for (let index = 0; index < 2; index += 1) {
    const hsm = await SoftHsm.open();
    const server = await startKmsLocal({ port: 0, provider: hsm, closeProvider: false });
    const region: Region = {
      hsm,
      server,
      port: Number(new URL(server.endpoint).port),
      refs: {} as Region['refs'],
    };
    regions.push(region);
    const setup = await Keyswitch.fromConfig(
      { environment: 'test', providers: { kms: kmsProvider(region) }, keys: {} },
      { providerFactories: { 'aws-kms': awsKms } },
    );
    const kms = await setup.provider('kms');
    const pkcs8 = (key: typeof signing) =>
      new Uint8Array(key.privateKey.export({ format: 'der', type: 'pkcs8' }));
    region.refs.signing = await importInto(kms, 'acs-signing', {
      usage: 'SIGN_VERIFY',
      pkcs8: pkcs8(signing),
    });
    region.refs.other = await importInto(kms, 'acs-other', { usage: 'SIGN_VERIFY', pkcs8: pkcs8(other) });
    region.refs.hmac = await importInto(kms, 'pan-hmac', {
      usage: 'GENERATE_VERIFY_MAC',
      spec: 'HMAC_256',
      raw: new Uint8Array(hmacKey),
    });
    await setup.close();
  }
});

afterAll(async () => {
  for (const ks of opened) await ks.close().catch(() => undefined);
  for (const region of regions) {
    await region.server.close().catch(() => undefined);
    await region.hsm.close();
  }
});

describe('keys with replicas on two KMS endpoints', () => {
  it('one endpoint stopped under load: every call completes on the other or fails typed; none is wrong', async () => {
    const events: AuditEvent[] = [];
    // A cool-down longer than the test: the breaker's state is the failures', however slow the machine.
    const ks = await open({
      onAudit: (event) => events.push(event),
      circuitBreaker: { coolDownMs: 600_000 },
    });
    const signer = ks.signer('acs-signing');
    const mac = ks.mac('pan-hmac');
    expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
    const expectedMac = await mac.generate(message);
    let wrong = 0;
    let failedUntyped = 0;
    let done = 0;
    const failures: Record<string, number> = {};
    const east = regions[0]!;
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        for (let call = 0; call < 25; call += 1) {
          if (worker === 0 && call === 5) await east.server.close(); // mid-run, calls in flight
          try {
            if (call % 2 === 0) {
              if (!verify('sha256', message, publicKey, await signer.sign(message))) wrong += 1;
            } else if (!Buffer.from(await mac.generate(message)).equals(Buffer.from(expectedMac))) {
              wrong += 1;
            }
            done += 1;
          } catch (error) {
            if (!isKeyswitchError(error)) failedUntyped += 1;
            else failures[error.code] = (failures[error.code] ?? 0) + 1;
          }
        }
      }),
    );
    expect(wrong).toBe(0);
    expect(failedUntyped).toBe(0);
    // A call fails only if both endpoints failed it: here the west one always answers.
    expect(failures).toEqual({});
    expect(done).toBe(400);
    expect(ks.breakerStates().east).toBe('open');
    const after = events.length;
    expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
    // With east's breaker open, the call went straight to west.
    expect(events.slice(after).map((event) => event.provider)).toEqual(['west']);
  });

  it("the stopped endpoint's breaker lets a probe through after the cool-down, and it serves again", async () => {
    const clock = { now: 0 };
    const events: AuditEvent[] = [];
    const east = regions[0]!;
    const ks = await open({
      onAudit: (event) => events.push(event),
      circuitBreaker: { failures: 1, coolDownMs: 1_000, clock: () => clock.now },
    });
    const signer = ks.signer('acs-signing');
    await east.server.close().catch(() => undefined);
    expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
    expect(ks.breakerStates().east).toBe('open');
    // East comes back on its address, with its keys.
    east.server = await startKmsLocal({ port: east.port, provider: east.hsm, closeProvider: false });
    events.length = 0;
    expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
    expect(events.map((event) => event.provider)).toEqual(['west']); // still open: east not asked
    clock.now += 1_000;
    expect(ks.breakerStates().east).toBe('half-open');
    events.length = 0;
    expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
    // The probe: east is checked again (it was unreachable when last checked), then signs.
    expect(new Set(events.map((event) => event.provider))).toEqual(new Set(['east']));
    expect(events.at(-1)).toMatchObject({ operation: 'sign', outcome: 'success' });
    expect(ks.breakerStates().east).toBe('closed');
  });

  it("a provider's timeoutMs bounds each attempt there: a frozen endpoint's call moves to the replica", async () => {
    const east = regions[0]!;
    const withTimeout = config();
    (withTimeout.providers.east as Record<string, unknown>).timeoutMs = 300;
    const events: AuditEvent[] = [];
    const ks = await Keyswitch.fromConfig(withTimeout, {
      providerFactories: { 'aws-kms': awsKms },
      onAudit: (event) => events.push(event),
    });
    opened.push(ks);
    const signer = ks.signer('acs-signing');
    expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
    // East answers Sign after 5 s: far past its 300 ms, so the call is answered by west.
    east.server.setFaults({ delayRate: 1, delayMs: 5_000, operations: ['Sign'] });
    try {
      events.length = 0;
      expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
      expect(events.filter((event) => event.outcome === 'success').map((event) => event.provider)).toEqual([
        'west',
      ]);
      // Without a replica, the provider's timeoutMs makes the call UNAVAILABLE, naming the limit.
      const alone = await Keyswitch.fromConfig(
        { ...withTimeout, keys: { solo: { ...withTimeout.keys['acs-signing']!, replicas: undefined } } },
        { providerFactories: { 'aws-kms': awsKms } },
      );
      opened.push(alone);
      const error = await alone
        .signer('solo')
        .sign(message)
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
      expect((error as Error).message).toContain('time limit (300 ms)');
    } finally {
      east.server.setFaults(undefined);
    }
  });

  it.each([
    ['after a fixed delay', { afterMs: 1_000 }],
    ['after the p99 latency of the first choice', true],
  ] as const)(
    'hedging %s: a slow endpoint is overtaken by the replica; a fast one is not',
    async (_, hedge) => {
      const [east, west] = regions as [Region, Region];
      const hedging = config();
      hedging.keys['acs-signing'] = { ...hedging.keys['acs-signing']!, hedge };
      const ks = await Keyswitch.fromConfig(hedging, { providerFactories: { 'aws-kms': awsKms } });
      opened.push(ks);
      const signer = ks.signer('acs-signing');
      for (const region of regions) region.server.resetRequestCounts();
      // Fast answers: no second request (the p99 hedge learns from these 25).
      for (let call = 0; call < 25; call += 1) {
        expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
      }
      const westBefore = west.server.requests().byOperation.Sign ?? 0;
      // A p99 hedge may send the odd second request by design; a fixed 1 s delay is far above these calls.
      if (hedge !== true) expect(westBefore).toBe(0);
      east.server.setFaults({ delayRate: 1, delayMs: 5_000, operations: ['Sign'] });
      try {
        expect(verify('sha256', message, publicKey, await signer.sign(message))).toBe(true);
        expect((west.server.requests().byOperation.Sign ?? 0) - westBefore).toBe(1);
        expect(east.server.requests().byOperation.Sign).toBe(26);
      } finally {
        east.server.setFaults(undefined);
      }
    },
  );

  it('hedging needs replicas', async () => {
    const solo = config();
    solo.keys['acs-signing'] = { ...solo.keys['acs-signing']!, replicas: undefined, hedge: true };
    await expect(
      Keyswitch.fromConfig(solo, { providerFactories: { 'aws-kms': awsKms } }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      path: 'keys.acs-signing.hedge',
    });
  });

  it('a replica that is another key is CONFIG_INVALID naming it, found while the primary serves', async () => {
    const ks = await open({}, 'other');
    const signer = ks.signer('acs-signing');
    let error: unknown;
    for (let attempt = 0; attempt < 200 && error === undefined; attempt += 1) {
      error = await signer.sign(message).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      if (error === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', path: 'keys.acs-signing.replicas.0.ref' });
    expect(String((error as Error).message)).toContain('public key differs');
  });

  it('a disabled key is the answer: no failover to a replica', async () => {
    const ks = await open();
    const east = await ks.provider('east');
    await east.disableKey(regions[0]!.refs.signing);
    try {
      const error = await ks
        .signer('acs-signing')
        .sign(message)
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(isKeyswitchError(error, 'KEY_DISABLED')).toBe(true);
    } finally {
      await east.enableKey(regions[0]!.refs.signing);
    }
  });

  it('the configuration refuses replicas of a SYMMETRIC_DEFAULT key and replicas on unknown providers', async () => {
    const base = config();
    const refused = async (keys: object) =>
      Keyswitch.fromConfig({ ...base, keys } as KeyswitchConfigInput, {
        providerFactories: { 'aws-kms': awsKms },
      }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(
      await refused({
        kek: {
          provider: 'east',
          ref: 'alias/k',
          spec: 'SYMMETRIC_DEFAULT',
          replicas: [{ provider: 'west', ref: 'alias/k' }],
        },
      }),
    ).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('multi-keyring') });
    expect(
      await refused({
        k: {
          provider: 'east',
          ref: 'alias/k',
          spec: 'HMAC_256',
          replicas: [{ provider: 'north', ref: 'alias/k' }],
        },
      }),
    ).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('north') });
  });
});
