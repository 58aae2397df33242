import type { EncryptionContext, MacAlgorithm, SigningAlgorithm } from '@keyswitch/core';
import { bytesEqual, utf8 } from '@keyswitch/core';
import { anyKey, preferredSpecs } from '../lib/any-key.js';
import { check, describeError, expectCode } from '../lib/assertions.js';
import { randomInput } from '../lib/byte-inputs.js';
import { declaredAlgorithm } from '../lib/exercise-key.js';
import { defineGroup, type Session } from '../lib/group.js';
import { hex } from '../lib/hex-preview.js';
import { nodeVerify } from '../lib/node-crypto.js';
import { NotRun } from '../lib/outcomes.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';

/**
 * How many operations the concurrency check keeps in flight at once.
 *
 * @example
 * ```ts
 * report.results.find((result) => result.name === `${CONCURRENT_OPERATIONS} operations in flight give ${CONCURRENT_OPERATIONS} correct results`);
 * ```
 */
export const CONCURRENT_OPERATIONS = 200;

/**
 * The concurrency group: 200 operations in flight at once (ECDSA and RSA signatures, encryptions,
 * decryptions and MACs, mixed, each with its own input) give 200 correct results, each checked on its
 * own; `close()` waits for operations in flight and then refuses new calls with CLOSED.
 *
 * @example
 * ```ts
 * concurrencyTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function concurrencyTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  const needs = [
    { spec: 'ECC_NIST_P256' as const, usage: 'SIGN_VERIFY' as const },
    { spec: 'RSA_2048' as const, usage: 'SIGN_VERIFY' as const },
    { spec: 'SYMMETRIC_DEFAULT' as const, usage: 'ENCRYPT_DECRYPT' as const },
    { spec: 'HMAC_256' as const, usage: 'GENERATE_VERIFY_MAC' as const },
  ];
  defineGroup(resolved, 'concurrency', 'concurrency', needs, (group) => {
    group.test(
      `${CONCURRENT_OPERATIONS} operations in flight give ${CONCURRENT_OPERATIONS} correct results`,
      async (session) => {
        const kinds = await operationKinds(session);
        if (kinds.length === 0)
          throw new NotRun('needs a signing, SYMMETRIC_DEFAULT or MAC key with a declared algorithm');
        const prepared = await Promise.all(kinds.map((kind) => kind.prepare()));
        // Every operation starts before any is awaited: all of them are in flight together.
        const running = Array.from({ length: CONCURRENT_OPERATIONS }, (_, index) => {
          const kind = kinds[index % kinds.length]!;
          const input = prepared[index % kinds.length]![Math.floor(index / kinds.length)]!;
          return { kind, input, result: kind.run(input) };
        });
        const settled = await Promise.allSettled(running.map((operation) => operation.result));
        const wrong: string[] = [];
        for (const [index, outcome] of settled.entries()) {
          const { kind, input } = running[index]!;
          if (outcome.status === 'rejected') {
            wrong.push(`#${index} (${kind.name}) failed: ${describeError(outcome.reason)}`);
            continue;
          }
          const problem = await kind.check(input, outcome.value);
          if (problem) wrong.push(`#${index} (${kind.name}): ${problem}`);
        }
        const seen = new Set<string>();
        for (const [index, outcome] of settled.entries()) {
          if (outcome.status !== 'fulfilled' || !running[index]!.kind.distinct) continue;
          const value = hex(outcome.value);
          if (seen.has(value))
            wrong.push(`#${index} (${running[index]!.kind.name}): the same result as another operation`);
          seen.add(value);
        }
        check(
          wrong.length === 0,
          `${wrong.length} of ${CONCURRENT_OPERATIONS} operations gave a wrong result: ${wrong.slice(0, 5).join('; ')}${wrong.length > 5 ? '; …' : ''}`,
        );
      },
    );

    group.test(
      'close() waits for the operations in flight, then refuses new calls with CLOSED',
      async (session) => {
        const provider = await session.freshProvider();
        const useRandom = (await provider.capabilities()).operations.generateRandom;
        const missing = session.options.missingKeyRef;
        const call = () => (useRandom ? provider.generateRandom(32) : provider.describeKey(missing));
        let settled = 0;
        const count = () => {
          settled++;
        };
        // The counting handlers sit directly on the operations' promises, so they run before close() can resolve.
        const inFlight = Array.from({ length: 50 }, () => call().then(count, count));
        await provider.close();
        check(settled === 50, `close() resolved with ${50 - settled} of 50 operations still in flight`);
        await Promise.all(inFlight);
        await expectCode(call, 'CLOSED', 'a call after close()');
      },
    );
  });
}

/** One kind of operation in the mix: its inputs, the call, and how to check one result. */
interface OperationKind {
  readonly name: string;
  /** Whether results of different inputs must differ (signatures, ciphertexts, MACs). */
  readonly distinct: boolean;
  prepare(): Promise<Input[]>;
  run(input: Input): Promise<Uint8Array>;
  /** A description of what is wrong with `result`, or undefined. */
  check(input: Input, result: Uint8Array): Promise<string | undefined>;
}

