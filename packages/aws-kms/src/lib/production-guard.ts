import type { KMSClient } from '@aws-sdk/client-kms';
import { KeyswitchError } from '@keyswitch/core';
import { effectiveConnection } from './effective-connection.js';
import type { Sdk } from './kms-requests.js';
import { mapKmsError } from './map-kms-error.js';

/**
 * kms-local's published credentials (see `KMS_LOCAL_DEFAULT_CREDENTIALS` in `@keyswitch/kms-local`): not a
 * secret, so never acceptable in production. Kept here so that this package does not depend on kms-local.
 */
const KMS_LOCAL_ACCESS_KEY_ID = 'KEYSWITCHLOCAL';
const KMS_LOCAL_SECRET_ACCESS_KEY = 'keyswitch-local-secret-access-key';

/** What the production guard reads of the provider's options (as `AwsKmsProvider.open` takes them). */
export interface ProductionGuardSettings {
  /** The configuration's environment; only `production` is guarded. */
  readonly environment?: string | undefined;
  /** The JSON path of the provider's section, for error messages (default `options`). */
  readonly configPath?: string | undefined;
  /** Given in the section itself, the error names the field. */
  readonly endpoint?: unknown;
  readonly credentials?: unknown;
  readonly allowPlainHttp?: boolean | undefined;
  readonly allowKmsLocalCredentials?: boolean | undefined;
}

/**
 * Refuses, in a production configuration, what only belongs to development: a plain-HTTP endpoint (keys
 * and data in clear on the wire, typically kms-local with keys in software) and kms-local's published
 * credentials, unless the section allows them explicitly. It checks what the client will really use, as
 * the AWS SDK resolves it (the section, `AWS_ENDPOINT_URL_KMS`, `AWS_ACCESS_KEY_ID`, the shared config
 * files, the credential chain), not only what the section says.
 *
 * @throws CONFIG_INVALID naming the field, never the credential; CONFIG_INVALID when no credentials or
 *   region can be found to check
 */
export async function guardProduction(
  sdk: Sdk,
  client: KMSClient,
  settings: ProductionGuardSettings,
): Promise<void> {
  if (settings.environment !== 'production') return;
  const path = settings.configPath ?? 'options';
  if (settings.allowPlainHttp === true && settings.allowKmsLocalCredentials === true) return;
  let connection: Awaited<ReturnType<typeof effectiveConnection>>;
  try {
    connection = await effectiveConnection(sdk, client);
  } catch (error) {
    const cause = mapKmsError(error, 'production check');
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `a production configuration's KMS endpoint and credentials could not be checked: ${cause.message}`,
      { path, cause },
    );
  }
  const source =
    'as the AWS SDK resolved it from the configuration, the environment or the shared config files';
  if (connection.endpoint.toLowerCase().startsWith('http:') && settings.allowPlainHttp !== true) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `a production configuration must not use a plain-HTTP KMS endpoint (${connection.endpoint}, ${source}); use https, or set "allowPlainHttp": true`,
      { path: settings.endpoint !== undefined ? `${path}.endpoint` : path },
    );
  }
  const published =
    connection.accessKeyId === KMS_LOCAL_ACCESS_KEY_ID ||
    connection.secretAccessKey === KMS_LOCAL_SECRET_ACCESS_KEY;
  if (published && settings.allowKmsLocalCredentials !== true) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `a production configuration must not use kms-local's published credentials (${source}); set "allowKmsLocalCredentials": true only if that is really meant`,
      { path: settings.credentials !== undefined ? `${path}.credentials` : path },
    );
  }
}
