import { KeyswitchError } from '@keyswitch/core';
import type { CacheLimits } from '../cache-limits.js';
import type { WrappedDataKey } from '../format/envelope.js';

/** What an encryption key needs in the envelope header besides itself: its salt and wrapped copies. */
export interface SealHeader {
  readonly salt: Uint8Array;
  readonly wrappedKeys: readonly WrappedDataKey[];
}

/** What a loader hands the cache: key material it takes ownership of (and zeroes), and who it depends on. */
export interface Loaded {
  readonly material: Uint8Array;
  readonly header?: SealHeader | undefined;
  /** The key versions whose backend keys this material came through (see {@link DataKeyCache.dropOwner}). */
  readonly owners: readonly string[];
}

/** Key material handed to one operation: a private copy, which the caller zeroes when done. */
export interface Lease {
  readonly material: Buffer;
  readonly header: SealHeader | undefined;
  readonly owners: readonly string[];
}

interface Entry {
  readonly material: Buffer;
  readonly header: SealHeader | undefined;
  readonly owners: readonly string[];
  readonly created: number;
  messages: number;
  bytes: number;
}

/** Cache counters, for tests and metrics. */
export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  /** Records too large for `maxBytes`, served with a key of their own. */
  readonly bypasses: number;
  readonly evictions: number;
  readonly entries: number;
}

/**
 * Data keys by partition, for encryption (a plaintext key and its wrapped form) and decryption (an
 * unwrapped key, partitioned by its wrapped bytes). Each use takes a private copy of the key, so that an
 * eviction racing with an operation never hands it zeroed bytes. Concurrent misses on one partition share
 * one backend call.
 */
export class DataKeyCache {
  readonly #limits: CacheLimits;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<unknown>>();
  #hits = 0;
  #misses = 0;
  #bypasses = 0;
  #evictions = 0;
  #lastSweep = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(limits: CacheLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  stats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      bypasses: this.#bypasses,
      evictions: this.#evictions,
      entries: this.#entries.size,
    };
  }

  /**
   * A key for `bytes` of data in `partition`: a cached one within its limits, or one `load` makes.
   * `load` returns key material the cache takes ownership of (and zeroes).
   */
  async acquire(partition: string, bytes: number, load: () => Promise<Loaded>): Promise<Lease> {
    if (this.#closed) throw new KeyswitchError('CLOSED', 'the data key cache is closed');
    this.#sweepIfDue();
    if (bytes > this.#limits.maxBytes) {
      this.#bypasses += 1;
      const loaded = await load();
      return { material: owned(loaded.material), header: loaded.header, owners: loaded.owners };
    }
    for (;;) {
      const taken = this.#take(partition, bytes);
      if (taken) return taken;
      const pending = this.#pending.get(partition);
      if (pending) {
        await pending;
        continue;
      }
      this.#misses += 1;
      const loading = load().then((loaded) => this.#insertAndTake(partition, bytes, loaded));
      const shared = loading.then(() => undefined);
      shared.catch(() => undefined);
      this.#pending.set(partition, shared);
      try {
        return await loading;
      } finally {
        if (this.#pending.get(partition) === shared) this.#pending.delete(partition);
      }
    }
  }

  /**
   * Zeroes and drops every cached key that came through `owner`'s backend key: it was disabled, so
   * nothing it wrapped may be used from memory any longer.
   *
   * @returns how many keys were dropped
   */
  dropOwner(owner: string): number {
    let dropped = 0;
    for (const [partition, entry] of [...this.#entries]) {
      if (entry.owners.includes(owner)) {
        this.#evict(partition);
        dropped += 1;
      }
    }
    return dropped;
  }

  /** Zeroes and drops every cached key. */
  clear(): void {
    for (const key of [...this.#entries.keys()]) this.#evict(key);
  }

  /** Zeroes every cached key and refuses further use. Idempotent. */
  close(): void {
    this.#closed = true;
    this.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #take(partition: string, bytes: number): Lease | undefined {
    const entry = this.#entries.get(partition);
    if (!entry) return undefined;
    if (
      this.#expired(entry) ||
      entry.messages >= this.#limits.maxMessages ||
      entry.bytes + bytes > this.#limits.maxBytes
    ) {
      this.#evict(partition);
      return undefined;
    }
    entry.messages += 1;
    entry.bytes += bytes;
    this.#hits += 1;
    const lease = { material: copy(entry.material), header: entry.header, owners: entry.owners };
    this.#entries.delete(partition);
    if (entry.messages >= this.#limits.maxMessages) {
      entry.material.fill(0);
      this.#evictions += 1;
    } else {
      this.#entries.set(partition, entry); // most recently used last
    }
    return lease;
  }

  #insertAndTake(partition: string, bytes: number, loaded: Loaded): Lease {
    const material = owned(loaded.material);
    const lease = { material: copy(material), header: loaded.header, owners: loaded.owners };
    if (this.#closed || this.#limits.maxMessages <= 1 || this.#limits.maxAgeMs <= 0) {
      material.fill(0);
      return lease;
    }
    this.#evict(partition);
    this.#entries.set(partition, {
      material,
      header: loaded.header,
      owners: loaded.owners,
      created: this.#now(),
      messages: 1,
      bytes,
    });
    while (this.#entries.size > this.#limits.capacity) {
      this.#evict(this.#entries.keys().next().value as string);
    }
    this.#startTimer();
    return lease;
  }

  #expired(entry: Entry): boolean {
    return this.#now() - entry.created >= this.#limits.maxAgeMs;
  }

  #evict(partition: string): void {
    const entry = this.#entries.get(partition);
    if (!entry) return;
    entry.material.fill(0);
    this.#entries.delete(partition);
    this.#evictions += 1;
  }

  #sweepIfDue(): void {
    const now = this.#now();
    if (now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    this.#sweep();
  }

  #sweep(): void {
    for (const [partition, entry] of this.#entries) if (this.#expired(entry)) this.#evict(partition);
    if (this.#entries.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Expired keys are zeroed within a sweep interval even when the cache is idle. */
  #startTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#sweep(), Math.max(1000, Math.min(this.#limits.maxAgeMs, 30_000)));
    this.#timer.unref();
  }
}

/** Moves key material into a Buffer of its own (not the shared pool) and zeroes the source. */
export function owned(material: Uint8Array): Buffer {
  const out = copy(material);
  material.fill(0);
  return out;
}

function copy(material: Uint8Array): Buffer {
  const out = Buffer.alloc(material.length);
  out.set(material);
  return out;
}
