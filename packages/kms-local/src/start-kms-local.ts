import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type KeyProvider, KeyswitchError } from '@keyswitch/core';
import type { KmsLocalKeySeed } from './keys-from-config.js';
import { adoptProviderKeys } from './lib/adopt-provider-keys.js';
import { AliasFile } from './lib/alias-file.js';
import { aliasFileFor } from './lib/default-alias-file.js';
import { FaultInjector, type KmsLocalFaults, throttled } from './lib/fault-injector.js';
import { KeyRegistry } from './lib/key-registry.js';
import { fromProviderError, KmsException } from './lib/kms-exception.js';
import { KMS_LOCAL_FEATURES, type KmsLocalFeature, refuseMissingFeature } from './lib/missing-features.js';
import type { OperationContext, OperationHandler } from './lib/operation-context.js';
import { aliasOperations } from './lib/operations/aliases.js';
import { cryptographicOperations } from './lib/operations/cryptography.js';
import { keyImportOperations } from './lib/operations/key-import.js';
import { keyManagementOperations } from './lib/operations/key-management.js';
import { RequestFields } from './lib/request-fields.js';
import { type KmsLocalCredentials, verifySignature } from './lib/sigv4.js';

export type { KmsLocalFaults } from './lib/fault-injector.js';
export { KMS_LOCAL_FEATURES, type KmsLocalFeature } from './lib/missing-features.js';
export type { KmsLocalCredentials } from './lib/sigv4.js';

/**
 * The credentials kms-local accepts unless told otherwise. They are not secret: they exist so that the
 * server can verify SigV4 signatures fully. Give them to any AWS SDK (or set `AWS_ACCESS_KEY_ID` and
 * `AWS_SECRET_ACCESS_KEY`) to talk to kms-local.
 *
 * @example
 * ```ts
 * const kms = new KMSClient({ endpoint: server.endpoint, region: server.region, credentials: KMS_LOCAL_DEFAULT_CREDENTIALS });
 * ```
 */
export const KMS_LOCAL_DEFAULT_CREDENTIALS: Readonly<{ accessKeyId: string; secretAccessKey: string }> =
  Object.freeze({
    accessKeyId: 'KEYSWITCHLOCAL',
    secretAccessKey: 'keyswitch-local-secret-access-key',
  });

/**
 * The defaults kms-local starts with.
 *
 * @example
 * ```ts
 * console.log(`kms-local on port ${KMS_LOCAL_DEFAULTS.cliPort} in ${KMS_LOCAL_DEFAULTS.region}`);
 * ```
 */
export const KMS_LOCAL_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  /** The port `startKmsLocal` listens on when none is given: 0, any free port. */
  port: 0,
  /** The port the `keyswitch kms-local` command listens on when none is given. */
  cliPort: 4599,
  region: 'us-east-1',
  accountId: '111122223333',
  maxClockSkewSeconds: 900,
});

/**
 * How to start kms-local.
 *
 * @example
 * ```ts
 * const options: KmsLocalOptions = { port: 0, region: 'eu-west-1', faults: { throttleRate: 0.1, seed: 1 } };
 * ```
 */
