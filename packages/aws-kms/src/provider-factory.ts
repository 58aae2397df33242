import { type ProviderFactory, parseWithSchema } from '@keyswitch/core';
import { AwsKmsProvider } from './aws-kms-provider.js';
import { type AwsKmsConfig, awsKmsConfigSchema } from './config.js';

/**
 * How the keyswitch registry makes `aws-kms` providers from configuration. Explicit credentials are
 * secret references resolved here; otherwise the AWS SDK's credential chain applies. In a production
 * configuration the provider refuses to open against a plain-HTTP endpoint or with kms-local's published
 * credentials, wherever the AWS SDK found them, unless the section allows them.
 *
 * @example
 * ```ts
 * const ks = await Keyswitch.fromConfig({
 *   providers: { kms: { type: 'aws-kms', region: 'ap-northeast-1' } },
 *   keys: { 'acs-signing': { provider: 'kms', ref: 'alias/acs-signing', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' } },
 * });
 * ```
 */
export const providerFactory: ProviderFactory<AwsKmsConfig> = {
  type: 'aws-kms',
  parseConfig: (raw, path) => parseWithSchema(awsKmsConfigSchema, raw, path),
  async create(config, context) {
    const { type: _type, credentials, ...options } = config;
    let resolved: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
    if (credentials !== undefined) {
      const accessKeyId =
        typeof credentials.accessKeyId === 'string'
          ? credentials.accessKeyId
          : (await context.resolveSecret(credentials.accessKeyId, 'credentials.accessKeyId')).reveal();
      const secretAccessKey = (
        await context.resolveSecret(credentials.secretAccessKey, 'credentials.secretAccessKey')
      ).reveal();
      const sessionToken =
        credentials.sessionToken === undefined
          ? undefined
          : (await context.resolveSecret(credentials.sessionToken, 'credentials.sessionToken')).reveal();
      resolved = { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
    }
    return AwsKmsProvider.open({
      ...options,
      ...(resolved === undefined ? {} : { credentials: resolved }),
      environment: context.environment,
      configPath: context.path,
      name: context.name,
      audit: context.audit,
    });
  },
};
