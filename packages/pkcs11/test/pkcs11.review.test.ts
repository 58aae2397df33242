import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { once } from 'node:events';
import type { KeyswitchError } from '@keyswitch/core';
import type { Template } from 'pkcs11js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pkcs11Provider } from '../src/index.js';
import { CKA, CKF, CKK, CKM, CKO } from '../src/lib/ck.js';
import { EC_PARAMS } from '../src/lib/key-attributes.js';
import { loadedModule, type Pkcs11Library } from '../src/lib/shared-module.js';
import { installTestFaults } from '../src/lib/test-faults.js';
import { WorkerPool } from '../src/lib/worker-pool.js';
import { expectCode } from './support/backend-suite.js';
import { openTarget, type Target, target } from './support/targets.js';
import { createTestTokens, type TestTokens } from './support/tokens.js';

// Regression tests for the security review of packages/pkcs11, on the real test tokens. Own process (own
// tokens, own logins): the PIN test relies on the token being logged in by this file's providers only.
const tokens = createTestTokens();
const skip = 'skip' in tokens;
const message = Buffer.from('keyswitch review regression');

type Methods = Record<string, (...args: unknown[]) => unknown>;

/** Replaces one method of the shared library object for the duration of `body` (then puts it back). */
async function patched(
  library: Pkcs11Library,
  name: keyof Pkcs11Library,
  replacement: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown,
  body: () => Promise<void>,
): Promise<void> {
  const methods = library as unknown as Methods;
  const original = methods[name]!;
  methods[name] = replacement(original.bind(library));
  try {
    await body();
  } finally {
    methods[name] = original;
  }
}

