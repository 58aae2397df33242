import { KMS_LOCAL_DEFAULT_CREDENTIALS } from '@keyswitch/kms-local';

/**
 * An `aws-kms` provider section for the kms-local server at `endpoint` (in kms-local's default Region),
 * with kms-local's credentials: the secret key by reference to `KMS_LOCAL_SECRET_ACCESS_KEY`, which
 * {@link kmsLocalEnv} sets. `options` adds to the section (attempts, timeouts).
 */
export function kmsLocalProvider(endpoint: string, options: Readonly<Record<string, unknown>> = {}) {
  return {
    type: 'aws-kms',
    region: 'us-east-1',
    endpoint,
    credentials: {
      accessKeyId: KMS_LOCAL_DEFAULT_CREDENTIALS.accessKeyId,
      secretAccessKey: { env: 'KMS_LOCAL_SECRET_ACCESS_KEY' },
    },
    ...options,
  };
}

/** This process's environment with kms-local's secret key, as {@link kmsLocalProvider} sections read it. */
export function kmsLocalEnv(): NodeJS.ProcessEnv {
  return { ...process.env, KMS_LOCAL_SECRET_ACCESS_KEY: KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey };
}
