import {
  algorithmInfo,
  algorithmsFor,
  ecdsaDerToP1363,
  ecdsaP1363ToDer,
  KEY_SPECS,
  type KeySpec,
  keySpecInfo,
  type SigningAlgorithm,
  utf8,
} from '@keyswitch/core';
import { check, checkBoolean, checkBytesEqual, checkRejectedSignature } from '../lib/assertions.js';
import { flipBit } from '../lib/byte-inputs.js';
import { defineGroup, type Session } from '../lib/group.js';
import { nodeDigest, nodeSign, nodeVerify } from '../lib/node-crypto.js';
import { signatureMutations } from '../lib/signature-mutations.js';
import { resolveSuiteOptions } from '../lib/suite-options.js';
import type { SuiteOptions } from '../options.js';

const SIGNING_SPECS: readonly KeySpec[] = KEY_SPECS.filter((spec) =>
  keySpecInfo(spec).usages.includes('SIGN_VERIFY'),
);

/**
 * The signing group: for every signing algorithm and key spec pair, signatures verify with node:crypto
 * using the exported public key; RSA-PSS salts are as long as the digest; ECDSA works in DER and P1363;
 * message and digest signing agree; the empty message signs and verifies (the core hashes it where the
 * backend cannot take it whole); a changed message and every malformed variant of a signature (bytes
 * dropped or added, zero padding, in DER and P1363) verify as `false`. With an `importKey` option, also:
 * node:crypto's signatures (over an imported key) verify through the provider, PSS signatures with
 * another salt length do not, and an RSA signature with its leading zero byte dropped does not.
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, describe, it } from 'vitest';
 * signingTests({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open() });
 * ```
 */
export function signingTests(options: SuiteOptions): void {
  const resolved = resolveSuiteOptions(options);
  const needs = SIGNING_SPECS.map((spec) => ({ spec, usage: 'SIGN_VERIFY' as const, imported: true }));
  defineGroup(resolved, 'signing', 'signing', needs, (group) => {
    for (const spec of SIGNING_SPECS) {
      for (const algorithm of algorithmsFor(spec, 'SIGN_VERIFY') as SigningAlgorithm[]) {
        group.describe(`${algorithm} with ${spec}`, () => declareChecks(group.test, spec, algorithm));
      }
    }
  });
}

