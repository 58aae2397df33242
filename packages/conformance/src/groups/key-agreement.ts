import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { bytesEqual, KEY_SPECS, type KeySpec, keySpecInfo } from '@keyswitch/core';
import { check, checkBytesEqual, expectCode } from '../lib/assertions.js';
import { peerPublicKey } from '../lib/exercise-key.js';
import { defineGroup, type Session } from '../lib/group.js';
import { nodeSharedSecret, nodeSpki } from '../lib/node-crypto.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';

const generateKeyPairAsync = promisify(generateKeyPair);
const EC_SPECS: readonly KeySpec[] = KEY_SPECS.filter((spec) => keySpecInfo(spec).family === 'EC');

/**
 * The key agreement group, for every EC key spec: the ECDH shared secret equals node:crypto's computed
 * on the peer's side (the raw x coordinate, field-size bytes), each peer gets its own secret and the same
 * peer the same one, and a peer key on another curve fails with INVALID_INPUT.
 *
 * @example
 * ```ts
 * keyAgreementTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function keyAgreementTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  const needs = EC_SPECS.map((spec) => ({ spec, usage: 'KEY_AGREEMENT' as const }));
  defineGroup(resolved, 'key-agreement', 'key agreement', needs, (group) => {
    for (const spec of EC_SPECS) {
      group.describe(`ECDH with ${spec}`, () => declareChecks(group.test, spec));
    }
  });
}

function declareChecks(
  test: (name: string, body: (session: Session) => Promise<void>) => void,
  spec: KeySpec,
): void {
  const keyFor = (session: Session) =>
    session.keyFor(spec, 'KEY_AGREEMENT', {
      algorithm: 'ECDH',
      attempt: (ref) =>
        session.provider.deriveSharedSecret({ ref, algorithm: 'ECDH', publicKey: peerPublicKey(spec) }),
    });
  const peer = async () =>
    (await generateKeyPairAsync('ec', { namedCurve: keySpecInfo(spec).namedCurve! })).privateKey;

  test("the shared secret equals node:crypto's on the peer's side", async (session) => {
    const key = await keyFor(session);
    const peerKey = await peer();
    const secret = await session.provider.deriveSharedSecret({
      ref: key.ref,
      algorithm: 'ECDH',
      publicKey: nodeSpki(peerKey),
    });
    const size = keySpecInfo(spec).coordinateBytes!;
    check(
      secret.byteLength === size,
      `an ECDH secret on ${spec} must be ${size} bytes, got ${secret.byteLength}`,
    );
    checkBytesEqual(
      secret,
      nodeSharedSecret(peerKey, await key.publicKey()),
      "the shared secret against node:crypto's",
    );
  });

  test('each peer gets its own secret, and the same peer the same one', async (session) => {
    const key = await keyFor(session);
    const [first, second] = [nodeSpki(await peer()), nodeSpki(await peer())];
    const derive = (publicKey: Uint8Array) =>
      session.provider.deriveSharedSecret({ ref: key.ref, algorithm: 'ECDH', publicKey });
    const secret = await derive(first);
    checkBytesEqual(await derive(first), secret, 'a second derivation with the same peer');
    check(!bytesEqual(await derive(second), secret), 'two peers gave the same shared secret');
  });

  test('a peer key on another curve fails with INVALID_INPUT', async (session) => {
    const key = await keyFor(session);
    const other = EC_SPECS.find((candidate) => candidate !== spec)!;
    await expectCode(
      () =>
        session.provider.deriveSharedSecret({
          ref: key.ref,
          algorithm: 'ECDH',
          publicKey: peerPublicKey(other),
        }),
      'INVALID_INPUT',
      `derivation with a ${other} peer key`,
    );
  });
}