export interface KmsLocalOptions {
  /** The TCP port; 0 (the default) picks a free one (read it from `endpoint`). */
  readonly port?: number;
  /** The address to listen on: loopback only (`127.0.0.1` by default, `::1`, `localhost`) unless `allowNonLoopback`. */
  readonly host?: string;
  /** Allows listening on a non-loopback address. kms-local has no access control worth the name: think twice. */
  readonly allowNonLoopback?: boolean;
  /** The keyswitch provider that holds the keys and does the cryptography; an in-memory SoftHsm by default. */
  readonly provider?: KeyProvider;
  /** Whether `close()` also closes the provider; true when kms-local created it, false when it was given. */
  readonly closeProvider?: boolean;
  /** The AWS Region in ARNs and the SigV4 credential scope (default `us-east-1`). */
  readonly region?: string;
  /** The account that owns keys created with the default credentials (default `111122223333`). */
  readonly accountId?: string;
  /**
   * The credentials whose SigV4 signatures are verified in full (default: {@link KMS_LOCAL_DEFAULT_CREDENTIALS}).
   * A pair with another `accountId` is a caller from another account, for cross-account tests. `'any'`
   * accepts any well-formed SigV4 Authorization header without checking the signature.
   */
  readonly credentials?: readonly KmsLocalCredentials[] | 'any';
  /** Throttling and delay faults; change them later with `setFaults`. */
  readonly faults?: KmsLocalFaults;
  /** Keys to create at start under these aliases, unless the alias exists (see `kmsLocalKeysFromConfig`). */
  readonly keys?: readonly KmsLocalKeySeed[];
  /** Serve the keys the provider already holds (default true). */
  readonly adoptProviderKeys?: boolean;
  /** Largest accepted skew between a request's `X-Amz-Date` and the server clock, in seconds (default 900). */
  readonly maxClockSkewSeconds?: number;
  /** Receives one line per request: operation, status, exception type. */
  readonly log?: (line: string) => void;
  /**
   * Features to leave out, as an AWS Region or another KMS implementation may (see
   * {@link KmsLocalFeature}): their operations and key specs answer UnsupportedOperationException.
   */
  readonly without?: readonly KmsLocalFeature[];
  /**
   * A JSON file kms-local keeps its aliases in: read at start (aliases of keys the provider no longer holds
   * are dropped), rewritten after every alias change, so that aliases survive a restart as the keys do.
   * Default: with a software HSM on a keystore file, `<keystore>.aliases.json` beside it; otherwise none
   * (aliases live in memory). `false`: none, whatever the provider.
   */
  readonly aliasFile?: string | false;
}

/**
 * Requests kms-local has received.
 *
 * @example
 * ```ts
 * server.resetRequestCounts();
 * await provider.verify(request);
 * expect(server.requests().total).toBe(0); // verified locally
 * ```
 */
export interface KmsLocalRequestCounts {
  readonly total: number;
  /** By operation name (`Sign`, `DescribeKey`…); requests without a valid target count as `(unknown)`. */
  readonly byOperation: Readonly<Record<string, number>>;
}

/**
 * A running kms-local.
 *
 * @example
 * ```ts
 * const server: KmsLocalServer = await startKmsLocal();
 * process.env.AWS_ENDPOINT_URL_KMS = server.endpoint;
 * await server.close();
 * ```
 */
export interface KmsLocalServer {
  /** The URL to give an AWS SDK as `endpoint`, such as `http://127.0.0.1:4599`. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** A copy of the first accepted credential pair (what a client signs with); undefined with `credentials: 'any'`. */
  readonly credentials: KmsLocalCredentials | undefined;
  /** The provider behind the server. */
  readonly provider: KeyProvider;
  /** The file the aliases are kept in (named, or the default beside a keystore), or undefined when in memory. */
  readonly aliasFile: string | undefined;
  /** A snapshot of the request counters. */
  requests(): KmsLocalRequestCounts;
  resetRequestCounts(): void;
  /** Replaces the fault settings; `undefined` turns faults off. */
  setFaults(faults: KmsLocalFaults | undefined): void;
  /** Stops listening, drops open connections (keep-alive ones too), and closes the provider it created. */
  close(): Promise<void>;
}

const STATELESS_OPERATIONS: Readonly<Record<string, OperationHandler>> = {
  ...keyManagementOperations,
  ...aliasOperations,
  ...cryptographicOperations,
};

/**
 * The operations kms-local implements, by their KMS names.
 *
 * @example
 * ```ts
 * KMS_LOCAL_OPERATIONS.includes('DeriveSharedSecret'); // true
 * ```
 */
export const KMS_LOCAL_OPERATIONS: readonly string[] = Object.freeze(
  [...Object.keys(STATELESS_OPERATIONS), 'GetParametersForImport', 'ImportKeyMaterial'].sort(),
);

const MAX_BODY_BYTES = 1024 * 1024;
const ALIAS_OPERATIONS: ReadonlySet<string> = new Set(['CreateAlias', 'UpdateAlias', 'DeleteAlias']);
const JSON_11 = 'application/x-amz-json-1.1';

/**
 * Starts kms-local: an HTTP server on loopback speaking the AWS KMS JSON 1.1 protocol
 * (`X-Amz-Target: TrentService.<Operation>`), backed by a keyswitch provider. Every request needs a SigV4
 * `Authorization` header, verified against the configured credentials.
 *
 * @throws CONFIG_INVALID for a non-loopback host without `allowNonLoopback`, bad options, or a port in use
 *
 * @example
 * ```ts
 * const server = await startKmsLocal({ port: 0 });
 * const kms = new KMSClient({ endpoint: server.endpoint, region: server.region, credentials: server.credentials });
 * const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
 * await server.close();
 * ```
 */
