import {
  type Algorithm,
  algorithmsFor,
  type ErrorCode,
  isKeyswitchError,
  type KeySpec,
  type KeyState,
  Keyswitch,
  type KeyUsage,
} from '@keyswitch/core';
import { Keyring } from '../keyring.js';
import { cryptoperiodEnd, cryptoperiodStart } from '../lib/cryptoperiod.js';
import { internalsOf } from '../lib/keyring-internals.js';

/** One key version in the inventory. Never key material. */
export interface InventoryEntry {
  /** The logical key name. */
  readonly keyName: string;
  /** The version id (`"1"` for a key without versions). */
  readonly version: string;
  /** `active` takes new data; `retired` only decrypts and verifies. */
  readonly status: 'active' | 'retired';
  /** The provider's name in the configuration, and its type when the backend was reached. */
  readonly provider: string;
  readonly providerType: string | undefined;
  /** The provider-native key reference. */
  readonly ref: string;
  /** The keyswitch configuration key behind this version, if any. */
  readonly configKey: string | undefined;
  readonly spec: KeySpec | undefined;
  readonly usage: KeyUsage | undefined;
  readonly algorithm: Algorithm | undefined;
  /** The backend key's state; `UNKNOWN` when it could not be described (see `error`). */
  readonly state: KeyState | 'NOT_FOUND' | 'UNKNOWN';
  /** The backend's key id and version, where it reports them. */
  readonly backendKeyId: string | undefined;
  readonly backendVersion: string | undefined;
  /** Start of the cryptoperiod: the configured date, else the backend key's creation date. */
  readonly createdAt: Date | undefined;
  readonly cryptoperiodDays: number | undefined;
  /** End of the cryptoperiod. */
  readonly expiresAt: Date | undefined;
  /** Whether the cryptoperiod has ended. */
  readonly expired: boolean;
  /** When a key pending deletion will be destroyed. */
  readonly deletionDate: Date | undefined;
  readonly description: string | undefined;
  /** Why the backend key could not be described. */
  readonly error: { readonly code: ErrorCode; readonly message: string } | undefined;
}

/** Options for {@link inventory}. */
export interface InventoryOptions {
  /** Ask each backend for the key's state and dates (default true); false lists the configuration only. */
  readonly describe?: boolean;
}

/**
 * Every configured key and version with its spec, usage, backend, state, creation and expiry dates — the
 * key inventory PCI DSS 3.6.1.1 asks for. Never key material. Each backend key is described once (in
 * parallel); a key that cannot be described is listed with state `NOT_FOUND` or `UNKNOWN` and the error.
 *
 * @example
 * ```ts
 * for (const key of await inventory(keyring)) {
 *   console.log(key.keyName, key.version, key.status, key.provider, key.state, key.expiresAt?.toISOString());
 * }
 * ```
 */
export async function inventory(
  source: Keyring | Keyswitch,
  options: InventoryOptions = {},
): Promise<InventoryEntry[]> {
  const keyring = source instanceof Keyswitch ? Keyring.create(source, { cache: false }) : source;
  const internals = internalsOf(keyring);
  internals.assertOpen();
  const ks = internals.keyswitch;
  const now = internals.now().getTime();
  const rows = internals.keys().flatMap((key) => key.versions().map((version) => ({ key, version })));
  return Promise.all(
    rows.map(async ({ key, version }): Promise<InventoryEntry> => {
      const info = version.info;
      const configured = info.configKey === undefined ? undefined : ks.keyConfig(info.configKey);
      let error: InventoryEntry['error'];
      let providerType: string | undefined;
      if (options.describe !== false) {
        try {
          providerType = (await ks.provider(info.provider)).type;
          await version.describe();
        } catch (caught) {
          if (!isKeyswitchError(caught)) throw caught;
          error = { code: caught.code, message: caught.message };
        }
      }
      const description = options.describe === false ? undefined : version.description;
      const spec = description?.spec ?? configured?.spec;
      const usage = description?.usage ?? configured?.usage;
      const end = cryptoperiodEnd(version);
      return {
        keyName: key.name,
        version: info.id,
        status: info.status,
        provider: info.provider,
        providerType,
        ref: info.ref,
        configKey: info.configKey,
        spec,
        usage,
        algorithm: configured?.algorithm ?? (spec && usage ? algorithmsFor(spec, usage)[0] : undefined),
        state: description?.state ?? (error?.code === 'KEY_NOT_FOUND' ? 'NOT_FOUND' : 'UNKNOWN'),
        backendKeyId: description?.keyId,
        backendVersion: description?.version,
        createdAt: cryptoperiodStart(version),
        cryptoperiodDays: info.cryptoperiodDays,
        expiresAt: end,
        expired: end !== undefined && now >= end.getTime(),
        deletionDate: description?.deletionDate,
        description: key.description ?? description?.description,
        error,
      };
    }),
  );
}
