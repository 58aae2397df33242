import { isKeyswitchError, KeyswitchError } from '../errors.js';
import type { KeyBinding } from './key-binding.js';

const DAY_MS = 86_400_000;
const REPORT_REPEAT_MS = DAY_MS;

/** One version of a logical key with versions, bound to its backend key. */
export interface KeyVersionMember {
  readonly id: string;
  readonly binding: KeyBinding;
  /** The start of its cryptoperiod, when configured (else the backend key's creation date is asked). */
  readonly createdAt: Date | undefined;
  readonly cryptoperiodDays: number | undefined;
  /** From this moment it no longer verifies or decrypts. */
  readonly disabledFrom: Date | undefined;
}

/**
 * A version as a handle reports it: `active` signs and encrypts; `retired` only verifies and decrypts;
 * `disabled` (past its `disabledFrom`) does neither.
 */
export interface KeyVersionStatus {
  readonly id: string;
  readonly status: 'active' | 'retired' | 'disabled';
  /** The logical key name in `keys` this version is, or the logical name for a `provider` + `ref` version. */
  readonly keyName: string;
  readonly provider: string;
  readonly ref: string;
}

/**
 * A key lifecycle event: a version's cryptoperiod ends soon, or has ended. Audit-style (who and what, never
 * data), so it can go to the same sink as the audit events: the audit file, the logger, or (for
 * `@keyswitch/envelope`'s keyring) its `onEvent` listener.
 */
export interface CryptoperiodEvent {
  /** `cryptoperiod-ending`: the active version's cryptoperiod ends within `warnBeforeDays`;
   * `cryptoperiod-expired`: it has ended (new data is refused under `error`, allowed under `warn`). */
  readonly type: 'cryptoperiod-ending' | 'cryptoperiod-expired';
  /** ISO 8601 time of the event. */
  readonly time: string;
  readonly keyName: string;
  readonly keyVersion: string;
  readonly provider: string;
  readonly keyRef: string;
  /** ISO 8601 end of the cryptoperiod. */
  readonly expiresAt: string;
  readonly enforcement: 'error' | 'warn';
}

/** How a logical key's cryptoperiods are enforced, and where their events go. */
export interface KeyVersionPolicy {
  readonly enforcement: 'error' | 'warn';
  readonly warnBeforeDays: number;
  readonly report: (event: CryptoperiodEvent) => void;
  readonly now: () => number;
}

/**
 * The versions of a logical key, as signers and encrypters use them (Tink's keyset: a primary and the
 * keys that still verify). New signatures and ciphertexts use the active version, within its
 * cryptoperiod; verification and decryption try the version the caller names by `kid` (a version id or
 * the RFC 7638 thumbprint of its public key) first, then the active one, then the others newest first,
 * leaving out versions past their `disabledFrom`.
 */
export class KeyVersionSet {
  readonly name: string;
  readonly active: KeyVersionMember;
  readonly #members: readonly KeyVersionMember[];
  readonly #policy: KeyVersionPolicy;
  readonly #reported = new Map<string, number>();
  /** The cryptoperiod start of the active version when the configuration gives none. */
  #activeStart: Promise<Date | undefined> | undefined;
  /** Public key thumbprint → version, learnt on the first `kid` that is not a version id. */
  #byThumbprint: Map<string, KeyVersionMember> | undefined;

  constructor(
    name: string,
    members: readonly KeyVersionMember[],
    activeId: string,
    policy: KeyVersionPolicy,
  ) {
    this.name = name;
    this.#members = members;
    this.active = members.find((member) => member.id === activeId)!;
    this.#policy = policy;
  }

