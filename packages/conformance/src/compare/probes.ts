import type { KeyObject } from 'node:crypto';
import {
  ALGORITHMS,
  algorithmInfo,
  bytesEqual,
  type Capabilities,
  type EncryptionAlgorithm,
  ecdsaDerToP1363,
  ecdsaP1363ToDer,
  KEY_SPECS,
  type KeyProvider,
  type KeySpec,
  type KeyUsage,
  keySpecInfo,
  LIMITS,
  type MacAlgorithm,
  type SigningAlgorithm,
} from '@keyswitch/core';
import { PREFERRED_SPECS } from '../lib/any-key.js';
import { flipBit, randomInput } from '../lib/byte-inputs.js';
import { declaredAlgorithm, exerciseKey, peerPublicKey } from '../lib/exercise-key.js';
import type { KeyPool } from '../lib/key-pool.js';
import {
  generateNodeKey,
  nodeDigest,
  nodeOaepEncrypt,
  nodeSharedSecret,
  nodeSpki,
  nodeVerify,
  oaepMaxPlaintext,
} from '../lib/node-crypto.js';
import type { ComparisonArea, Fact } from './comparison-report.js';
import { observe } from './observe.js';
import { bothOffer, CONTEXT, commonSpec, MESSAGE } from './probe-inputs.js';

/**
 * One provider as the probes use it.
 *
 * @example
 * ```ts
 * const side: ProbeSide = { provider, capabilities, pool, missingKeyRef: provider.nonexistentKeyRef(), lifecycleRef: undefined };
 * ```
 */
export interface ProbeSide {
  readonly provider: KeyProvider;
  readonly capabilities: Capabilities;
  readonly pool: KeyPool;
  readonly missingKeyRef: string;
  /** The key the lifecycle probe may disable and delete, when keys are pre-provisioned. */
  readonly lifecycleRef: string | undefined;
}

/**
 * A probe: the same inputs through one side, recorded as facts. Facts in `notices` differ harmlessly.
 *
 * @example
 * ```ts
 * const facts: Record<string, Fact> = {};
 * await probe.run(side, facts);
 * ```
 */
export interface Probe {
  readonly area: ComparisonArea;
  readonly name: string;
  readonly notices?: readonly string[];
  /** Records facts into `facts` as it goes, so that a failure part-way keeps what was seen. */
  run(side: ProbeSide, facts: Record<string, Fact>): Promise<void>;
}

/**
 * The probes that apply to two manifests: only what both declare (the capability diff covers the rest).
 *
 * @example
 * ```ts
 * for (const probe of planProbes(a.capabilities, b.capabilities)) await probe.run(a, factsOfA);
 * ```
 */
export function planProbes(a: Capabilities, b: Capabilities): Probe[] {
  const probes: Probe[] = [];
  for (const algorithm of ALGORITHMS.filter((candidate) => bothOffer(a, b, candidate))) {
    const info = algorithmInfo(algorithm);
    const spec = commonSpec(a, b, info.usage, algorithm);
    if (spec === undefined) continue;
    if (info.usage === 'SIGN_VERIFY') probes.push(signingProbe(spec, algorithm as SigningAlgorithm));
    else if (algorithm === 'SYMMETRIC_DEFAULT') probes.push(symmetricProbe());
    else if (info.usage === 'ENCRYPT_DECRYPT') probes.push(oaepProbe(spec, algorithm as EncryptionAlgorithm));
    else if (info.usage === 'GENERATE_VERIFY_MAC') probes.push(macProbe(spec, algorithm as MacAlgorithm));
  }
  if (bothOffer(a, b, 'ECDH')) {
    for (const spec of PREFERRED_SPECS.KEY_AGREEMENT) {
      if ([a, b].every((capabilities) => capabilities.keySpecs[spec]?.usages.includes('KEY_AGREEMENT')))
        probes.push(ecdhProbe(spec));
    }
  }
  if (
    a.operations.generateDataKey &&
    b.operations.generateDataKey &&
    commonSpec(a, b, 'ENCRYPT_DECRYPT', 'SYMMETRIC_DEFAULT')
  ) {
    probes.push(dataKeyProbe());
  }
  if (a.operations.generateRandom && b.operations.generateRandom) probes.push(randomProbe());
  probes.push(errorsProbe(a, b));
  const lifecycle = lifecycleProbe(a, b);
  if (lifecycle) probes.push(lifecycle);
  return probes;
}

