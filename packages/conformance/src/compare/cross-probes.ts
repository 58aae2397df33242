import type { KeyObject } from 'node:crypto';
import {
  ALGORITHMS,
  type Algorithm,
  algorithmInfo,
  bytesEqual,
  type Capabilities,
  type EncryptionAlgorithm,
  type KeySpec,
  type KeyUsage,
  type MacAlgorithm,
  type SigningAlgorithm,
} from '@keyswitch/core';
import { PREFERRED_SPECS } from '../lib/any-key.js';
import { randomInput } from '../lib/byte-inputs.js';
import { generateNodeKey, nodeSpki } from '../lib/node-crypto.js';
import type { Difference, Fact, Facts } from './comparison-report.js';
import { observe } from './observe.js';
import { bothOffer, CONTEXT, commonSpec, MESSAGE } from './probe-inputs.js';
import type { ProbeSide } from './probes.js';

/**
 * A cross probe: key material imported into both sides, outputs of each checked through the other.
 *
 * @example
 * ```ts
 * const { differences } = await probe.run(sideA, sideB, (spec) => generateNodeKey(spec));
 * ```
 */
export interface CrossProbe {
  readonly name: string;
  run(
    a: ProbeSide,
    b: ProbeSide,
    material: (spec: KeySpec) => Promise<KeyObject>,
  ): Promise<{ a: Facts; b: Facts; differences: Difference[] }>;
}

/**
 * Cross probes: the same key material in both providers; each side's output goes through the other.
 *
 * @example
 * ```ts
 * for (const probe of planCrossProbes(a.capabilities, b.capabilities)) await probe.run(a, b, material);
 * ```
 */
export function planCrossProbes(a: Capabilities, b: Capabilities): CrossProbe[] {
  const probes: CrossProbe[] = [];
  for (const algorithm of ALGORITHMS.filter((candidate) => bothOffer(a, b, candidate))) {
    const info = algorithmInfo(algorithm);
    const spec = commonSpec(a, b, info.usage, algorithm);
    if (spec === undefined || info.usage === 'KEY_AGREEMENT') continue;
    probes.push(crossProbe(spec, info.usage, algorithm));
  }
  for (const spec of PREFERRED_SPECS.KEY_AGREEMENT) {
    if (bothOffer(a, b, 'ECDH') && commonSpec(a, b, 'KEY_AGREEMENT') !== undefined) {
      if ([a, b].every((capabilities) => capabilities.keySpecs[spec]?.usages.includes('KEY_AGREEMENT'))) {
        probes.push(crossProbe(spec, 'KEY_AGREEMENT', 'ECDH'));
      }
    }
  }
  return probes;
}