interface Input {
  readonly data: Uint8Array;
  readonly context?: EncryptionContext;
  readonly expected?: Uint8Array;
}

async function operationKinds(session: Session): Promise<OperationKind[]> {
  const { provider, capabilities } = session;
  const perKind = (count: number) => Math.ceil(CONCURRENT_OPERATIONS / count);
  const kinds: Array<(count: number) => OperationKind> = [];
  const unique = (index: number): Input => ({
    data: utf8(`concurrent operation ${index} ${hex(randomInput(8))}`),
  });

  for (const family of ['EC', 'RSA'] as const) {
    const key = await anyKey(session, 'SIGN_VERIFY', preferredSpecs('SIGN_VERIFY', family));
    if (!key) continue;
    const algorithm = declaredAlgorithm(capabilities, key.spec, key.usage) as SigningAlgorithm;
    const publicKey = await key.publicKey();
    kinds.push((count) => ({
      name: `sign ${algorithm}`,
      distinct: true,
      prepare: async () => Array.from({ length: perKind(count) }, (_, index) => unique(index)),
      run: (input) => provider.sign({ ref: key.ref, algorithm, message: input.data }),
      check: async (input, signature) =>
        nodeVerify(algorithm, publicKey, input.data, signature)
          ? undefined
          : 'node:crypto does not verify the signature over its message',
    }));
  }

  const symmetric = await anyKey(session, 'ENCRYPT_DECRYPT', preferredSpecs('ENCRYPT_DECRYPT', 'AES'));
  if (symmetric) {
    const ref = symmetric.ref;
    const algorithm = 'SYMMETRIC_DEFAULT';
    const decrypt = (input: Input, ciphertext: Uint8Array) =>
      provider.decrypt({ ref, algorithm, ciphertext, ...(input.context ? { context: input.context } : {}) });
    const withContext = (index: number): Input => ({
      ...unique(index),
      context: { operation: String(index) },
    });
    kinds.push((count) => ({
      name: 'encrypt SYMMETRIC_DEFAULT',
      distinct: true,
      prepare: async () => Array.from({ length: perKind(count) }, (_, index) => withContext(index)),
      run: (input) => provider.encrypt({ ref, algorithm, plaintext: input.data, context: input.context! }),
      check: async (input, ciphertext) => {
        const decrypted = await decrypt(input, ciphertext).catch((error: unknown) => describeError(error));
        if (typeof decrypted === 'string') return `its ciphertext does not decrypt: ${decrypted}`;
        return bytesEqual(decrypted, input.data) ? undefined : 'its ciphertext decrypts to another plaintext';
      },
    }));
    kinds.push((count) => ({
      name: 'decrypt SYMMETRIC_DEFAULT',
      distinct: false,
      prepare: async () => {
        const inputs: Input[] = [];
        for (let index = 0; index < perKind(count); index++) {
          const input = withContext(index + CONCURRENT_OPERATIONS);
          const ciphertext = await provider.encrypt({
            ref,
            algorithm,
            plaintext: input.data,
            context: input.context!,
          });
          inputs.push({ data: ciphertext, context: input.context!, expected: input.data });
        }
        return inputs;
      },
      run: (input) => decrypt(input, input.data),
      check: async (input, plaintext) =>
        bytesEqual(plaintext, input.expected!) ? undefined : 'decrypted to another plaintext',
    }));
  }

  const macKey = await anyKey(session, 'GENERATE_VERIFY_MAC');
  if (macKey) {
    const algorithm = declaredAlgorithm(capabilities, macKey.spec, macKey.usage) as MacAlgorithm;
    kinds.push((count) => ({
      name: `MAC ${algorithm}`,
      distinct: true,
      prepare: async () => Array.from({ length: perKind(count) }, (_, index) => unique(index)),
      run: (input) => provider.generateMac({ ref: macKey.ref, algorithm, message: input.data }),
      check: async (input, mac) =>
        (await provider.verifyMac({ ref: macKey.ref, algorithm, message: input.data, mac }))
          ? undefined
          : 'verifyMac rejects the MAC',
    }));
  }
  return kinds.map((make) => make(kinds.length));
}