function signingProbe(spec: KeySpec, algorithm: SigningAlgorithm): Probe {
  const info = algorithmInfo(algorithm);
  return {
    area: 'signing',
    name: `${algorithm} with ${spec}`,
    notices: ['deterministic'],
    async run(side, facts) {
      const key = await side.pool.key(spec, 'SIGN_VERIFY');
      const publicKey = await key.publicKey();
      const sign = (
        extra: { messageType?: 'DIGEST'; signatureFormat?: 'P1363'; message?: Uint8Array } = {},
      ) => side.provider.sign({ ref: key.ref, algorithm, message: MESSAGE, ...extra });
      const verify = (
        signature: Uint8Array,
        extra: { message?: Uint8Array; signatureFormat?: 'DER' | 'P1363' } = {},
      ) => side.provider.verify({ ref: key.ref, algorithm, message: MESSAGE, signature, ...extra });
      const signature = await sign();
      facts.verifiesWithNode = nodeVerify(algorithm, publicKey, MESSAGE, signature);
      if (info.family !== 'ECDSA') facts.signatureBytes = signature.byteLength;
      if (info.family === 'RSA_PSS')
        facts.pssSaltLength = detectSaltLength(spec, algorithm, publicKey, signature);
      if (info.family === 'ECDSA') {
        const size = keySpecInfo(spec).coordinateBytes!;
        facts.derStrict = isStrictDer(signature, size);
        const p1363 = await sign({ signatureFormat: 'P1363' });
        facts.p1363Bytes = p1363.byteLength;
        facts.p1363VerifiesWithNode = nodeVerify(algorithm, publicKey, MESSAGE, p1363, { format: 'P1363' });
        facts.verifyDerAsP1363 = await observe(() => verify(signature, { signatureFormat: 'P1363' }));
      }
      facts.digestSigningVerifiesWithNode = nodeVerify(
        algorithm,
        publicKey,
        MESSAGE,
        await sign({ messageType: 'DIGEST', message: nodeDigest(algorithm, MESSAGE) }),
      );
      facts.deterministic = bytesEqual(signature, await sign());
      facts.verifyOwn = await observe(() => verify(signature));
      facts.verifyChangedMessage = await observe(() => verify(signature, { message: flipBit(MESSAGE, 0) }));
      facts.verifyTruncated = await observe(() => verify(signature.subarray(0, -1)));
      facts.wrongDigestLength = await observe(() =>
        sign({ messageType: 'DIGEST', message: randomInput(info.digestBytes! - 1) }),
      );
    },
  };
}

function detectSaltLength(
  spec: KeySpec,
  algorithm: SigningAlgorithm,
  publicKey: KeyObject,
  signature: Uint8Array,
): Fact {
  const digestBytes = algorithmInfo(algorithm).digestBytes!;
  const maximum = keySpecInfo(spec).bits / 8 - digestBytes - 2;
  const found = [digestBytes, 0, 20, 32, 48, 64, maximum].find((saltLength) =>
    nodeVerify(algorithm, publicKey, MESSAGE, signature, { saltLength }),
  );
  return found ?? 'unknown';
}

function isStrictDer(signature: Uint8Array, size: number): boolean {
  try {
    return bytesEqual(ecdsaP1363ToDer(ecdsaDerToP1363(signature, size)), signature);
  } catch {
    return false;
  }
}

