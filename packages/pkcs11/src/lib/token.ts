import { KeyswitchError } from '@keyswitch/core';
import type { TokenInfo } from 'pkcs11js';
import { CKF } from './ck.js';
import { pkcs11Error } from './ckr.js';
import { readUlong } from './key-attributes.js';
import type { Handle, Pkcs11Library } from './shared-module.js';

/** How the configuration picks a token: by label, by serial number, or by slot id. */
export type TokenSelector =
  | { readonly label: string }
  | { readonly serial: string }
  | { readonly slot: number };

/** A token found in a module: its slot and its information, with the blank padding trimmed. */
export interface FoundToken {
  readonly slot: Handle;
  readonly slotId: number;
  readonly label: string;
  readonly serial: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly flags: number;
}

/** Describes a selector for messages: `token "prod"`, `token with serial 1234`, `slot 2`. */
export function describeSelector(selector: TokenSelector): string {
  if ('label' in selector) return `token "${selector.label}"`;
  if ('serial' in selector) return `token with serial ${selector.serial}`;
  return `slot ${selector.slot}`;
}

/**
 * Finds the configured token among the slots that have one.
 *
 * @throws UNAVAILABLE (retryable: a token can be inserted or a cluster come back) naming the tokens seen
 */
export function findToken(library: Pkcs11Library, selector: TokenSelector): FoundToken {
  let slots: Handle[];
  try {
    slots = library.C_GetSlotList(true);
  } catch (error) {
    throw pkcs11Error(error, 'C_GetSlotList', 'UNAVAILABLE');
  }
  const seen: string[] = [];
  for (const slot of slots) {
    let info: TokenInfo;
    try {
      info = library.C_GetTokenInfo(slot);
    } catch {
      continue; // removed between the two calls, or not recognized
    }
    const token: FoundToken = {
      slot,
      slotId: readUlong(slot),
      label: info.label.trimEnd(),
      serial: info.serialNumber.trimEnd(),
      manufacturer: info.manufacturerID.trimEnd(),
      model: info.model.trimEnd(),
      flags: info.flags,
    };
    if ((token.flags & CKF.TOKEN_INITIALIZED) === 0) continue;
    seen.push(`"${token.label}" (serial ${token.serial || '-'}, slot ${token.slotId})`);
    const matches =
      'label' in selector
        ? token.label === selector.label
        : 'serial' in selector
          ? token.serial === selector.serial
          : token.slotId === selector.slot;
    if (matches) return token;
  }
  throw new KeyswitchError(
    'UNAVAILABLE',
    `${describeSelector(selector)} is not present; tokens seen: ${seen.length > 0 ? seen.join(', ') : 'none'}`,
  );
}
