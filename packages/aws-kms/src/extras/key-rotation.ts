import type { KmsRequests, SendOptions } from '../lib/kms-requests.js';

/**
 * Automatic rotation settings of a symmetric key.
 *
 * @example
 * ```ts
 * const status: KeyRotationStatus = await kms.getKeyRotationStatus('alias/pan-kek');
 * ```
 */
export interface KeyRotationStatus {
  readonly enabled: boolean;
  readonly rotationPeriodDays?: number;
  readonly nextRotationDate?: Date;
}

/** EnableKeyRotation, with the period when given, sent as `send` says. */
export async function enableRotation(
  requests: KmsRequests,
  ref: string,
  options: { rotationPeriodDays?: number },
  send: SendOptions = {},
): Promise<void> {
  const keyId = await requests.keyIdOrArn(ref);
  await requests.send(
    'EnableKeyRotation',
    'management',
    (sdk, client) =>
      client.send(
        new sdk.EnableKeyRotationCommand({
          KeyId: keyId,
          ...(options.rotationPeriodDays === undefined
            ? {}
            : { RotationPeriodInDays: options.rotationPeriodDays }),
        }),
      ),
    send,
  );
}

/** DisableKeyRotation, sent as `send` says. */
export async function disableRotation(
  requests: KmsRequests,
  ref: string,
  send: SendOptions = {},
): Promise<void> {
  const keyId = await requests.keyIdOrArn(ref);
  await requests.send(
    'DisableKeyRotation',
    'management',
    (sdk, client) => client.send(new sdk.DisableKeyRotationCommand({ KeyId: keyId })),
    send,
  );
}

/** GetKeyRotationStatus, in keyswitch's shape. */
export async function rotationStatus(requests: KmsRequests, ref: string): Promise<KeyRotationStatus> {
  const keyId = await requests.keyIdOrArn(ref);
  const status = await requests.send('GetKeyRotationStatus', 'management', (sdk, client) =>
    client.send(new sdk.GetKeyRotationStatusCommand({ KeyId: keyId })),
  );
  return {
    enabled: status.KeyRotationEnabled === true,
    ...(status.RotationPeriodInDays === undefined ? {} : { rotationPeriodDays: status.RotationPeriodInDays }),
    ...(status.NextRotationDate === undefined ? {} : { nextRotationDate: status.NextRotationDate }),
  };
}