  /** Every version, oldest first, with its status now. */
  statuses(): KeyVersionStatus[] {
    const now = this.#policy.now();
    return this.#members.map((member) => ({
      id: member.id,
      status: member === this.active ? 'active' : this.#disabled(member, now) ? 'disabled' : 'retired',
      keyName: member.binding.name,
      provider: member.binding.providerName,
      ref: member.binding.ref,
    }));
  }

  /** The versions that verify and decrypt now: the active one first, then the others newest first. */
  usable(): KeyVersionMember[] {
    const now = this.#policy.now();
    const others = this.#members.filter((member) => member !== this.active && !this.#disabled(member, now));
    return [this.active, ...others.reverse()];
  }

  /**
   * The active version's binding, for new data. A version past its cryptoperiod is KEY_DISABLED under
   * `cryptoperiodEnforcement: "error"` (the default) and reported; a version near its end is reported.
   */
  async forNewData(): Promise<KeyBinding> {
    const active = this.active;
    if (active.cryptoperiodDays === undefined) return active.binding;
    const start = active.createdAt ?? (await this.#startOfActive());
    if (start === undefined) return active.binding;
    const end = start.getTime() + active.cryptoperiodDays * DAY_MS;
    const now = this.#policy.now();
    if (now >= end) {
      this.#report('cryptoperiod-expired', end);
      if (this.#policy.enforcement === 'error') {
        throw new KeyswitchError(
          'KEY_DISABLED',
          `version "${active.id}" reached the end of its ${active.cryptoperiodDays}-day cryptoperiod on ${new Date(end).toISOString()}: it may only verify and decrypt (PCI DSS 3.7.4); add a new version and make it active`,
          { keyName: this.name, provider: active.binding.providerName, keyRef: active.binding.ref },
        );
      }
    } else if (now >= end - this.#policy.warnBeforeDays * DAY_MS) {
      this.#report('cryptoperiod-ending', end);
    }
    return active.binding;
  }

  /**
   * Runs `attempt` on each version that may verify or decrypt, in order, until one answers (returns a
   * value other than `undefined`). When none answers: the first error a version threw (an outage must not
   * pass for "does not verify"), else `undefined`.
   *
   * @throws KEY_DISABLED when `kid` names a version past its `disabledFrom`
   */
  async firstAnswer<T>(
    kid: string | undefined,
    attempt: (binding: KeyBinding) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const named = kid === undefined ? undefined : await this.#named(kid);
    if (named !== undefined) this.#refuseDisabled(named);
    const usable = this.usable();
    const order = named === undefined ? usable : [named, ...usable.filter((member) => member !== named)];
    let failure: unknown;
    for (const member of order) {
      try {
        const answer = await attempt(member.binding);
        if (answer !== undefined) return answer;
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    return undefined;
  }

  /**
   * The version `kid` names, else the active one: for a key agreement, whose answer cannot tell that a
   * version was the wrong one, so versions are not tried in turn.
   *
   * @throws KEY_DISABLED when `kid` names a version past its `disabledFrom`
   */
  async versionFor(kid: string | undefined): Promise<KeyBinding> {
    const named = kid === undefined ? undefined : await this.#named(kid);
    if (named === undefined) return this.active.binding;
    this.#refuseDisabled(named);
    return named.binding;
  }

  #refuseDisabled(member: KeyVersionMember): void {
    if (!this.#disabled(member, this.#policy.now())) return;
    throw new KeyswitchError(
      'KEY_DISABLED',
      `version "${member.id}" is out of use since ${member.disabledFrom!.toISOString()} (disabledFrom): it no longer verifies, decrypts or agrees keys`,
      { keyName: this.name, provider: member.binding.providerName, keyRef: member.binding.ref },
    );
  }

  #disabled(member: KeyVersionMember, now: number): boolean {
    return member.disabledFrom !== undefined && now >= member.disabledFrom.getTime();
  }

  /** The version a `kid` names: by version id, else by its public key's thumbprint. */
  async #named(kid: string): Promise<KeyVersionMember | undefined> {
    const byId = this.#members.find((member) => member.id === kid);
    if (byId !== undefined) return byId;
    const spec = this.active.binding.spec;
    if (spec === 'SYMMETRIC_DEFAULT' || spec.startsWith('HMAC_')) return undefined;
    let byThumbprint = this.#byThumbprint?.get(kid);
    if (byThumbprint === undefined) {
      // Learnt again on a miss: an alias moved to another key changes a version's thumbprint.
      this.#byThumbprint = await this.#thumbprints();
      byThumbprint = this.#byThumbprint.get(kid);
    }
    return byThumbprint;
  }

  async #thumbprints(): Promise<Map<string, KeyVersionMember>> {
    const found = new Map<string, KeyVersionMember>();
    await Promise.all(
      this.#members.map(async (member) => {
        try {
          const publicKey = await member.binding.use(
            (provider, ref, call) => provider.getPublicKey(ref, call),
            {},
            'getPublicKey',
          );
          found.set(publicKey.kid, member);
        } catch (error) {
          // A version that cannot be asked now is tried in order like the others.
          if (!isKeyswitchError(error)) throw error;
        }
      }),
    );
    return found;
  }

  #startOfActive(): Promise<Date | undefined> {
    if (this.#activeStart === undefined) {
      const binding = this.active.binding;
      const asking = binding
        .use((provider, ref, call) => provider.describeKey(ref, call), {}, 'describeKey')
        .then((description) => description.createdAt);
      this.#activeStart = asking;
      asking.catch(() => {
        if (this.#activeStart === asking) this.#activeStart = undefined;
      });
    }
    return this.#activeStart;
  }

  /** Reports a cryptoperiod event at most once a day per kind. */
  #report(type: CryptoperiodEvent['type'], end: number): void {
    const now = this.#policy.now();
    const last = this.#reported.get(type);
    if (last !== undefined && now - last < REPORT_REPEAT_MS) return;
    this.#reported.set(type, now);
    const active = this.active;
    this.#policy.report({
      type,
      time: new Date(now).toISOString(),
      keyName: this.name,
      keyVersion: active.id,
      provider: active.binding.providerName,
      keyRef: active.binding.ref,
      expiresAt: new Date(end).toISOString(),
      enforcement: this.#policy.enforcement,
    });
  }
}