function crossProbe(spec: KeySpec, usage: KeyUsage, algorithm: Algorithm): CrossProbe {
  return {
    name: `${algorithm} with ${spec}, the same key imported into both`,
    async run(a, b, material) {
      const key = await material(spec);
      const [keyA, keyB] = [
        await a.pool.importShared(spec, usage, key),
        await b.pool.importShared(spec, usage, key),
      ];
      const differences: Difference[] = [];
      const facts = { a: {} as Record<string, Fact>, b: {} as Record<string, Fact> };
      const mismatch = (fact: string, explanation: string, severity: 'breaking' | 'notice' = 'breaking') =>
        differences.push({
          area: 'cross',
          check: `${algorithm} with ${spec}`,
          fact,
          a: facts.a[fact],
          b: facts.b[fact],
          severity,
          explanation,
        });
      const sides = [
        [a, keyA, b, keyB, facts.a],
        [b, keyB, a, keyA, facts.b],
      ] as const;
      const family = algorithmInfo(algorithm).family;
      if (usage === 'SIGN_VERIFY') {
        const signing = algorithm as SigningAlgorithm;
        for (const [self, selfKey, other, otherKey, record] of sides) {
          const signature = await other.provider.sign({
            ref: otherKey.ref,
            algorithm: signing,
            message: MESSAGE,
          });
          record.verifiesOtherSidesSignature = await observe(() =>
            self.provider.verify({ ref: selfKey.ref, algorithm: signing, message: MESSAGE, signature }),
          );
        }
        if (facts.a.verifiesOtherSidesSignature !== true || facts.b.verifiesOtherSidesSignature !== true) {
          mismatch(
            'verifiesOtherSidesSignature',
            'a signature made by one side does not verify through the other (the same key in both)',
          );
        }
        if (family === 'RSA_PKCS1') {
          const [sigA, sigB] = [
            await a.provider.sign({ ref: keyA.ref, algorithm: signing, message: MESSAGE }),
            await b.provider.sign({ ref: keyB.ref, algorithm: signing, message: MESSAGE }),
          ];
          facts.a.identicalSignature = facts.b.identicalSignature = bytesEqual(sigA, sigB);
          if (!bytesEqual(sigA, sigB))
            mismatch(
              'identicalSignature',
              'PKCS#1 v1.5 is deterministic: the same key and message must give the same bytes',
            );
        }
      } else if (algorithm === 'SYMMETRIC_DEFAULT') {
        for (const [self, selfKey, other, otherKey, record] of sides) {
          const plaintext = randomInput(32);
          const ciphertext = await other.provider.encrypt({
            ref: otherKey.ref,
            algorithm,
            plaintext,
            context: CONTEXT,
          });
          record.decryptsOtherSidesCiphertext = await observe(async () =>
            bytesEqual(
              await self.provider.decrypt({ ref: selfKey.ref, algorithm, ciphertext, context: CONTEXT }),
              plaintext,
            ),
          );
        }
        if (facts.a.decryptsOtherSidesCiphertext !== true || facts.b.decryptsOtherSidesCiphertext !== true) {
          mismatch(
            'decryptsOtherSidesCiphertext',
            'SYMMETRIC_DEFAULT ciphertext is backend-specific: data encrypted on one side must be re-encrypted (re-wrapped) to move',
            'notice',
          );
        }
      } else if (usage === 'ENCRYPT_DECRYPT') {
        const encryption = algorithm as EncryptionAlgorithm;
        for (const [self, selfKey, other, otherKey, record] of sides) {
          const plaintext = randomInput(32);
          const ciphertext = await other.provider.encrypt({
            ref: otherKey.ref,
            algorithm: encryption,
            plaintext,
          });
          record.decryptsOtherSidesCiphertext = await observe(async () =>
            bytesEqual(
              await self.provider.decrypt({ ref: selfKey.ref, algorithm: encryption, ciphertext }),
              plaintext,
            ),
          );
        }
        if (facts.a.decryptsOtherSidesCiphertext !== true || facts.b.decryptsOtherSidesCiphertext !== true) {
          mismatch(
            'decryptsOtherSidesCiphertext',
            'RSA-OAEP ciphertext made by one side does not decrypt on the other (the same key in both)',
          );
        }
      } else if (usage === 'GENERATE_VERIFY_MAC') {
        const mac = algorithm as MacAlgorithm;
        const [tagA, tagB] = [
          await a.provider.generateMac({ ref: keyA.ref, algorithm: mac, message: MESSAGE }),
          await b.provider.generateMac({ ref: keyB.ref, algorithm: mac, message: MESSAGE }),
        ];
        facts.a.identicalMac = facts.b.identicalMac = bytesEqual(tagA, tagB);
        if (!bytesEqual(tagA, tagB))
          mismatch('identicalMac', 'HMAC is deterministic: the same key and message must give the same MAC');
      } else {
        const peer = nodeSpki(await generateNodeKey(spec));
        const [secretA, secretB] = [
          await a.provider.deriveSharedSecret({ ref: keyA.ref, algorithm: 'ECDH', publicKey: peer }),
          await b.provider.deriveSharedSecret({ ref: keyB.ref, algorithm: 'ECDH', publicKey: peer }),
        ];
        facts.a.identicalSecret = facts.b.identicalSecret = bytesEqual(secretA, secretB);
        if (!bytesEqual(secretA, secretB))
          mismatch('identicalSecret', 'ECDH with the same key and peer must give the same secret');
      }
      return { a: facts.a, b: facts.b, differences };
    },
  };
}
