import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';
import { KeyswitchError } from '@keyswitch/core';
import pkcs11js from 'pkcs11js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../src/index.js';
import { pkcs11jsMissing } from '../src/lib/pkcs11js-missing.js';
import { loadedModule } from '../src/lib/shared-module.js';
import { installTestFaults } from '../src/lib/test-faults.js';
import { openTarget, type Target, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// Where PKCS#11 calls run, and what a slow or stalled token does to the application. A fault layer on
// the worker threads delays chosen PKCS#11 functions of the real SoftHSM2 token, as a slow HSM would.
// Behaviour is asserted (timers keep firing, timeouts fire, nothing hangs), never durations: the
// bench (pnpm bench, slow-token cell) measures those.
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch execution');

type Methods = Record<string, (...args: unknown[]) => unknown>;

/** Counts timer callbacks while `body` runs: proof that the main thread is not blocked. */
async function ticking<T>(body: () => Promise<T>): Promise<{ result: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
  }, 5);
  try {
    const result = await body();
    return { result, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe.skipIf(skip)('PKCS#11 execution: nothing on the main thread, deadlines that fire', () => {
  const ready = tokens as TestTokens;
  const softhsm = skip ? undefined : target('softhsm2', ready);
  const opened: Pkcs11Provider[] = [];
  const open = async (which: Target, overrides: Parameters<typeof openTarget>[1] = {}) => {
    const provider = await openTarget(which, overrides);
    opened.push(provider);
    return provider;
  };

  afterAll(async () => {
    await Promise.all(opened.map((provider) => provider.close()));
    ready.remove?.();
  });

  it('no PKCS#11 function runs on the main thread, for any operation, on every profile', async () => {
    expect(isMainThread).toBe(true);
    // pkcs11js puts most C_* functions on the parent of PKCS11.prototype: patch the whole chain, on the
    // main thread only (worker threads load pkcs11js afresh and are not affected).
    const onMainThread: string[] = [];
    const restore: Array<() => void> = [];
    let prototype = (pkcs11js as unknown as { PKCS11: { prototype: Methods } }).PKCS11.prototype;
    while (prototype !== null && prototype !== Object.prototype) {
      const level = prototype;
      for (const name of Object.getOwnPropertyNames(level).filter((key) => key.startsWith('C_'))) {
        const original = level[name]!;
        level[name] = function (this: unknown, ...args: unknown[]) {
          onMainThread.push(name);
          return original.apply(this, args);
        };
        restore.push(() => {
          level[name] = original;
        });
      }
      prototype = Object.getPrototypeOf(level) as Methods;
    }
    const controls: string[] = [];
    try {
      // Every C_* function of the binding, not just the three PKCS11.prototype holds itself.
      expect(restore.length).toBeGreaterThan(80);
      for (const profile of ['softhsm', 'generic'] as const) {
        const provider = await open(softhsm!, { profile });
        const label = `x-main-${profile}`;
        const ec = await provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label });
        const signature = await provider.sign({ ref: ec.ref, algorithm: 'ECDSA_SHA_256', message });
        expect(await provider.verify({ ref: ec.ref, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(
          true,
        );
        const spki = (await provider.getPublicKey(ec.ref)).spki;
        const ecKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
        expect(verify('sha256', message, ecKey, signature)).toBe(true);
        expect((await provider.describeKey(ec.ref)).state).toBe('ENABLED');
        const capabilities = await provider.capabilities();
        const oaep = capabilities.algorithms.includes('RSAES_OAEP_SHA_256')
          ? 'RSAES_OAEP_SHA_256'
          : 'RSAES_OAEP_SHA_1';
        const rsa = await provider.createKey({
          spec: 'RSA_2048',
          usage: 'ENCRYPT_DECRYPT',
          label: `${label}-rsa`,
        });
        const ciphertext = await provider.encrypt({ ref: rsa.ref, algorithm: oaep, plaintext: message });
        const plaintext = await provider.decrypt({ ref: rsa.ref, algorithm: oaep, ciphertext });
        expect(Buffer.from(plaintext)).toEqual(message);
        expect((await provider.listKeys()).keys.map((key) => key.aliases[0])).toEqual(
          expect.arrayContaining([label, `${label}-rsa`]),
        );
        await provider.disableKey(ec.ref);
        expect((await provider.describeKey(ec.ref)).state).toBe('DISABLED');
        await provider.enableKey(ec.ref);
        expect(await provider.generateRandom(16)).toHaveLength(16);
        const imported = await provider.importKey({
          spec: 'HMAC_256',
          usage: 'GENERATE_VERIFY_MAC',
          raw: Buffer.alloc(32, 7),
          label: `${label}-imported`,
        });
        expect(
          await provider.generateMac({ ref: imported.ref, algorithm: 'HMAC_SHA_256', message }),
        ).toHaveLength(32);
        expect(provider.workerThreadIds.every((id) => id !== threadId)).toBe(true);
        // Positive control: a deliberate PKCS#11 call on the main thread, inside the window, is recorded.
        const before = onMainThread.length;
        loadedModule(softhsm!.module)!.C_GetSlotList(true);
        controls.push(...onMainThread.splice(before));
        await provider.close();
      }
    } finally {
      for (const undo of restore) undo();
    }
    expect(controls).toEqual(['C_GetSlotList', 'C_GetSlotList']);
    expect(onMainThread).toEqual([]);
  });

  it('while C_SignInit, C_FindObjectsInit, C_GetAttributeValue and C_Login are slow, timers keep firing', async () => {
    const owner = await open(softhsm!);
    const key = await owner.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'x-slow' });
    const faults = installTestFaults(
      ['C_SignInit', 'C_FindObjectsInit', 'C_GetAttributeValue', 'C_Login'].map((name) => ({
        function: name,
        delayMs: 20,
      })),
    );
    try {
      // A fresh module state is not needed: C_Login runs for each new session of this provider when the
      // token is not yet logged in, and the other calls run for every lookup and signature.
      const slow = await open(softhsm!, { operationTimeoutMs: 30_000, sessions: 8 });
      const { result, ticks } = await ticking(() =>
        Promise.all([
          ...Array.from({ length: 8 }, () =>
            slow.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message }),
          ),
          slow.describeKey(key.ref),
          slow.getPublicKey(key.ref),
          slow.listKeys(),
        ]),
      );
      expect(result).toHaveLength(11);
      expect(faults.hits(0)).toBeGreaterThanOrEqual(8); // every signature went through the slow C_SignInit
      expect(faults.hits(1)).toBeGreaterThan(0);
      expect(faults.hits(2)).toBeGreaterThan(0);
      // Each signature waited at least 20 ms in C_SignInit on a worker: the main thread ran its timers meanwhile.
      expect(ticks).toBeGreaterThan(1);
    } finally {
      faults.remove();
    }
  });

  it('a stalled token: every operation rejects with UNAVAILABLE naming the timeout, none hangs, the loop runs', async () => {
    const owner = await open(softhsm!);
    const key = await owner.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'x-stall' });
    const faults = installTestFaults([{ function: 'C_SignInit', delayMs: 1_500, times: 0 }]);
    try {
      const stalled = await open(softhsm!, { operationTimeoutMs: 200, sessions: 8, workerThreads: 2 });
      // Warm: the key is looked up and cached before the token stalls.
      await stalled.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message });
      faults.arm(0, 8);
      const { result, ticks } = await ticking(() =>
        Promise.allSettled(
          Array.from({ length: 8 }, () =>
            stalled.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message }),
          ),
        ),
      );
      for (const outcome of result) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as KeyswitchError;
        expect(error.code).toBe('UNAVAILABLE');
        expect(error.retryable).toBe(true);
        expect(error.message).toMatch(/within 200 ms \(operationTimeoutMs\)/);
      }
      expect(ticks).toBeGreaterThan(0);
      // Once the stalled calls return, their sessions and threads serve again.
      await expect
        .poll(
          () =>
            stalled.sign({ ref: key.ref, algorithm: 'ECDSA_SHA_256', message }).then(
              () => true,
              () => false,
            ),
          { timeout: 30_000, interval: 250 },
        )
        .toBe(true);
    } finally {
      faults.remove();
    }
  });

  it('a key creation whose session is lost in its label check runs again on a new session, creating one key', async () => {
    const faults = installTestFaults([
      { function: 'C_FindObjectsInit', error: 'CKR_SESSION_HANDLE_INVALID', times: 0 },
      { function: 'C_GenerateKeyPair', error: 'CKR_SESSION_HANDLE_INVALID', times: 0 },
    ]);
    try {
      const provider = await open(softhsm!, {});
      await provider.capabilities(); // the probe searches and generates too: probed before the faults are armed
      faults.arm(0, 1);
      const created = await provider.createKey({
        spec: 'ECC_NIST_P256',
        usage: 'SIGN_VERIFY',
        label: 'x-relabel',
      });
      expect(faults.hits(0)).toBe(1);
      expect((await provider.describeKey(created.ref)).aliases).toEqual(['x-relabel']);
      // A failure in the generation itself is not run again by keyswitch (had it been, the one-shot fault
      // would have let the second generation through, and the label would name a key).
      faults.arm(1, 1);
      const error = await provider
        .createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'x-lost' })
        .then(
          () => undefined,
          (reason: unknown) => reason,
        );
      expect(error).toBeInstanceOf(KeyswitchError);
      expect(faults.hits(1)).toBe(1);
      await expect(provider.describeKey('pkcs11:object=x-lost;type=private')).rejects.toMatchObject({
        code: 'KEY_NOT_FOUND',
      });
    } finally {
      faults.remove();
    }
  });

  it('a key creation past its deadline is reported with its CKA_ID, not retryable, and never duplicated', async () => {
    // Key generation gets four times operationTimeoutMs (800 ms here); the fault holds it for 2 s.
    const faults = installTestFaults([{ function: 'C_GenerateKeyPair', delayMs: 2_000, times: 0 }]);
    try {
      const provider = await open(softhsm!, { operationTimeoutMs: 200 });
      await provider.capabilities(); // the probe generates keys too: probed before the fault is armed
      faults.arm(0, 1);
      const error = (await provider
        .createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'x-late' })
        .then(
          () => undefined,
          (reason: unknown) => reason,
        )) as KeyswitchError;
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.retryable).toBe(false);
      const id = /CKA_ID ([0-9a-f]+)/.exec(error.message)?.[1];
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      // The generation finishes on its worker: the key is there under that CKA_ID, once.
      const ref = `pkcs11:id=${id!.replace(/(..)/g, '%$1')};type=private`;
      await expect
        .poll(
          () =>
            provider.describeKey(ref).then(
              (described) => described.aliases,
              () => [],
            ),
          {
            timeout: 30_000,
            interval: 250,
          },
        )
        .toEqual(['x-late']);
      // Trying again with the same label is refused: the key is not created twice.
      await expect(
        provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label: 'x-late' }),
      ).rejects.toMatchObject({ code: 'KEY_EXISTS' });
    } finally {
      faults.remove();
    }
  });
  it('an import past its deadline is reported with its CKA_ID, not retryable, and never written twice', async () => {
    const faults = installTestFaults([{ function: 'C_CreateObject', delayMs: 2_000, times: 0 }]);
    try {
      const provider = await open(softhsm!, { operationTimeoutMs: 200 });
      await provider.capabilities(); // the probe writes objects too: probed before the fault is armed
      faults.arm(0, 1);
      const request = {
        spec: 'HMAC_256',
        usage: 'GENERATE_VERIFY_MAC',
        raw: Buffer.alloc(32, 9),
        label: 'x-late-import',
      } as const;
      const error = (await provider.importKey(request).then(
        () => undefined,
        (reason: unknown) => reason,
      )) as KeyswitchError;
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.retryable).toBe(false);
      const id = /CKA_ID ([0-9a-f]+)/.exec(error.message)?.[1];
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      // The write finishes on its worker: the key is there under that CKA_ID, once.
      const ref = `pkcs11:id=${id!.replace(/(..)/g, '%$1')};type=secret-key`;
      await expect
        .poll(
          () =>
            provider.describeKey(ref).then(
              (described) => described.aliases,
              () => [],
            ),
          {
            timeout: 30_000,
            interval: 250,
          },
        )
        .toEqual(['x-late-import']);
      await expect(provider.importKey(request)).rejects.toMatchObject({ code: 'KEY_EXISTS' });
    } finally {
      faults.remove();
    }
  });
});

describe('pkcs11js native addon', () => {
  it('missing or unbuilt: CONFIG_INVALID, not retryable, naming the fix for npm and for pnpm', () => {
    const error = pkcs11jsMissing(new Error("Cannot find module 'pkcs11js'"));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('npm rebuild pkcs11js');
    expect(error.message).toContain('pnpm approve-builds');
    expect(error.message).toContain('onlyBuiltDependencies');
    expect((error.cause as Error).message).toContain('pkcs11js');
  });
});

describe('the worker thread file', () => {
  it('carries the part of core it uses, so a worker thread starts without loading @keyswitch/core or zod', () => {
    for (const file of ['pkcs11-worker.js', 'pkcs11-worker.cjs']) {
      const text = readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8');
      // Only Node built-ins and pkcs11js (the native addon) are loaded at run time.
      const loaded = [...text.matchAll(/(?:from\s+|require\(|import\()\s*["']([^"']+)["']/g)].map(
        (match) => match[1],
      );
      expect(loaded.length, file).toBeGreaterThan(0);
      for (const specifier of loaded) {
        expect(specifier, file).toMatch(
          /^(node:)?(worker_threads|crypto|os|fs|path|url|module|util|buffer)$|^pkcs11js$/,
        );
      }
    }
  });
});
