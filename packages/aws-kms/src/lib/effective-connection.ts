import type { GenerateRandomCommandInput, GenerateRandomCommandOutput, KMSClient } from '@aws-sdk/client-kms';
import type { BuildMiddleware, HttpRequest } from '@smithy/types';
import type { Sdk } from './kms-requests.js';

/** Where a KMS client's requests go and whose access key signs them, as the AWS SDK resolves them. */
export interface EffectiveConnection {
  /** `protocol//host[:port]` of the endpoint a request is sent to (no path, no user info). */
  readonly endpoint: string;
  readonly accessKeyId: string;
  /** Compared with known development values only; never printed. */
  readonly secretAccessKey: string;
}

/** Thrown by the probe's own middleware to stop the request before it is sent. */
class Probed extends Error {
  readonly request: HttpRequest;

  constructor(request: HttpRequest) {
    super('probed, not sent');
    this.request = request;
  }
}

/**
 * Learns where the client sends its requests and with which credentials, without sending anything: a
 * GenerateRandom request goes through the client's own middleware (endpoint rules, the
 * `AWS_ENDPOINT_URL_KMS`/`AWS_ENDPOINT_URL` variables, the shared config files, the credential chain)
 * and is stopped once built, before it is signed or sent. The credentials are the client's memoized
 * provider's, the same identity its requests are signed with.
 *
 * @throws the AWS SDK's error when no region or no credentials can be found
 */
export async function effectiveConnection(sdk: Sdk, client: KMSClient): Promise<EffectiveConnection> {
  const command = new sdk.GenerateRandomCommand({ NumberOfBytes: 1 });
  const stop: BuildMiddleware<GenerateRandomCommandInput, GenerateRandomCommandOutput> =
    () => async (args) => {
      throw new Probed(args.request as HttpRequest);
    };
  command.middlewareStack.add(stop, { step: 'build', priority: 'high', name: 'keyswitchEndpointProbe' });
  let request: HttpRequest | undefined;
  try {
    await client.send(command);
  } catch (error) {
    if (!(error instanceof Probed)) throw error;
    request = error.request;
  }
  if (request === undefined) throw new Error('the endpoint probe reached the network');
  const { accessKeyId, secretAccessKey } = await client.config.credentials();
  const port = request.port === undefined ? '' : `:${request.port}`;
  return { endpoint: `${request.protocol}//${request.hostname}${port}`, accessKeyId, secretAccessKey };
}