function symmetricProbe(): Probe {
  const algorithm = 'SYMMETRIC_DEFAULT';
  return {
    area: 'encryption',
    name: 'SYMMETRIC_DEFAULT',
    notices: ['overheadBytes', 'overheadConstant'],
    async run(side, facts) {
      const key = await side.pool.key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
      const { ref } = key;
      const encrypt = (plaintext: Uint8Array, context?: Record<string, string>) =>
        side.provider.encrypt({ ref, algorithm, plaintext, ...(context ? { context } : {}) });
      const decrypt = (ciphertext: Uint8Array, context?: Record<string, string>, keyRef = ref) =>
        side.provider.decrypt({ ref: keyRef, algorithm, ciphertext, ...(context ? { context } : {}) });
      const plaintext = randomInput(32);
      const ciphertext = await encrypt(plaintext, CONTEXT);
      facts.overheadBytes = ciphertext.byteLength - 32;
      facts.overheadConstant =
        (await encrypt(randomInput(1), CONTEXT)).byteLength - 1 === ciphertext.byteLength - 32;
      facts.roundTrip = bytesEqual(await decrypt(ciphertext, CONTEXT), plaintext);
      facts.randomized = !bytesEqual(ciphertext, await encrypt(plaintext, CONTEXT));
      facts.contextKeyOrderIgnored = await observe(() =>
        decrypt(ciphertext, Object.fromEntries(Object.entries(CONTEXT).reverse())),
      );
      facts.wrongContext = await observe(() => decrypt(ciphertext, { ...CONTEXT, tenant: 't2' }));
      facts.missingContext = await observe(() => decrypt(ciphertext));
      facts.tamperedFirstByte = await observe(() => decrypt(flipBit(ciphertext, 0), CONTEXT));
      facts.tamperedMiddleByte = await observe(() =>
        decrypt(flipBit(ciphertext, ciphertext.length >> 1), CONTEXT),
      );
      facts.tamperedTag = await observe(() => decrypt(flipBit(ciphertext, -1), CONTEXT));
      facts.truncated = await observe(() => decrypt(ciphertext.subarray(0, -1), CONTEXT));
      facts.extended = await observe(() => decrypt(new Uint8Array([...ciphertext, 0]), CONTEXT));
      facts.otherKey = await observe(async () =>
        decrypt(ciphertext, CONTEXT, (await side.pool.key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 1)).ref),
      );
      facts.maxPlaintext = await observe(() => encrypt(randomInput(LIMITS.maxSymmetricPlaintextBytes)));
      facts.oversizePlaintext = await observe(() =>
        encrypt(randomInput(LIMITS.maxSymmetricPlaintextBytes + 1)),
      );
      facts.emptyPlaintext = await observe(() => encrypt(new Uint8Array(0)));
      facts.oversizeCiphertext = await observe(() => decrypt(randomInput(LIMITS.maxCiphertextBytes + 1)));
      facts.oversizeContext = await observe(() =>
        encrypt(plaintext, { big: 'x'.repeat(LIMITS.maxContextBytes) }),
      );
    },
  };
}

function oaepProbe(spec: KeySpec, algorithm: EncryptionAlgorithm): Probe {
  return {
    area: 'encryption',
    name: `${algorithm} with ${spec}`,
    async run(side, facts) {
      const key = await side.pool.key(spec, 'ENCRYPT_DECRYPT');
      const publicKey = await key.publicKey();
      const encrypt = (plaintext: Uint8Array, context?: Record<string, string>) =>
        side.provider.encrypt({ ref: key.ref, algorithm, plaintext, ...(context ? { context } : {}) });
      const decrypt = (ciphertext: Uint8Array) =>
        side.provider.decrypt({ ref: key.ref, algorithm, ciphertext });
      const plaintext = randomInput(32);
      const ciphertext = await encrypt(plaintext);
      facts.ciphertextBytes = ciphertext.byteLength;
      facts.roundTrip = bytesEqual(await decrypt(ciphertext), plaintext);
      facts.randomized = !bytesEqual(ciphertext, await encrypt(plaintext));
      facts.decryptsNodeCiphertext = await observe(async () =>
        bytesEqual(await decrypt(nodeOaepEncrypt(algorithm, publicKey, plaintext)), plaintext),
      );
      facts.tampered = await observe(() => decrypt(flipBit(ciphertext, ciphertext.length >> 1)));
      const otherHash = algorithm === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
      facts.otherHashCiphertext = await observe(() =>
        decrypt(nodeOaepEncrypt(otherHash, publicKey, plaintext)),
      );
      const maximum = oaepMaxPlaintext(spec, algorithm);
      facts.maxPlaintext = await observe(() => encrypt(randomInput(maximum)));
      facts.oversizePlaintext = await observe(() => encrypt(randomInput(maximum + 1)));
      facts.withContext = await observe(() => encrypt(plaintext, CONTEXT));
    },
  };
}

