import { type EcPublicJwk, invalidInput, jwkToSpki, type PublicJwk } from '@keyswitch/core';
import { parseJsonObject } from './json.js';

/**
 * Checks an EMV 3-D Secure ephemeral public key: a JWK object (or its JSON text) with `kty` EC, `crv` P-256,
 * and `x` and `y` of exactly 32 bytes naming a point on the curve. Returns the required members only.
 */
export function p256PublicJwk(value: unknown, name: string): EcPublicJwk {
  const jwk = typeof value === 'string' ? parseJsonObject(value, name) : value;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw invalidInput(`${name} must be a JWK object`);
  const members = jwk as Record<string, unknown>;
  if (members['kty'] !== 'EC' || members['crv'] !== 'P-256')
    throw invalidInput(`${name} must be an EC P-256 JWK`);
  try {
    jwkToSpki(members as unknown as PublicJwk);
  } catch (error) {
    // The core's message says what was wrong (coordinate length, point not on the curve, private members).
    throw invalidInput(
      `${name} is not a valid P-256 public key: ${(error as Error & { detail?: string }).detail ?? 'malformed'}`,
      error,
    );
  }
  return { kty: 'EC', crv: 'P-256', x: members['x'] as string, y: members['y'] as string };
}

/** Whether two public JWKs name the same key. */
export function sameEcKey(a: EcPublicJwk, b: EcPublicJwk): boolean {
  return a.crv === b.crv && a.x === b.x && a.y === b.y;
}
