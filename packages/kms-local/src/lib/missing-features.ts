import { KmsException } from './kms-exception.js';

/**
 * KMS features a kms-local can be started without, as some AWS Regions and other KMS implementations lack
 * them: `HMAC` (HMAC keys, GenerateMac, VerifyMac) and `KEY_AGREEMENT` (ECDH keys, DeriveSharedSecret).
 *
 * @example
 * ```ts
 * const server = await startKmsLocal({ without: ['HMAC'] satisfies readonly KmsLocalFeature[] });
 * ```
 */
export type KmsLocalFeature = 'HMAC' | 'KEY_AGREEMENT';

/** The features kms-local can do without. */
export const KMS_LOCAL_FEATURES: readonly KmsLocalFeature[] = Object.freeze(['HMAC', 'KEY_AGREEMENT']);

const OPERATIONS: Readonly<Record<KmsLocalFeature, readonly string[]>> = {
  HMAC: ['GenerateMac', 'VerifyMac'],
  KEY_AGREEMENT: ['DeriveSharedSecret'],
};

/**
 * Refuses a request that needs a feature this server was started without, with the
 * UnsupportedOperationException KMS answers where a feature is not offered.
 */
export function refuseMissingFeature(
  operation: string,
  body: Readonly<Record<string, unknown>>,
  without: ReadonlySet<KmsLocalFeature>,
): void {
  for (const feature of without) {
    const needs =
      OPERATIONS[feature].includes(operation) ||
      (operation === 'CreateKey' &&
        (feature === 'HMAC'
          ? typeof body.KeySpec === 'string' && body.KeySpec.startsWith('HMAC_')
          : body.KeyUsage === 'KEY_AGREEMENT'));
    if (needs) {
      throw new KmsException(
        'UnsupportedOperationException',
        `${feature === 'HMAC' ? 'HMAC keys are' : 'Key agreement is'} not supported by this endpoint.`,
      );
    }
  }
}
