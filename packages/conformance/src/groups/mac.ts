import {
  algorithmInfo,
  algorithmsFor,
  bytesEqual,
  KEY_SPECS,
  type KeySpec,
  keySpecInfo,
  LIMITS,
  type MacAlgorithm,
  utf8,
} from '@keyswitch/core';
import { check, checkBoolean, checkBytesEqual, checkRejectedSignature } from '../lib/assertions.js';
import { flipBit, randomInput } from '../lib/byte-inputs.js';
import { defineGroup, type Session } from '../lib/group.js';
import { nodeHmac } from '../lib/node-crypto.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';

const HMAC_SPECS: readonly KeySpec[] = KEY_SPECS.filter((spec) => keySpecInfo(spec).family === 'HMAC');

/**
 * The MAC group, for every HMAC key spec: tags are as long as the digest and the same for the same
 * message, verifyMac accepts the right tag and answers `false` for a changed message or tag, messages up
 * to the limit work; with an `importKey` option, tags equal node:crypto's HMAC with the same key.
 *
 * @example
 * ```ts
 * macTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function macTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  const needs = HMAC_SPECS.map((spec) => ({ spec, usage: 'GENERATE_VERIFY_MAC' as const, imported: true }));
  defineGroup(resolved, 'mac', 'MAC', needs, (group) => {
    for (const spec of HMAC_SPECS) {
      for (const algorithm of algorithmsFor(spec, 'GENERATE_VERIFY_MAC') as MacAlgorithm[]) {
        group.describe(`${algorithm} with ${spec}`, () => declareChecks(group.test, spec, algorithm));
      }
    }
  });
}

function declareChecks(
  test: (name: string, body: (session: Session) => Promise<void>) => void,
  spec: KeySpec,
  algorithm: MacAlgorithm,
): void {
  const message = utf8(`keyswitch conformance ${algorithm}`);
  const attempt = (session: Session) => (ref: string) =>
    session.provider.generateMac({ ref, algorithm, message });
  const keyFor = (session: Session) =>
    session.keyFor(spec, 'GENERATE_VERIFY_MAC', { algorithm, attempt: attempt(session) });

  test('a MAC is as long as the digest and the same for the same message', async (session) => {
    const { ref } = await keyFor(session);
    const first = await session.provider.generateMac({ ref, algorithm, message });
    const digestBytes = algorithmInfo(algorithm).digestBytes!;
    check(
      first.byteLength === digestBytes,
      `a ${algorithm} MAC must be ${digestBytes} bytes, got ${first.byteLength}`,
    );
    checkBytesEqual(
      await session.provider.generateMac({ ref, algorithm, message }),
      first,
      'a second MAC of the same message',
    );
    const other = await session.provider.generateMac({ ref, algorithm, message: flipBit(message, 0) });
    check(!bytesEqual(other, first), 'two different messages have the same MAC');
  });

  test('verifyMac accepts the right MAC and answers false for a changed message or MAC', async (session) => {
    const { ref } = await keyFor(session);
    const mac = await session.provider.generateMac({ ref, algorithm, message });
    checkBoolean(
      await session.provider.verifyMac({ ref, algorithm, message, mac }),
      true,
      'verifyMac of the right MAC',
    );
    const verify = (changed: { message?: Uint8Array; mac?: Uint8Array }) => () =>
      session.provider.verifyMac({
        ref,
        algorithm,
        message: changed.message ?? message,
        mac: changed.mac ?? mac,
      });
    await checkRejectedSignature(verify({ message: flipBit(message, -1) }), 'verifyMac of a changed message');
    await checkRejectedSignature(verify({ mac: flipBit(mac, 0) }), 'verifyMac of a changed MAC');
    await checkRejectedSignature(verify({ mac: mac.subarray(0, -1) }), 'verifyMac of a truncated MAC');
    await checkRejectedSignature(verify({ mac: new Uint8Array(0) }), 'verifyMac of an empty MAC');
  });

  test('messages up to the limit work', async (session) => {
    const { ref } = await keyFor(session);
    for (const size of [1, LIMITS.maxMacMessageBytes]) {
      const long = randomInput(size);
      const mac = await session.provider.generateMac({ ref, algorithm, message: long });
      checkBoolean(
        await session.provider.verifyMac({ ref, algorithm, message: long, mac }),
        true,
        `verifyMac of a ${size}-byte message`,
      );
    }
  });

  test('MACs equal node:crypto HMAC with the same (imported) key', async (session) => {
    const key = await session.importedFor(spec, 'GENERATE_VERIFY_MAC', {
      algorithm,
      attempt: attempt(session),
    });
    const mac = await session.provider.generateMac({ ref: key.ref, algorithm, message });
    checkBytesEqual(mac, nodeHmac(algorithm, key.material!, message), 'the MAC against node:crypto HMAC');
  });
}