describe.skipIf(skip)('PKCS#11 security review regressions', () => {
  const ready = tokens as TestTokens;
  const softhsm = skip ? undefined : target('softhsm2', ready);
  const nss = skip ? undefined : target('nss', ready);
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

  it('1. a wrong PIN is ACCESS_DENIED even when another provider is logged in to the token', async () => {
    for (const which of [softhsm!, nss!]) {
      const first = await open(which);
      expect(await first.generateRandom(4)).toHaveLength(4);
      const error = await expectCode(openTarget(which, { pin: 'wrong-pin-271828' }), 'ACCESS_DENIED');
      expect(error.message).toContain('a different PIN is already logged in to this token in this process');
      expect(`${error.message} ${JSON.stringify(error.toJSON())} ${error.stack}`).not.toContain('271828');
      expect(error.message).not.toContain(which.options.pin as string);
      // The right PIN still shares the login.
      expect(await (await open(which)).generateRandom(4)).toHaveLength(4);
    }
  });

  it('2. a probe failure that is not a refusal propagates and is retried, not cached as "unsupported"', async () => {
    // Providers open on the token share one probe: close them, so that this test gets a probe of its own.
    await Promise.all(opened.splice(0).map((provider) => provider.close()));
    const faults = installTestFaults([{ function: 'C_GenerateKey', error: 'CKR_FUNCTION_FAILED', times: 1 }]);
    try {
      const provider = await open(softhsm!);
      // CKR_FUNCTION_FAILED is INTERNAL (not retryable) naming the call, and says nothing about support.
      const error = await expectCode(provider.capabilities(), 'INTERNAL');
      expect(error.message).toContain('C_GenerateKey failed: CKR_FUNCTION_FAILED');
      // Probed again on the next call, and AES-GCM is there.
      expect((await provider.capabilities()).algorithms).toContain('SYMMETRIC_DEFAULT');
      expect(faults.hits(0)).toBe(1);
    } finally {
      faults.remove();
    }
  });

  it('2. a probe call past its deadline fails the probe; its session stays out until the call returns', async () => {
    // Providers open on the token share one probe: close them, so that this test gets a probe of its own.
    await Promise.all(opened.splice(0).map((provider) => provider.close()));
    const faults = installTestFaults([{ function: 'C_GenerateKeyPair', delayMs: 500, times: 1 }]);
    try {
      const provider = await open(softhsm!, { sessions: 1, operationTimeoutMs: 100 });
      await expectCode(provider.capabilities(), 'UNAVAILABLE');
      expect(faults.hits(0)).toBe(1);
      await expect
        .poll(
          () => provider.capabilities().then((manifest) => manifest.algorithms.includes('ECDSA_SHA_256')),
          {
            timeout: 10_000,
            interval: 200,
          },
        )
        .toBe(true);
    } finally {
      faults.remove();
    }
  });

  it('3. CKR_GENERAL_ERROR on decrypt is INVALID_CIPHERTEXT on every profile, and the next decrypt works', async () => {
    const owner = await open(softhsm!);
    const key = await owner.createKey({
      spec: 'SYMMETRIC_DEFAULT',
      usage: 'ENCRYPT_DECRYPT',
      label: 'r3-aes',
    });
    const ciphertext = await owner.encrypt({
      ref: key.ref,
      algorithm: 'SYMMETRIC_DEFAULT',
      plaintext: message,
    });
    const faults = installTestFaults([{ function: 'C_Decrypt', error: 'CKR_GENERAL_ERROR', times: 0 }]);
    try {
      const generic = await open(softhsm!, { profile: 'generic' });
      const faulty = await open(softhsm!);
      // Probed before the fault is armed (the probe decrypts too).
      await generic.capabilities();
      await faulty.capabilities();
      faults.arm(0, 2);
      // Any failure to decrypt a caller's ciphertext is INVALID_CIPHERTEXT, never retryable, on every profile.
      const error = await expectCode(
        generic.decrypt({ ref: key.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext }),
        'INVALID_CIPHERTEXT',
      );
      expect(error.retryable).toBe(false);
      await expectCode(
        faulty.decrypt({ ref: key.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext }),
        'INVALID_CIPHERTEXT',
      );
      expect(faults.hits(0)).toBe(2);
      expect(
        Buffer.from(await generic.decrypt({ ref: key.ref, algorithm: 'SYMMETRIC_DEFAULT', ciphertext })),
      ).toEqual(message);
    } finally {
      faults.remove();
    }
  });

  it('4. a dead worker thread is replaced, and calls sent to it fail at once', async () => {
    const provider = await open(softhsm!);
    const library = loadedModule(softhsm!.module)!;
    const session = library.C_OpenSession(provider.token.slot, CKF.SERIAL_SESSION | CKF.RW_SESSION);
    const executor = new WorkerPool({ module: softhsm!.module, threads: 1, timeoutMs: 5_000 });
    const within = <T>(promise: Promise<T>, ms = 5_000) =>
      Promise.race([
        promise,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms),
        ),
      ]);
    try {
      expect(
        await within(executor.run({ kind: 'random', session, length: 8 }, 'C_GenerateRandom')),
      ).toHaveLength(8);
      const dead = executor.workers[0]!;
      const exited = once(dead, 'exit');
      void dead.terminate();
      // Routed to the dying worker: fails when it exits, never hangs.
      const routed = executor.run({ kind: 'random', session, length: 8 }, 'C_GenerateRandom');
      await exited;
      const outcome = await within(
        routed.then(
          () => 'answered',
          (error: KeyswitchError) => error.code,
        ),
      );
      expect(['answered', 'UNAVAILABLE']).toContain(outcome);
      // A replacement serves the next calls.
      expect(executor.workers).toHaveLength(1);
      expect(executor.workers[0]).not.toBe(dead);
      expect(
        await within(executor.run({ kind: 'random', session, length: 8 }, 'C_GenerateRandom')),
      ).toHaveLength(8);
    } finally {
      executor.close();
      library.C_CloseSession(session);
    }
  });

  it('5. the public half is never another key’s: same CKA_ID is narrowed by label, else refused', async () => {
    const provider = await open(softhsm!);
    const library = loadedModule(softhsm!.module)!;
    const session = library.C_OpenSession(provider.token.slot, CKF.SERIAL_SESSION | CKF.RW_SESSION);
    const decoy = (id: Buffer, label: string) => {
      const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      const point = spki.subarray(spki.length - 65);
      library.C_CreateObject(session, [
        { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
        { type: CKA.KEY_TYPE, value: CKK.EC },
        { type: CKA.TOKEN, value: true },
        { type: CKA.ID, value: id },
        { type: CKA.LABEL, value: label },
        { type: CKA.EC_PARAMS, value: EC_PARAMS['P-256'] },
        { type: CKA.EC_POINT, value: Buffer.concat([Buffer.from([0x04, 65]), point]) },
        { type: CKA.VERIFY, value: true },
      ]);
    };
    const pair = (id: Buffer, label: string) => {
      const common: Template = [
        { type: CKA.KEY_TYPE, value: CKK.EC },
        { type: CKA.TOKEN, value: true },
        { type: CKA.ID, value: id },
        { type: CKA.LABEL, value: label },
      ];
      library.C_GenerateKeyPair(
        session,
        { mechanism: CKM.EC_KEY_PAIR_GEN },
        [
          { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
          ...common,
          { type: CKA.EC_PARAMS, value: EC_PARAMS['P-256'] },
          { type: CKA.VERIFY, value: true },
        ],
        [
          { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
          ...common,
          { type: CKA.PRIVATE, value: true },
          { type: CKA.SENSITIVE, value: true },
          { type: CKA.SIGN, value: true },
        ],
      );
    };
    try {
      // Decoy before and after the real pair: whichever order the token returns them in.
      const before = randomBytes(16);
      decoy(before, 'r5-decoy-before');
      pair(before, 'r5-before');
      const after = randomBytes(16);
      pair(after, 'r5-after');
      decoy(after, 'r5-decoy-after');
      for (const label of ['r5-before', 'r5-after']) {
        const ref = `pkcs11:object=${label};type=private`;
        const { spki } = await provider.getPublicKey(ref);
        const signature = await provider.sign({ ref, algorithm: 'ECDSA_SHA_256', message });
        const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
        expect(verify('sha256', message, publicKey, signature), label).toBe(true);
        expect(await provider.verify({ ref, algorithm: 'ECDSA_SHA_256', message, signature }), label).toBe(
          true,
        );
      }
      // Same CKA_ID and same label: no way to tell, so refused (never a guess).
      const same = randomBytes(16);
      pair(same, 'r5-same');
      decoy(same, 'r5-same');
      const error = await expectCode(
        provider.getPublicKey('pkcs11:object=r5-same;type=private'),
        'AMBIGUOUS_KEY',
      );
      expect(error.message).toContain('more than one public key');
    } finally {
      library.C_CloseSession(session);
    }
  });

  it('6. concurrent createKey calls with one label create one key (every profile)', async () => {
    for (const which of [nss!, softhsm!]) {
      const provider = await open(which);
      const label = `r6-${which.name}`;
      const results = await Promise.allSettled(
        Array.from({ length: 3 }, () =>
          provider.createKey({ spec: 'ECC_NIST_P256', usage: 'SIGN_VERIFY', label }),
        ),
      );
      expect(
        results.filter((result) => result.status === 'fulfilled'),
        which.name,
      ).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect((result.reason as KeyswitchError).code).toBe('KEY_EXISTS');
      }
      expect((await provider.describeKey(`pkcs11:object=${label};type=private`)).spec).toBe('ECC_NIST_P256');
    }
  });

  it('7. a type=public reference to a disabled key is KEY_DISABLED for verify and encrypt', async () => {
    for (const which of [softhsm!, nss!]) {
      const provider = await open(which);
      const sign = await provider.createKey({
        spec: 'ECC_NIST_P256',
        usage: 'SIGN_VERIFY',
        label: `r7-sign-${which.name}`,
      });
      const rsa = await provider.createKey({
        spec: 'RSA_2048',
        usage: 'ENCRYPT_DECRYPT',
        label: `r7-rsa-${which.name}`,
      });
      const signature = await provider.sign({ ref: sign.ref, algorithm: 'ECDSA_SHA_256', message });
      const signPublic = `pkcs11:object=r7-sign-${which.name};type=public`;
      const rsaPublic = `pkcs11:object=r7-rsa-${which.name};type=public`;
      expect(await provider.verify({ ref: signPublic, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(
        true,
      );
      await provider.disableKey(sign.ref);
      await provider.disableKey(rsa.ref);
      expect((await provider.describeKey(signPublic)).state).toBe('DISABLED');
      await expectCode(
        provider.verify({ ref: signPublic, algorithm: 'ECDSA_SHA_256', message, signature }),
        'KEY_DISABLED',
      );
      await expectCode(
        provider.encrypt({ ref: rsaPublic, algorithm: 'RSAES_OAEP_SHA_1', plaintext: message }),
        'KEY_DISABLED',
      );
      await provider.enableKey(sign.ref);
      await provider.enableKey(rsa.ref);
      expect(await provider.verify({ ref: signPublic, algorithm: 'ECDSA_SHA_256', message, signature })).toBe(
        true,
      );
      expect(
        await provider.encrypt({ ref: rsaPublic, algorithm: 'RSAES_OAEP_SHA_1', plaintext: message }),
      ).toHaveLength(256);
    }
  });

  it('8. the generic profile runs on worker threads by default, C_GenerateRandom included', async () => {
    const provider = await open(softhsm!, { profile: 'generic' });
    expect(provider.execution).toBe('worker');
    const library = loadedModule(softhsm!.module)!;
    await patched(
      library,
      'C_GenerateRandom',
      () => () => {
        throw new Error('C_GenerateRandom ran on the main thread');
      },
      async () => {
        expect(await provider.generateRandom(16)).toHaveLength(16);
      },
    );
  });
});
