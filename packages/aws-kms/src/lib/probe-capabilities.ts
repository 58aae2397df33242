import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { algorithmInfo, type Capabilities, isKeyswitchError, type KeySpec } from '@keyswitch/core';
import { KMS_CAPABILITIES } from './capabilities.js';
import type { KmsRequests } from './kms-requests.js';

/** What probing an endpoint found. */
export interface EndpointFeatures {
  readonly mac: boolean;
  readonly keyAgreement: boolean;
}

/**
 * Asks the endpoint which optional KMS features it has, without creating anything: GenerateMac and
 * DeriveSharedSecret for a key that cannot exist. NotFoundException means the operation is there;
 * UnsupportedOperationException, an unknown operation or HTTP 501 means it is not. AWS offers HMAC keys
 * per Region, and other KMS implementations may lack either.
 *
 * @throws UNAVAILABLE and the like when the endpoint cannot be asked (nothing is cached then)
 */
export async function probeEndpoint(requests: KmsRequests): Promise<EndpointFeatures> {
  const missing = `alias/keyswitch-probe-${randomUUID()}`;
  const [mac, keyAgreement] = await Promise.all([
    answersFor(() =>
      requests.send('GenerateMac', 'hmac', (sdk, client) =>
        client.send(
          new sdk.GenerateMacCommand({
            KeyId: missing,
            Message: new Uint8Array(1),
            MacAlgorithm: 'HMAC_SHA_256',
          }),
        ),
      ),
    ),
    answersFor(() => {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
      return requests.send('DeriveSharedSecret', 'ecc', (sdk, client) =>
        client.send(
          new sdk.DeriveSharedSecretCommand({
            KeyId: missing,
            KeyAgreementAlgorithm: 'ECDH',
            PublicKey: spki,
          }),
        ),
      );
    }),
  ]);
  return { mac, keyAgreement };
}

/** Whether the endpoint has the operation: anything but "unsupported" says it does. */
async function answersFor(send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if (isKeyswitchError(error, 'UNSUPPORTED_ALGORITHM', 'UNSUPPORTED_OPERATION')) return false;
    if (isKeyswitchError(error, 'KEY_NOT_FOUND', 'ACCESS_DENIED', 'INVALID_INPUT', 'KEY_DISABLED'))
      return true;
    throw error;
  }
}

/** The capability manifest for an endpoint with these features. */
export function capabilitiesFor(features: EndpointFeatures): Capabilities {
  if (features.mac && features.keyAgreement) return KMS_CAPABILITIES;
  const keySpecs = Object.fromEntries(
    Object.entries(KMS_CAPABILITIES.keySpecs)
      .filter(([spec]) => features.mac || !spec.startsWith('HMAC_'))
      .map(([spec, support]) => [
        spec as KeySpec,
        Object.freeze({
          ...support,
          usages: Object.freeze(
            support!.usages.filter((usage) => features.keyAgreement || usage !== 'KEY_AGREEMENT'),
          ),
        }),
      ]),
  );
  const algorithms = KMS_CAPABILITIES.algorithms.filter((algorithm) => {
    const family = algorithmInfo(algorithm).family;
    return (features.mac || family !== 'HMAC') && (features.keyAgreement || family !== 'ECDH');
  });
  const missing = [
    features.mac ? undefined : 'HMAC keys',
    features.keyAgreement ? undefined : 'key agreement',
  ];
  return Object.freeze({
    ...KMS_CAPABILITIES,
    keySpecs: Object.freeze(keySpecs),
    algorithms: Object.freeze(algorithms),
    notes: Object.freeze([
      ...(KMS_CAPABILITIES.notes ?? []),
      `this endpoint has no ${missing.filter(Boolean).join(' and ')} (probed: it answered the operation as unsupported)`,
    ]),
  });
}
