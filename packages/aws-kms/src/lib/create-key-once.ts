import { randomUUID } from 'node:crypto';
import type { CreateKeyCommandInput, KeyMetadata } from '@aws-sdk/client-kms';
import { KeyswitchError } from '@keyswitch/core';
import { isNotConnectedError } from './call-deadline-retry-strategy.js';
import type { KmsRequests } from './kms-requests.js';
import { mapConcurrently } from './map-concurrently.js';

/**
 * The tag every key keyswitch creates carries: a unique creation token, by which a create whose answer was
 * lost (a timeout, a dropped connection) is found again instead of being repeated.
 *
 * @example
 * ```ts
 * const token = description.tags?.[CREATION_TOKEN_TAG];
 * ```
 */
export const CREATION_TOKEN_TAG = 'keyswitch:creation-token';

/** How to find a key whose CreateKey answer was lost. */
export interface CreationRecovery {
  /** How long to keep looking after the failure (a delayed request may still land). */
  readonly windowMs: number;
  readonly finder: CreationTokenFinder;
}

/**
 * Sends CreateKey once (never retried by the SDK), tagged with a fresh creation token. When the request may
 * have reached KMS but its answer was lost, looks for the key by its token until the recovery window ends:
 * found, it is adopted; not found, the error says which token to look for, and is not retryable (a blind
 * retry could make a second key).
 *
 * @throws the mapped CreateKey error; UNAVAILABLE (not retryable) naming the token when the outcome is unknown
 */
export async function createKeyOnce(
  requests: KmsRequests,
  input: Omit<CreateKeyCommandInput, 'Tags'> & {
    readonly tags?: Readonly<Record<string, string>> | undefined;
  },
  recovery: CreationRecovery,
): Promise<{ metadata: KeyMetadata; creationToken: string }> {
  const creationToken = randomUUID();
  const { tags, ...command } = input;
  const Tags = [
    ...Object.entries(tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
    { TagKey: CREATION_TOKEN_TAG, TagValue: creationToken },
  ];
  try {
    const { KeyMetadata } = await requests.send(
      'CreateKey',
      'management',
      (sdk, client) => client.send(new sdk.CreateKeyCommand({ ...command, Tags })),
      { once: true },
    );
    return { metadata: KeyMetadata!, creationToken };
  } catch (error) {
    if (!mayHaveActed(error)) throw error;
    const found = await recovery.finder.find(creationToken, recovery.windowMs);
    if (found) return { metadata: found, creationToken };
    const reason = error instanceof Error ? error.message : String(error);
    throw new KeyswitchError(
      'UNAVAILABLE',
      `CreateKey may have created a key: ${reason}; no key tagged ${CREATION_TOKEN_TAG}=${creationToken} appeared within ${recovery.windowMs} ms. If one appears, it is that key: adopt it or schedule its deletion. Not retried, so that no second key is made`,
      { cause: error, retryable: false },
    );
  }
}

/** Whether a failed request may still have been carried out by KMS (sent, and no definite answer came). */
function mayHaveActed(error: unknown): boolean {
  if (!(error instanceof KeyswitchError)) return true;
  if (error.code === 'THROTTLED') return false;
  const cause = error.cause as { $metadata?: { httpStatusCode?: number } } | undefined;
  if (cause === undefined) return false;
  const status = cause.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500) return false;
  return !isNotConnectedError(cause);
}

interface Waiter {
  readonly token: string;
  readonly ends: number;
  readonly resolve: (keyId: string | undefined) => void;
}

/**
 * Finds keys by creation token for every create whose answer was lost, with one scan for all of them:
 * ListKeys, then ListResourceTags once per key (a key's creation token never changes), again and again
 * until each waiter has its key or its window has ended.
 */
export class CreationTokenFinder {
  readonly #requests: KmsRequests;
  readonly #waiters = new Set<Waiter>();
  /** Key id → its creation token (or null), for keys already read during this search. */
  readonly #seen = new Map<string, string | null>();
  #scanning = false;

  constructor(requests: KmsRequests) {
    this.#requests = requests;
  }

  /** The metadata of the key tagged with the token, or undefined once the window has ended without it. */
  async find(token: string, windowMs: number): Promise<KeyMetadata | undefined> {
    const keyId = await new Promise<string | undefined>((resolve) => {
      this.#waiters.add({ token, ends: Date.now() + windowMs, resolve });
      if (!this.#scanning) void this.#scan();
    });
    if (keyId === undefined) return undefined;
    const { KeyMetadata } = await this.#requests.send('DescribeKey', 'describeKey', (sdk, client) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: keyId })),
    );
    return KeyMetadata;
  }

  async #scan(): Promise<void> {
    this.#scanning = true;
    let wait = 100;
    try {
      while (this.#waiters.size > 0) {
        await this.#readNewKeys().catch(() => undefined);
        const now = Date.now();
        for (const waiter of this.#waiters) {
          const keyId = [...this.#seen].find(([, token]) => token === waiter.token)?.[0];
          if (keyId !== undefined || now + wait > waiter.ends) {
            this.#waiters.delete(waiter);
            waiter.resolve(keyId);
          }
        }
        if (this.#waiters.size === 0) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 1_000);
      }
    } finally {
      this.#seen.clear();
      this.#scanning = false;
    }
  }

  async #readNewKeys(): Promise<void> {
    let marker: string | undefined;
    do {
      const listed = await this.#requests.send('ListKeys', 'list', (sdk, client) =>
        client.send(
          new sdk.ListKeysCommand({ Limit: 1000, ...(marker === undefined ? {} : { Marker: marker }) }),
        ),
      );
      const fresh = (listed.Keys ?? [])
        .map((entry) => entry.KeyId!)
        .filter((keyId) => !this.#seen.has(keyId));
      await mapConcurrently(fresh, 8, async (keyId) => {
        const tags = await this.#requests.send('ListResourceTags', 'management', (sdk, client) =>
          client.send(new sdk.ListResourceTagsCommand({ KeyId: keyId })),
        );
        const token = tags.Tags?.find((tag) => tag.TagKey === CREATION_TOKEN_TAG)?.TagValue;
        this.#seen.set(keyId, token ?? null);
      });
      marker = listed.Truncated ? listed.NextMarker : undefined;
    } while (marker !== undefined);
  }
}
