// Failover and cancellation on the software HSM and on AWS KMS (kms-local through the real AWS SDK).
// PKCS#11 has its own (packages/pkcs11/test: pkcs11.replicas over a killed p11-kit server,
// pkcs11.cancellation). The software HSM cannot fail by itself, so a fault layer on top of real
// software HSMs makes one of them unreachable or slow; node:crypto checks every signature.
import { generateKeyPairSync, verify } from 'node:crypto';
import { providerFactory as awsKms } from '@keyswitch/aws-kms';
import { type AuditEvent, isKeyswitchError, Keyswitch } from '@keyswitch/core';
import { type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultySoftHsm } from './support/faulty-soft-hsm.js';
import { kmsLocalEnv, kmsLocalProvider } from './support/kms-local-provider.js';

const message = new TextEncoder().encode('CRes: answered whatever fails');
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pkcs8 = new Uint8Array(signing.privateKey.export({ format: 'der', type: 'pkcs8' }));

const { factory: faultyHsm, fault } = faultySoftHsm();

const key = { ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' } as const;

describe('on the software HSM', () => {
  let ks: Keyswitch;

  beforeAll(async () => {
    ks = await Keyswitch.fromConfig(
      {
        environment: 'test',
        providers: { faulty: { type: 'faulty-hsm' }, spare: { type: 'soft-hsm' } },
        keys: {
          'acs-signing': { provider: 'faulty', ...key, replicas: [{ provider: 'spare', ref: 'acs' }] },
          'acs-alone': { provider: 'faulty', ...key },
        },
      },
      { providerFactories: { 'faulty-hsm': faultyHsm }, circuitBreaker: { coolDownMs: 600_000 } },
    );
    for (const name of ['faulty', 'spare'])
      await (await ks.provider(name)).importKey({ label: 'acs', usage: 'SIGN_VERIFY', pkcs8 });
  });

  afterAll(async () => {
    fault.mode = 'none';
    fault.release();
    await ks?.close();
  });

  it('fails over to the replica while the primary is down; the breaker opens, and no signature is wrong', async () => {
    const signer = ks.signer('acs-signing');
    expect(verify('sha256', message, signing.publicKey, await signer.sign(message))).toBe(true);
    fault.mode = 'down';
    try {
      for (let call = 0; call < 5; call += 1) {
        expect(verify('sha256', message, signing.publicKey, await signer.sign(message))).toBe(true);
      }
      expect(ks.breakerStates().faulty).toBe('open');
      await expect(ks.signer('acs-alone').sign(message)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      fault.mode = 'none';
    }
  });

  it('a cancelled or timed-out call rejects at once, typed; the hung call finishes later and the key serves on', async () => {
    const signer = ks.signer('acs-alone');
    fault.mode = 'hang';
    const controller = new AbortController();
    const cancelled = signer.sign(message, { signal: controller.signal });
    const timedOut = signer.sign(message, { timeoutMs: 50 });
    controller.abort(new Error('the 3DS Server gave up'));
    await expect(cancelled).rejects.toMatchObject({ code: 'ABORTED', retryable: false });
    await expect(timedOut).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    await expect(signer.sign(message, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    fault.mode = 'none';
    fault.release();
    expect(verify('sha256', message, signing.publicKey, await signer.sign(message))).toBe(true);
  });
});

describe('on AWS KMS (kms-local)', () => {
  let server: KmsLocalServer;
  let ks: Keyswitch;
  let ref: string;
  const audit: AuditEvent[] = [];

  beforeAll(async () => {
    server = await startKmsLocal();
    const provider = kmsLocalProvider(server.endpoint, { maxAttempts: 1 });
    const env = kmsLocalEnv();
    ks = await Keyswitch.fromConfig(
      {
        environment: 'test',
        providers: { kms: provider },
        keys: { 'acs-signing': { provider: 'kms', ...key, ref: 'alias/acs' } },
      },
      { providerFactories: { 'aws-kms': awsKms }, env },
    );
    ref = (await (await ks.provider('kms')).importKey({ label: 'acs', usage: 'SIGN_VERIFY', pkcs8 })).ref;
    ks.onAudit((event) => audit.push(event));
  });

  afterAll(async () => {
    await ks?.close();
    await server?.close();
  });

  it('a cancelled or timed-out call rejects at once while KMS has not answered; the key serves on', async () => {
    expect(ref).toMatch(/^arn:aws:kms:/);
    const signer = ks.signer('acs-signing');
    expect(verify('sha256', message, signing.publicKey, await signer.sign(message))).toBe(true);
    server.setFaults({ delayRate: 1, delayMs: 3_000, operations: ['Sign'] });
    try {
      const controller = new AbortController();
      const cancelled = signer.sign(message, { signal: controller.signal });
      const timedOut = signer.sign(message, { timeoutMs: 100 });
      // Once KMS has both requests, the caller gives up on one.
      for (let wait = 0; wait < 500 && (server.requests().byOperation.Sign ?? 0) < 3; wait += 1)
        await new Promise((resolve) => setTimeout(resolve, 10));
      controller.abort();
      const error = await cancelled.catch((caught: unknown) => caught);
      expect(isKeyswitchError(error, 'ABORTED')).toBe(true);
      await expect(timedOut).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
      // The signal and the time limit reached the AWS SDK: both HTTP requests were aborted, and the
      // provider's own calls ended then (not as successes once KMS answered, seconds later).
      const ended = await new Promise<AuditEvent[]>((resolve) => {
        const poll = () => {
          const signs = audit.filter((event) => event.operation === 'sign' && event.outcome === 'failure');
          if (signs.length >= 2) resolve(signs);
          else setTimeout(poll, 10);
        };
        poll();
      });
      expect(ended.map((event) => event.errorCode).sort()).toEqual(['ABORTED', 'UNAVAILABLE']);
      expect(audit.filter((event) => event.operation === 'sign' && event.outcome === 'success')).toHaveLength(
        1,
      );
    } finally {
      server.setFaults(undefined);
    }
    expect(verify('sha256', message, signing.publicKey, await signer.sign(message))).toBe(true);
  });
});
