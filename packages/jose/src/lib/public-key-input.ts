import { createPublicKey, KeyObject } from 'node:crypto';
import { invalidInput, type ParsedPublicKey, type PublicJwk, parseSpki, toSpki } from '@keyswitch/core';

/**
 * A public key in any of the forms keyswitch speaks: SPKI DER bytes, PEM `PUBLIC KEY` text, a JWK (object or
 * JSON text), a keyswitch `PublicKey` (anything with `spki` bytes), or a node:crypto public `KeyObject`.
 */
export type PublicKeyInput = Uint8Array | string | PublicJwk | { readonly spki: Uint8Array } | KeyObject;

/** A checked public key: its parsed form and a node:crypto key object for local operations. */
export interface ResolvedPublicKey {
  readonly parsed: ParsedPublicKey;
  readonly keyObject: KeyObject;
}

/** Checks and normalises a public key; INVALID_INPUT when it is malformed, private or unsupported. */
export function resolvePublicKey(input: PublicKeyInput, what: string): ResolvedPublicKey {
  let spki: Uint8Array;
  if (input instanceof KeyObject) {
    if (input.type !== 'public') throw invalidInput(`${what} must be a public key, not a ${input.type} key`);
    spki = new Uint8Array(input.export({ format: 'der', type: 'spki' }));
  } else if (
    typeof input === 'object' &&
    input !== null &&
    !(input instanceof Uint8Array) &&
    'spki' in input &&
    input.spki instanceof Uint8Array
  ) {
    spki = input.spki;
  } else {
    spki = toSpki(input as Uint8Array | string | PublicJwk);
  }
  const parsed = parseSpki(spki);
  return {
    parsed,
    keyObject: createPublicKey({ key: Buffer.from(parsed.spki), format: 'der', type: 'spki' }),
  };
}
