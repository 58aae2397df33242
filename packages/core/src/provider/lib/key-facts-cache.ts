import { assertRef } from '../../lib/checks.js';
import type { KeyDescription } from '../contract.js';
import type { KeyFacts } from '../hook-inputs.js';

/**
 * The immutable facts (spec, usage, version) of the keys a provider has seen, by reference, so that the
 * core checks a request against its key with at most one describe per key.
 *
 * @example
 * ```ts
 * const facts = new KeyFactsCache();
 * const key = await facts.factsFor(ref, (r) => backend.describe(r));
 * ```
 */
export class KeyFactsCache {
  readonly #facts = new Map<string, Promise<KeyFacts>>();

  /** Records the facts of a key just described, created or imported. */
  remember(ref: string, description: KeyDescription): void {
    this.#facts.set(ref, Promise.resolve(factsOf(ref, description)));
  }

  /** Drops a reference (its key was not found). */
  forget(ref: string): void {
    this.#facts.delete(ref);
  }

  /** The facts already known or being read for `ref`, without describing the key. */
  known(ref: string): Promise<KeyFacts> | undefined {
    return this.#facts.get(ref);
  }

  /** The facts of a key, from the cache or one `describe`; a failed describe is not cached. */
  factsFor(ref: string, describe: (ref: string) => Promise<KeyDescription>): Promise<KeyFacts> {
    assertRef(ref);
    let facts = this.#facts.get(ref);
    if (!facts) {
      facts = describe(ref).then((description) => factsOf(ref, description));
      this.#facts.set(ref, facts);
      facts.catch(() => this.#facts.delete(ref));
    }
    return facts;
  }
}

function factsOf(ref: string, description: KeyDescription): KeyFacts {
  return {
    ref,
    spec: description.spec,
    usage: description.usage,
    usages: description.usages ?? [description.usage],
    ...(description.version === undefined ? {} : { version: description.version }),
  };
}