function macProbe(spec: KeySpec, algorithm: MacAlgorithm): Probe {
  return {
    area: 'mac',
    name: `${algorithm} with ${spec}`,
    async run(side, facts) {
      const { ref } = await side.pool.key(spec, 'GENERATE_VERIFY_MAC');
      const generate = (message: Uint8Array) => side.provider.generateMac({ ref, algorithm, message });
      const verify = (mac: Uint8Array, message = MESSAGE) =>
        side.provider.verifyMac({ ref, algorithm, message, mac });
      const mac = await generate(MESSAGE);
      facts.macBytes = mac.byteLength;
      facts.deterministic = bytesEqual(mac, await generate(MESSAGE));
      facts.verifyRight = await observe(() => verify(mac));
      facts.verifyChangedMessage = await observe(() => verify(mac, flipBit(MESSAGE, 0)));
      facts.verifyChangedMac = await observe(() => verify(flipBit(mac, 0)));
      facts.verifyTruncatedMac = await observe(() => verify(mac.subarray(0, -1)));
      facts.maxMessage = await observe(() => generate(randomInput(LIMITS.maxMacMessageBytes)));
      facts.oversizeMessage = await observe(() => generate(randomInput(LIMITS.maxMacMessageBytes + 1)));
      facts.emptyMessage = await observe(() => generate(new Uint8Array(0)));
    },
  };
}

function ecdhProbe(spec: KeySpec): Probe {
  return {
    area: 'key-agreement',
    name: `ECDH with ${spec}`,
    async run(side, facts) {
      const key = await side.pool.key(spec, 'KEY_AGREEMENT');
      const peer = await generateNodeKey(spec);
      const derive = (publicKey: Uint8Array) =>
        side.provider.deriveSharedSecret({ ref: key.ref, algorithm: 'ECDH', publicKey });
      const secret = await derive(nodeSpki(peer));
      facts.secretBytes = secret.byteLength;
      facts.matchesNode = bytesEqual(secret, nodeSharedSecret(peer, await key.publicKey()));
      facts.samePeerSameSecret = bytesEqual(secret, await derive(nodeSpki(peer)));
      const other = KEY_SPECS.find(
        (candidate) => keySpecInfo(candidate).family === 'EC' && candidate !== spec,
      )!;
      facts.otherCurvePeer = await observe(() => derive(peerPublicKey(other)));
    },
  };
}

function dataKeyProbe(): Probe {
  return {
    area: 'data-keys',
    name: 'data keys under SYMMETRIC_DEFAULT',
    notices: ['blobOverheadBytes'],
    async run(side, facts) {
      const { ref } = await side.pool.key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
      const unwrap = (ciphertext: Uint8Array, context?: Record<string, string>) =>
        side.provider.decrypt({
          ref,
          algorithm: 'SYMMETRIC_DEFAULT',
          ciphertext,
          ...(context ? { context } : {}),
        });
      const aes256 = await side.provider.generateDataKey({ ref, context: CONTEXT });
      facts.aes256Bytes = aes256.plaintext?.byteLength ?? null;
      facts.blobOverheadBytes = aes256.ciphertextBlob.byteLength - 32;
      facts.unwraps = bytesEqual(
        await unwrap(aes256.ciphertextBlob, CONTEXT),
        aes256.plaintext ?? new Uint8Array(),
      );
      facts.aes128Bytes =
        (await side.provider.generateDataKey({ ref, dataKeySpec: 'AES_128' })).plaintext?.byteLength ?? null;
      facts.withoutPlaintextHasPlaintext =
        (await side.provider.generateDataKey({ ref, withPlaintext: false })).plaintext !== undefined;
      facts.wrongContext = await observe(() => unwrap(aes256.ciphertextBlob, { ...CONTEXT, tenant: 't2' }));
    },
  };
}

function randomProbe(): Probe {
  return {
    area: 'random',
    name: 'generateRandom',
    async run(side, facts) {
      const first = await side.provider.generateRandom(LIMITS.maxRandomBytes);
      facts.maxLengthBytes = first.byteLength;
      facts.distinct = !bytesEqual(first, await side.provider.generateRandom(LIMITS.maxRandomBytes));
      facts.zeroLength = await observe(() => side.provider.generateRandom(0));
      facts.overLimit = await observe(() => side.provider.generateRandom(LIMITS.maxRandomBytes + 1));
    },
  };
}

