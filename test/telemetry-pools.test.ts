// The pool gauges on a real SoftHSM2 token (made by scripts/test-tokens.sh): the PKCS#11 provider's
// session pool (in use, idle, its limit, callers waiting) and worker threads, read by the OpenTelemetry
// SDK at collection, agree with the provider's own poolStats(); handle calls on the token are counted
// under its provider name. Under CI=true a token that cannot be made is a failure.
import { verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TELEMETRY_ATTRIBUTES as A, Keyswitch, TELEMETRY_METRICS as M } from '@keyswitch/core';
import { providerFactory as pkcs11 } from '@keyswitch/pkcs11';
import { afterAll, describe, expect, it } from 'vitest';
import { softHsm2Tokens } from './support/softhsm2-tokens.js';
import { inMemoryTelemetry, pointValue } from './support/telemetry-sdk.js';

const tokenDir = mkdtempSync(join(tmpdir(), 'keyswitch-telemetry-pools-'));
const tokens = softHsm2Tokens(tokenDir, 'telemetry-pools');
afterAll(() => rmSync(tokenDir, { recursive: true, force: true }));

describe.skipIf('skip' in tokens)('pool gauges on SoftHSM2', () => {
  it('report the session pool and worker threads the provider reports, and count calls on the token', async () => {
    if ('skip' in tokens) return;
    Object.assign(process.env, tokens.env);
    const telemetry = inMemoryTelemetry();
    const ks = await Keyswitch.fromConfig(
      {
        environment: 'test',
        providers: {
          hsm: {
            type: 'pkcs11',
            profile: 'softhsm',
            module: { env: 'KEYSWITCH_SOFTHSM2_MODULE' },
            token: { label: 'keyswitch' },
            pin: { env: 'KEYSWITCH_SOFTHSM2_PIN' },
            sessions: 3,
            workerThreads: 2,
          },
        },
        keys: {
          'acs-signing': {
            provider: 'hsm',
            ref: 'pkcs11:object=telemetry-acs;type=private',
            spec: 'ECC_NIST_P256',
            algorithm: 'ECDSA_SHA_256',
          },
        },
      },
      { providerFactories: { pkcs11 }, telemetry },
    );
    try {
      // Before any provider is opened, the gauges report no pool (a gauge never opens one).
      expect(
        pointValue(await telemetry.metrics(), M.poolSessionsLimit, { [A.provider]: 'hsm' }),
      ).toBeUndefined();
      const hsm = await ks.provider('hsm');
      await hsm.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'telemetry-acs' });
      const acs = ks.signer('acs-signing');
      const message = new TextEncoder().encode('CReq');
      const signatures = await Promise.all(Array.from({ length: 8 }, () => acs.sign(message)));
      const publicKey = (await acs.publicKey()).pem();
      for (const signature of signatures) expect(verify('sha256', message, publicKey, signature)).toBe(true);

      const stats = hsm.poolStats();
      expect(stats).toMatchObject({ sessions: { limit: 3, inUse: 0, waiting: 0 }, workers: { threads: 2 } });
      expect(stats?.sessions?.idle).toBeGreaterThanOrEqual(1);
      expect(stats?.sessions?.idle).toBeLessThanOrEqual(3);
      const metrics = await telemetry.metrics();
      const hsmPool = { [A.provider]: 'hsm' };
      expect(pointValue(metrics, M.poolSessionsLimit, hsmPool)).toBe(3);
      expect(pointValue(metrics, M.poolSessions, { ...hsmPool, [A.poolState]: 'in_use' })).toBe(0);
      expect(pointValue(metrics, M.poolSessions, { ...hsmPool, [A.poolState]: 'idle' })).toBe(
        stats?.sessions?.idle,
      );
      expect(pointValue(metrics, M.poolWaiting, hsmPool)).toBe(0);
      expect(pointValue(metrics, M.poolWorkers, hsmPool)).toBe(2);
      expect(pointValue(metrics, M.breakerState, hsmPool)).toBe(0);
      expect(
        pointValue(metrics, M.operations, {
          [A.key]: 'acs-signing',
          [A.provider]: 'hsm',
          [A.operation]: 'sign',
          [A.outcome]: 'success',
        }),
      ).toBe(8);
    } finally {
      await ks.close();
      await telemetry.shutdown();
    }
  });
});
