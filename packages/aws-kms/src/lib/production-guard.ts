import { KeyswitchError } from '@keyswitch/core';

/**
 * kms-local's published credentials (see `KMS_LOCAL_DEFAULT_CREDENTIALS` in `@keyswitch/kms-local`): not a
 * secret, so never acceptable in production. Kept here so that this package does not depend on kms-local.
 */
const KMS_LOCAL_ACCESS_KEY_ID = 'KEYSWITCHLOCAL';
const KMS_LOCAL_SECRET_ACCESS_KEY = 'keyswitch-local-secret-access-key';

/** What the production guard looks at in an `aws-kms` provider section. */
export interface GuardedSettings {
  readonly endpoint?: string | undefined;
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly allowPlainHttp?: boolean | undefined;
  readonly allowKmsLocalCredentials?: boolean | undefined;
}

/**
 * Refuses, in a production configuration, what only belongs to development: a plain-HTTP endpoint (keys
 * and data in clear on the wire, typically kms-local with keys in software) and kms-local's published
 * credentials, unless the section allows them explicitly.
 *
 * @throws CONFIG_INVALID naming the field, never the credential
 */
export function guardProduction(environment: string, path: string, settings: GuardedSettings): void {
  if (environment !== 'production') return;
  if (settings.endpoint?.toLowerCase().startsWith('http:') && settings.allowPlainHttp !== true) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `a production configuration must not use a plain-HTTP KMS endpoint (${settings.endpoint}); use https, or set "allowPlainHttp": true`,
      { path: `${path}.endpoint` },
    );
  }
  const published =
    settings.accessKeyId === KMS_LOCAL_ACCESS_KEY_ID ||
    settings.secretAccessKey === KMS_LOCAL_SECRET_ACCESS_KEY;
  if (published && settings.allowKmsLocalCredentials !== true) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `a production configuration must not use kms-local's published credentials; set "allowKmsLocalCredentials": true only if that is really meant`,
      { path: `${path}.credentials` },
    );
  }
}