function errorsProbe(a: Capabilities, b: Capabilities): Probe {
  return {
    area: 'errors',
    name: 'error codes for the same faults',
    async run(side, facts) {
      const { provider, capabilities, missingKeyRef: missing } = side;
      facts.describeMissing = await observe(() => provider.describeKey(missing));
      facts.getPublicKeyMissing = await observe(() => provider.getPublicKey(missing));
      for (const usage of Object.keys(PREFERRED_SPECS) as KeyUsage[]) {
        const spec = commonSpec(a, b, usage);
        const algorithm = spec && declaredAlgorithm(a, spec, usage);
        if (!spec || !algorithm || !b.algorithms.includes(algorithm)) continue;
        facts[`${usage}.missingKey`] = await observe(() =>
          exerciseKey(provider, { ref: missing, spec, usage }, capabilities, algorithm),
        );
        const key = await side.pool.key(spec, usage).catch(() => undefined);
        if (!key) continue;
        for (const other of Object.keys(PREFERRED_SPECS) as KeyUsage[]) {
          const otherSpec = other === usage ? undefined : commonSpec(a, b, other);
          const otherAlgorithm = otherSpec && declaredAlgorithm(a, otherSpec, other);
          if (!otherSpec || !otherAlgorithm || !b.algorithms.includes(otherAlgorithm)) continue;
          facts[`${usage}.keyUsedFor.${other}`] = await observe(() =>
            exerciseKey(
              provider,
              { ref: key.ref, spec: key.spec, usage: other },
              capabilities,
              otherAlgorithm,
            ),
          );
        }
        if (keySpecInfo(spec).family === 'AES' || keySpecInfo(spec).family === 'HMAC') {
          facts[`${usage}.getPublicKey`] = await observe(() => provider.getPublicKey(key.ref));
        }
      }
    },
  };
}

function lifecycleProbe(a: Capabilities, b: Capabilities): Probe | undefined {
  const operations = ['disableKey', 'enableKey', 'scheduleKeyDeletion'] as const;
  if (!operations.every((operation) => a.operations[operation] && b.operations[operation])) return undefined;
  const candidate = (['SYMMETRIC_DEFAULT', 'ECC_NIST_P256', 'HMAC_256'] as const)
    .map((spec) => [spec, keySpecInfo(spec).usages[0]!] as const)
    .find(
      ([spec, usage]) => commonSpec(a, b, usage) === spec && declaredAlgorithm(a, spec, usage) !== undefined,
    );
  if (!candidate) return undefined;
  const [spec, usage] = candidate;
  return {
    area: 'lifecycle',
    name: `disable, enable, schedule deletion (${spec})`,
    notices: ['deletionWindowDays'],
    async run(side, facts) {
      const { provider, capabilities } = side;
      const key = side.lifecycleRef
        ? await provider.describeKey(side.lifecycleRef)
        : await side.pool.key(spec, usage, 1);
      const use = () => exerciseKey(provider, key, capabilities);
      const state = async () => (await provider.describeKey(key.ref)).state;
      facts.disable = await observe(() => provider.disableKey(key.ref));
      facts.stateAfterDisable = await state();
      facts.useWhenDisabled = await observe(use);
      facts.enable = await observe(() => provider.enableKey(key.ref));
      facts.stateAfterEnable = await state();
      facts.useWhenEnabled = await observe(use);
      const window = capabilities.deletionWindowDays;
      facts.deletionWindowDays = `${window.min}-${window.max}`;
      facts.windowTooLong = await observe(() =>
        provider.scheduleKeyDeletion(key.ref, { pendingWindowDays: window.max + 1 }),
      );
      const date = await provider.scheduleKeyDeletion(key.ref, { pendingWindowDays: window.min });
      side.pool.markScheduled(key.ref, date);
      facts.stateAfterSchedule = await state();
      facts.useWhenPendingDeletion = await observe(use);
      facts.enableWhenPendingDeletion = await observe(() => provider.enableKey(key.ref));
      if (a.operations.cancelKeyDeletion && b.operations.cancelKeyDeletion) {
        facts.cancelDeletion = await observe(() => provider.cancelKeyDeletion(key.ref));
        if (facts.cancelDeletion === 'ok') side.pool.markScheduled(key.ref, undefined);
        facts.stateAfterCancel = await state();
      }
    },
  };
}
