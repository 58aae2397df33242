import { type ProviderFactory, parseWithSchema } from '@keyswitch/core';
import { AwsKmsProvider } from './aws-kms-provider.js';
import { type AwsKmsConfig, awsKmsConfigSchema } from './config.js';
import { guardProduction } from './lib/production-guard.js';

/**
 * How the keyswitch registry makes `aws-kms` providers from configuration. Explicit credentials are
 * secret references resolved here; otherwise the AWS SDK's credential chain applies.
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
    const { type: _type, credentials, allowPlainHttp, allowKmsLocalCredentials, ...options } = config;
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
    guardProduction(context.environment, context.path, {
      endpoint: options.endpoint,
      accessKeyId: resolved?.accessKeyId,
      secretAccessKey: resolved?.secretAccessKey,
      allowPlainHttp,
      allowKmsLocalCredentials,
    });
    return AwsKmsProvider.open({
      ...options,
      ...(resolved === undefined ? {} : { credentials: resolved }),
      name: context.name,
      audit: context.audit,
    });
  },
};