export async function startKmsLocal(options: KmsLocalOptions = {}): Promise<KmsLocalServer> {
  const host = options.host ?? KMS_LOCAL_DEFAULTS.host;
  const port = options.port ?? KMS_LOCAL_DEFAULTS.port;
  const region = options.region ?? KMS_LOCAL_DEFAULTS.region;
  const accountId = options.accountId ?? KMS_LOCAL_DEFAULTS.accountId;
  if (!isLoopback(host) && options.allowNonLoopback !== true) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `kms-local listens on loopback only; ${host} is not a loopback address (set allowNonLoopback to override)`,
      { provider: 'kms-local' },
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new KeyswitchError('CONFIG_INVALID', `port must be an integer from 0 to 65535, got ${port}`, {
      provider: 'kms-local',
    });
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new KeyswitchError('CONFIG_INVALID', `region ${JSON.stringify(region)} is not an AWS Region name`, {
      provider: 'kms-local',
    });
  }
  if (!/^\d{12}$/.test(accountId)) {
    throw new KeyswitchError('CONFIG_INVALID', 'accountId must be 12 digits', { provider: 'kms-local' });
  }
  const credentials = options.credentials ?? [KMS_LOCAL_DEFAULT_CREDENTIALS];
  if (credentials !== 'any' && credentials.length === 0) {
    throw new KeyswitchError('CONFIG_INVALID', "credentials must list at least one pair, or be 'any'", {
      provider: 'kms-local',
    });
  }
  let faults = options.faults === undefined ? undefined : faultInjector(options.faults);
  const without = new Set(options.without ?? []);
  for (const feature of without) {
    if (!KMS_LOCAL_FEATURES.includes(feature)) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `without: unknown feature ${JSON.stringify(feature)}; expected ${KMS_LOCAL_FEATURES.join(' or ')}`,
        { provider: 'kms-local' },
      );
    }
  }
  const maxClockSkewSeconds = options.maxClockSkewSeconds ?? KMS_LOCAL_DEFAULTS.maxClockSkewSeconds;

  const ownsProvider = options.provider === undefined;
  const provider = options.provider ?? (await openDefaultProvider());
  const closeProvider = options.closeProvider ?? ownsProvider;
  const registry = new KeyRegistry(region);
  const aliasPath = aliasFileFor(provider, options.aliasFile);
  const aliasFile = aliasPath === undefined ? undefined : new AliasFile(aliasPath);
  try {
    if (options.adoptProviderKeys !== false) await adoptProviderKeys(provider, registry, accountId);
    await aliasFile?.load(registry);
    await seedKeys(options.keys ?? [], {
      registry,
      provider,
      callerAccount: accountId,
      now: () => new Date(),
    });
  } catch (error) {
    if (closeProvider) await provider.close();
    throw error;
  }

  // Seeded aliases are kept too.
  if (aliasFile && (options.keys?.length ?? 0) > 0) await aliasFile.save(registry.allAliases());
  // Import tokens and wrapping keys live as long as this server.
  const operations: Readonly<Record<string, OperationHandler>> = {
    ...STATELESS_OPERATIONS,
    ...keyImportOperations(),
  };
  let total = 0;
  let byOperation: Record<string, number> = {};
  const pendingDelays = new Set<AbortController>();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let operation = '(unknown)';
    try {
      const body = await readBody(request);
      const target = request.headers['x-amz-target'];
      const match = typeof target === 'string' ? /^TrentService\.([A-Za-z]+)$/.exec(target) : null;
      if (match) operation = match[1]!;
      total += 1;
      byOperation[operation] = (byOperation[operation] ?? 0) + 1;
      if (request.method !== 'POST')
        throw new KmsException('UnknownOperationException', 'kms-local accepts POST requests only');
      const signer = verifySignature(
        { method: request.method, url: request.url ?? '/', headers: request.headersDistinct, body },
        { region, service: 'kms', credentials, maxClockSkewSeconds },
      );
      const handler = match ? operations[operation] : undefined;
      if (!handler)
        throw new KmsException('UnknownOperationException', `Unknown operation ${String(target)}`);
      const contentType = request.headers['content-type'] ?? '';
      if (!contentType.startsWith(JSON_11)) {
        throw new KmsException('SerializationException', `Content-Type must be ${JSON_11}`);
      }
      const decision = faults?.decide(operation);
      if (decision?.throttle) throw throttled();
      if (decision && decision.delayMs > 0) await delay(decision.delayMs, pendingDelays);
      const parsed = parseJson(body);
      refuseMissingFeature(operation, parsed, without);
      const result = await handler(new RequestFields(parsed), {
        registry,
        provider,
        callerAccount: signer.accountId ?? accountId,
        now: () => new Date(),
      });
      if (aliasFile && ALIAS_OPERATIONS.has(operation)) await aliasFile.save(registry.allAliases());
      send(response, 200, requestId, result);
      options.log?.(`${operation} 200`);
    } catch (error) {
      if (response.destroyed) return;
      const exception = error instanceof KmsException ? error : fromProviderError(error);
      send(
        response,
        exception.status,
        requestId,
        { __type: exception.type, message: exception.message },
        exception.type,
      );
      options.log?.(`${operation} ${exception.status} ${exception.type}`);
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if (closeProvider) await provider.close();
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `kms-local cannot listen on ${host}:${port} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        provider: 'kms-local',
        cause: error,
      },
    );
  }
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    endpoint: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    region,
    accountId,
    get credentials() {
      // A fresh copy: the AWS SDK writes bookkeeping fields onto the credentials object it is given.
      return credentials === 'any' ? undefined : { ...credentials[0]! };
    },
    provider,
    aliasFile: aliasPath,
    requests: () => ({ total, byOperation: { ...byOperation } }),
    resetRequestCounts: () => {
      total = 0;
      byOperation = {};
    },
    setFaults: (next) => {
      faults = next === undefined ? undefined : faultInjector(next);
    },
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const controller of pendingDelays) controller.abort();
        server.closeAllConnections();
        await closed;
        await aliasFile?.flush();
        if (closeProvider) await provider.close();
      })();
      return closing;
    },
  };
}

async function seedKeys(seeds: readonly KmsLocalKeySeed[], context: OperationContext): Promise<void> {
  for (const seed of seeds) {
    const alias = seed.alias.startsWith('alias/') ? seed.alias : `alias/${seed.alias}`;
    if (context.registry.alias(context.callerAccount, alias)) continue;
    try {
      const created = await keyManagementOperations.CreateKey!(
        new RequestFields({
          KeySpec: seed.spec,
          ...(seed.usage === undefined ? {} : { KeyUsage: seed.usage }),
          ...(seed.description === undefined ? {} : { Description: seed.description }),
        }),
        context,
      );
      const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
      await aliasOperations.CreateAlias!(
        new RequestFields({ AliasName: alias, TargetKeyId: keyId }),
        context,
      );
    } catch (error) {
      const detail = error instanceof KmsException ? `${error.type}: ${error.message}` : String(error);
      throw new KeyswitchError('CONFIG_INVALID', `kms-local cannot create key ${alias} (${detail})`, {
        provider: 'kms-local',
        cause: error,
      });
    }
  }
}

async function openDefaultProvider(): Promise<KeyProvider> {
  const { SoftHsm } = await import('@keyswitch/soft-hsm');
  return SoftHsm.open({ name: 'kms-local' });
}

function faultInjector(faults: KmsLocalFaults): FaultInjector {
  try {
    return new FaultInjector(faults);
  } catch (error) {
    throw new KeyswitchError('CONFIG_INVALID', (error as Error).message, { provider: 'kms-local' });
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        reject(new KmsException('ValidationException', `Request body exceeds ${MAX_BODY_BYTES} bytes`));
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseJson(body: Buffer): Readonly<Record<string, unknown>> {
  if (body.byteLength === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new KmsException('SerializationException', 'The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KmsException('SerializationException', 'The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function send(
  response: ServerResponse,
  status: number,
  requestId: string,
  body: unknown,
  errorType?: string,
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': JSON_11,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
  });
  response.end(text);
}

function delay(ms: number, pending: Set<AbortController>): Promise<void> {
  const controller = new AbortController();
  pending.add(controller);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    controller.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new KmsException('KMSInternalException', 'kms-local is shutting down', 500));
    });
  }).finally(() => pending.delete(controller));
}
