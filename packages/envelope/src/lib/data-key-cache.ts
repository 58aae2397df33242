import { KeyswitchError } from '@keyswitch/core';
import type { CacheLimits } from '../cache-limits.js';

/** Key material handed to one operation: a private copy, which the caller zeroes when done. */
export interface Lease {
  readonly material: Buffer;
  readonly wrapped: Uint8Array | undefined;
}

interface Entry {
  readonly material: Buffer;
  readonly wrapped: Uint8Array | undefined;
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
  async acquire(
    partition: string,
    bytes: number,
    load: () => Promise<{ material: Uint8Array; wrapped?: Uint8Array }>,
  ): Promise<Lease> {
    if (this.#closed) throw new KeyswitchError('CLOSED', 'the data key cache is closed');
    this.#sweepIfDue();
    if (bytes > this.#limits.maxBytes) {
      this.#bypasses += 1;
      const loaded = await load();
      return { material: owned(loaded.material), wrapped: loaded.wrapped };
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
    const lease = { material: copy(entry.material), wrapped: entry.wrapped };
    this.#entries.delete(partition);
    if (entry.messages >= this.#limits.maxMessages) {
      entry.material.fill(0);
      this.#evictions += 1;
    } else {
      this.#entries.set(partition, entry); // most recently used last
    }
    return lease;
  }

  #insertAndTake(
    partition: string,
    bytes: number,
    loaded: { material: Uint8Array; wrapped?: Uint8Array },
  ): Lease {
    const material = owned(loaded.material);
    const lease = { material: copy(material), wrapped: loaded.wrapped };
    if (this.#closed || this.#limits.maxMessages <= 1 || this.#limits.maxAgeMs <= 0) {
      material.fill(0);
      return lease;
    }
    this.#evict(partition);
    this.#entries.set(partition, {
      material,
      wrapped: loaded.wrapped,
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
