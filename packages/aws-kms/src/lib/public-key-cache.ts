import type { KeyObject } from 'node:crypto';
import type { KmsRequests } from './kms-requests.js';
import { publicKeyObject } from './local-public-key.js';

/** Public keys fetched with GetPublicKey, cached by the reference they were asked for by (when enabled). */
export class PublicKeyCache {
  readonly #requests: KmsRequests;
  readonly #enabled: boolean;
  readonly #spki = new Map<string, Promise<Uint8Array>>();
  readonly #keyObjects = new Map<string, KeyObject>();

  constructor(requests: KmsRequests, enabled: boolean) {
    this.#requests = requests;
    this.#enabled = enabled;
  }

  /** The key's SubjectPublicKeyInfo (DER), from the cache or KMS. */
  spki(ref: string): Promise<Uint8Array> {
    const fetch = () =>
      this.#requests
        .send('GetPublicKey', 'getPublicKey', (sdk, client) =>
          client.send(new sdk.GetPublicKeyCommand({ KeyId: ref })),
        )
        .then(({ PublicKey }) => PublicKey!);
    if (!this.#enabled) return fetch();
    let cached = this.#spki.get(ref);
    if (!cached) {
      cached = fetch();
      this.#spki.set(ref, cached);
      cached.catch(() => this.#spki.delete(ref));
    }
    return cached;
  }

  /** The key as a node:crypto public key, for local verification and encryption. */
  async keyObject(ref: string): Promise<KeyObject> {
    const known = this.#keyObjects.get(ref);
    if (known) return known;
    const key = publicKeyObject(await this.spki(ref));
    this.#keyObjects.set(ref, key);
    return key;
  }

  /** Drops what is cached for a reference. */
  forget(ref: string): void {
    this.#spki.delete(ref);
    this.#keyObjects.delete(ref);
  }
}