function declareChecks(
  test: (name: string, body: (session: Session) => Promise<void>) => void,
  spec: KeySpec,
  algorithm: SigningAlgorithm,
): void {
  const info = algorithmInfo(algorithm);
  const message = utf8(`keyswitch conformance ${algorithm} ${spec}`);
  const keyFor = (session: Session) =>
    session.keyFor(spec, 'SIGN_VERIFY', {
      algorithm,
      attempt: (ref) => session.provider.sign({ ref, algorithm, message }),
    });
  const importedFor = (session: Session) =>
    session.importedFor(spec, 'SIGN_VERIFY', {
      algorithm,
      attempt: (ref) => session.provider.sign({ ref, algorithm, message }),
    });

  test('signs; node:crypto verifies with the exported public key', async (session) => {
    const key = await keyFor(session);
    const signature = await session.provider.sign({ ref: key.ref, algorithm, message });
    if (info.family !== 'ECDSA') {
      check(
        signature.byteLength === keySpecInfo(spec).bits / 8,
        `an RSA signature must be ${keySpecInfo(spec).bits / 8} bytes, got ${signature.byteLength}`,
      );
    }
    check(
      nodeVerify(algorithm, await key.publicKey(), message, signature),
      `node:crypto does not verify the signature with the exported public key${info.family === 'RSA_PSS' ? ` (salt ${info.digestBytes} bytes)` : ''}`,
    );
    checkBoolean(
      await session.provider.verify({ ref: key.ref, algorithm, message, signature }),
      true,
      'verify of its own signature',
    );
  });

  if (info.family === 'RSA_PSS') {
    test('RSA-PSS: the salt is as long as the digest', async (session) => {
      const key = await keyFor(session);
      const publicKey = await key.publicKey();
      const signature = await session.provider.sign({ ref: key.ref, algorithm, message });
      if (nodeVerify(algorithm, publicKey, message, signature, { saltLength: info.digestBytes! })) return;
      const maximum = keySpecInfo(spec).bits / 8 - info.digestBytes! - 2;
      const found = [0, 20, 32, 48, 64, maximum].find((saltLength) =>
        nodeVerify(algorithm, publicKey, message, signature, { saltLength }),
      );
      check(
        false,
        `the salt must be ${info.digestBytes} bytes; ${found === undefined ? 'no common salt length verifies' : `it is ${found} bytes`}`,
      );
    });

    test('RSA-PSS: verify refuses signatures with another salt length', async (session) => {
      const key = await importedFor(session);
      const maximum = keySpecInfo(spec).bits / 8 - info.digestBytes! - 2;
      for (const saltLength of [0, maximum]) {
        const signature = nodeSign(algorithm, key.material!, message, { saltLength });
        await checkRejectedSignature(
          () => session.provider.verify({ ref: key.ref, algorithm, message, signature }),
          `a node:crypto signature with a ${saltLength}-byte salt`,
        );
      }
    });
  }

  test('node:crypto signatures over an imported key verify through the provider', async (session) => {
    const key = await importedFor(session);
    const signature = nodeSign(algorithm, key.material!, message);
    checkBoolean(
      await session.provider.verify({ ref: key.ref, algorithm, message, signature }),
      true,
      'verify of a node:crypto signature',
    );
    if (info.family === 'ECDSA') {
      const p1363 = nodeSign(algorithm, key.material!, message, { format: 'P1363' });
      checkBoolean(
        await session.provider.verify({
          ref: key.ref,
          algorithm,
          message,
          signature: p1363,
          signatureFormat: 'P1363',
        }),
        true,
        'verify of a node:crypto P1363 signature',
      );
    }
    const own = await session.provider.sign({ ref: key.ref, algorithm, message });
    check(
      nodeVerify(algorithm, key.material!, message, own),
      'node:crypto does not verify a signature made with the imported key',
    );
  });

  test('a changed message or signature verifies as false, not an error', async (session) => {
    const key = await keyFor(session);
    const signature = await session.provider.sign({ ref: key.ref, algorithm, message });
    const verify = (changed: { message?: Uint8Array; signature?: Uint8Array }) => () =>
      session.provider.verify({
        ref: key.ref,
        algorithm,
        message: changed.message ?? message,
        signature: changed.signature ?? signature,
      });
    await checkRejectedSignature(verify({ message: flipBit(message, 0) }), 'verify of a changed message');
    await checkRejectedSignature(
      verify({ signature: flipBit(signature, signature.length >> 1) }),
      'verify of a changed signature',
    );
    await checkRejectedSignature(
      verify({ signature: flipBit(signature, -1) }),
      'verify of a signature with its last byte changed',
    );
    await checkRejectedSignature(
      verify({ signature: signature.subarray(0, -1) }),
      'verify of a truncated signature',
    );
  });

  test('the empty message signs and verifies; node:crypto agrees', async (session) => {
    const key = await keyFor(session);
    const empty = new Uint8Array(0);
    const signature = await session.provider.sign({ ref: key.ref, algorithm, message: empty });
    check(
      nodeVerify(algorithm, await key.publicKey(), empty, signature),
      'node:crypto does not verify the signature of the empty message',
    );
    checkBoolean(
      await session.provider.verify({ ref: key.ref, algorithm, message: empty, signature }),
      true,
      'verify of the empty message',
    );
    await checkRejectedSignature(
      () => session.provider.verify({ ref: key.ref, algorithm, message: utf8('x'), signature }),
      'verify of the empty message signature over another message',
    );
  });

  test('malformed signatures (bytes dropped or added, zero padding) verify as false', async (session) => {
    const key = await keyFor(session);
    const formats = info.family === 'ECDSA' ? (['DER', 'P1363'] as const) : (['DER'] as const);
    for (const signatureFormat of formats) {
      const signature = await session.provider.sign({ ref: key.ref, algorithm, message, signatureFormat });
      const layout = info.family === 'ECDSA' ? signatureFormat : 'RSA';
      for (const mutation of signatureMutations(signature, layout)) {
        await checkRejectedSignature(
          () =>
            session.provider.verify({
              ref: key.ref,
              algorithm,
              message,
              signature: mutation.signature,
              signatureFormat,
            }),
          `verify of a ${info.family === 'ECDSA' ? `${signatureFormat} ` : ''}signature with ${mutation.name}`,
        );
      }
    }
  });

  if (info.family !== 'ECDSA' && spec === 'RSA_2048') {
    test('an RSA signature with its leading zero byte dropped verifies as false', async (session) => {
      const key = await importedFor(session);
      // A signature that starts with a zero byte: about one message in 256.
      let leadingZero: { message: Uint8Array; signature: Uint8Array } | undefined;
      for (let counter = 0; leadingZero === undefined && counter < 8192; counter++) {
        const candidate = utf8(`keyswitch conformance leading zero ${counter}`);
        const signature = nodeSign(algorithm, key.material!, candidate);
        if (signature[0] === 0) leadingZero = { message: candidate, signature };
      }
      check(leadingZero !== undefined, 'no node:crypto signature with a leading zero byte in 8,192 tries');
      const { message: signed, signature } = leadingZero!;
      checkBoolean(
        await session.provider.verify({ ref: key.ref, algorithm, message: signed, signature }),
        true,
        'verify of the full-length signature',
      );
      await checkRejectedSignature(
        () =>
          session.provider.verify({
            ref: key.ref,
            algorithm,
            message: signed,
            signature: signature.slice(1),
          }),
        'verify of the signature with its leading zero byte dropped (the same integer, one byte short)',
      );
    });
  }

  test('message (RAW) and precomputed digest (DIGEST) signing agree', async (session) => {
    const key = await keyFor(session);
    const digest = nodeDigest(algorithm, message);
    const fromDigest = await session.provider.sign({
      ref: key.ref,
      algorithm,
      message: digest,
      messageType: 'DIGEST',
    });
    check(
      nodeVerify(algorithm, await key.publicKey(), message, fromDigest),
      'node:crypto does not verify a DIGEST signature over the message',
    );
    const fromMessage = await session.provider.sign({ ref: key.ref, algorithm, message });
    checkBoolean(
      await session.provider.verify({ ref: key.ref, algorithm, message, signature: fromDigest }),
      true,
      'verify (RAW) of a DIGEST signature',
    );
    checkBoolean(
      await session.provider.verify({
        ref: key.ref,
        algorithm,
        message: digest,
        messageType: 'DIGEST',
        signature: fromMessage,
      }),
      true,
      'verify (DIGEST) of a RAW signature',
    );
    if (info.family === 'RSA_PKCS1')
      checkBytesEqual(fromDigest, fromMessage, 'PKCS#1 v1.5 signatures of a message and its digest');
  });

  if (info.family === 'ECDSA') {
    test('ECDSA: signs and verifies in DER and in P1363', async (session) => {
      const key = await keyFor(session);
      const publicKey = await key.publicKey();
      const size = keySpecInfo(spec).coordinateBytes!;
      const der = await session.provider.sign({ ref: key.ref, algorithm, message });
      let strict: Uint8Array | undefined;
      try {
        strict = ecdsaP1363ToDer(ecdsaDerToP1363(der, size));
      } catch {
        strict = undefined;
      }
      check(strict !== undefined, 'the default (DER) signature is not a DER ECDSA signature');
      checkBytesEqual(der, strict, 'the DER signature re-encoded strictly');
      const p1363 = await session.provider.sign({
        ref: key.ref,
        algorithm,
        message,
        signatureFormat: 'P1363',
      });
      check(
        p1363.byteLength === 2 * size,
        `a P1363 signature must be ${2 * size} bytes, got ${p1363.byteLength}`,
      );
      check(
        nodeVerify(algorithm, publicKey, message, p1363, { format: 'P1363' }),
        'node:crypto does not verify the P1363 signature',
      );
      const verify = (signature: Uint8Array, signatureFormat: 'DER' | 'P1363') =>
        session.provider.verify({ ref: key.ref, algorithm, message, signature, signatureFormat });
      checkBoolean(await verify(p1363, 'P1363'), true, 'verify of a P1363 signature as P1363');
      checkBoolean(await verify(der, 'DER'), true, 'verify of a DER signature as DER');
      await checkRejectedSignature(() => verify(p1363, 'DER'), 'verify of a P1363 signature as DER');
      await checkRejectedSignature(() => verify(der, 'P1363'), 'verify of a DER signature as P1363');
    });
  }
}
