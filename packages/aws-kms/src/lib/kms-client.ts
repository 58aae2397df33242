import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { AwsKmsProviderOptions } from '../options.js';
import type { Sdk } from './kms-requests.js';

const DEFAULTS = {
  maxAttempts: 3,
  requestTimeoutMs: 10_000,
  connectionTimeoutMs: 3_000,
  maxSockets: 50,
} as const;

/** A KMS client with keep-alive connections, the SDK's retries and timeouts, from the provider's options. */
export function createKmsClient(sdk: Sdk, options: AwsKmsProviderOptions): KMSClient {
  const maxSockets = options.maxSockets ?? DEFAULTS.maxSockets;
  return new sdk.KMSClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? DEFAULTS.maxAttempts,
    retryMode: options.retryMode ?? 'adaptive',
    requestHandler: {
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      requestTimeout: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULTS.connectionTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}
