import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { AwsKmsProviderOptions } from '../options.js';
import { CallDeadlineRetryStrategy } from './call-deadline-retry-strategy.js';
import type { Sdk } from './kms-requests.js';
import { guardProduction } from './production-guard.js';

/**
 * The defaults of the options that shape KMS requests.
 */
export const KMS_REQUEST_DEFAULTS = {
  maxAttempts: 3,
  callTimeoutMs: 5_000,
  managementTimeoutMs: 30_000,
  keyStateTtlMs: 60_000,
  connectionTimeoutMs: 3_000,
  maxSockets: 50,
} as const;

/** A KMS client with keep-alive connections, retries bounded by the call timeout, from the provider's options. */
export function createKmsClient(sdk: Sdk, options: AwsKmsProviderOptions): KMSClient {
  const maxSockets = options.maxSockets ?? KMS_REQUEST_DEFAULTS.maxSockets;
  const maxAttempts = options.maxAttempts ?? KMS_REQUEST_DEFAULTS.maxAttempts;
  const callTimeoutMs = options.callTimeoutMs ?? KMS_REQUEST_DEFAULTS.callTimeoutMs;
  return new sdk.KMSClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts,
    ...(options.retryMode === 'adaptive'
      ? { retryMode: 'adaptive' }
      : { retryStrategy: new CallDeadlineRetryStrategy(maxAttempts, callTimeoutMs) }),
    requestHandler: {
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      requestTimeout:
        options.requestTimeoutMs ?? options.managementTimeoutMs ?? KMS_REQUEST_DEFAULTS.managementTimeoutMs,
      connectionTimeout: options.connectionTimeoutMs ?? KMS_REQUEST_DEFAULTS.connectionTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}

/**
 * The provider's client: the one passed in, or a new one it owns; in production, checked by the
 * production guard first (a client it made is destroyed when the check fails).
 *
 * @throws CONFIG_INVALID from the production guard
 */
export async function openKmsClient(
  sdk: Sdk,
  options: AwsKmsProviderOptions,
): Promise<{ client: KMSClient; ownsClient: boolean }> {
  const ownsClient = options.client === undefined;
  const client = options.client ?? createKmsClient(sdk, options);
  try {
    await guardProduction(sdk, client, options);
    return { client, ownsClient };
  } catch (error) {
    if (ownsClient) client.destroy();
    throw error;
  }
}
