import {
  type AuditEvent,
  isKeyswitchError,
  Keyswitch,
  type KeyswitchConfigInput,
  type KeyswitchError,
  type KeyswitchOptions,
} from '@keyswitch/core';
import { providerFactory } from '@keyswitch/soft-hsm';

/** Keys created in each in-memory software HSM: `kms` and `hsm` stand for two backends. */
export const KEYS = {
  'pan-kek': { provider: 'kms', ref: 'pan-kek', spec: 'SYMMETRIC_DEFAULT' },
  'pan-kek-2024': { provider: 'kms', ref: 'pan-kek-2024', spec: 'SYMMETRIC_DEFAULT' },
  'pan-kek-hsm': { provider: 'hsm', ref: 'pan-kek-2025', spec: 'SYMMETRIC_DEFAULT' },
  'pan-hmac': { provider: 'kms', ref: 'pan-hmac', spec: 'HMAC_256' },
  'acs-signing': { provider: 'hsm', ref: 'acs', spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
} as const;

/** A registry over two in-memory software HSMs with every key created, and its audit events counted. */
export async function provisioned(
  extra: Pick<KeyswitchConfigInput, 'versions' | 'audit'> = {},
  options: Pick<KeyswitchOptions, 'logger'> = {},
): Promise<{ ks: Keyswitch; events: AuditEvent[] }> {
  const events: AuditEvent[] = [];
  const ks = await Keyswitch.fromConfig(
    {
      environment: 'test',
      providers: { kms: { type: 'soft-hsm' }, hsm: { type: 'soft-hsm' } },
      keys: KEYS,
      ...extra,
    },
    {
      providerFactories: { 'soft-hsm': providerFactory },
      onAudit: (event) => events.push(event),
      ...options,
    },
  );
  for (const name of ks.keyNames()) {
    const { provider, ref, spec, usage } = ks.keyConfig(name);
    await (await ks.provider(provider)).createKey({ spec, usage, label: ref });
  }
  events.length = 0;
  return { ks, events };
}

/** Backend operations audited (what a metered backend would bill), leaving out lifecycle calls. */
export function backendCalls(events: readonly AuditEvent[]): number {
  return events.filter(
    (event) => !['createKey', 'disableKey', 'enableKey', 'importKey'].includes(event.operation),
  ).length;
}

/** The KeyswitchError a promise or function rejects with. */
export async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<KeyswitchError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (isKeyswitchError(error)) return error;
    throw error;
  }
  throw new Error('expected a KeyswitchError');
}

export const encoder = new TextEncoder();
