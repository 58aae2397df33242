import { KeyswitchError } from '../errors.js';
import { joinPath } from './parse-with-schema.js';

/** Names that would reach an object's prototype machinery if used as a property name. */
const RESERVED = ['__proto__', 'constructor', 'prototype'] as const;

/** The sections whose property names are user-chosen names (providers, logical keys, versioned keys, multi-keyrings). */
const NAMED_SECTIONS = ['providers', 'keys', 'versions', 'multiKeyrings'] as const;

/**
 * Refuses `__proto__`, `constructor` and `prototype` as provider, key or versioned-key names. A schema
 * library drops a `__proto__` member without a word, so this looks at the raw value before the schema
 * does. `section` checks one section given on its own (as `versions`).
 *
 * @throws CONFIG_INVALID naming the path, such as `providers.__proto__`
 * @example
 * ```ts
 * refuseReservedNames(JSON.parse(text)); // before parseWithSchema(configSchema, …)
 * ```
 */
export function refuseReservedNames(raw: unknown, section?: (typeof NAMED_SECTIONS)[number]): void {
  if (!isObject(raw)) return;
  const sections = section
    ? [[section, raw] as const]
    : NAMED_SECTIONS.map((name) => [name, raw[name]] as const);
  for (const [name, value] of sections) {
    if (!isObject(value)) continue;
    for (const reserved of RESERVED) {
      if (Object.hasOwn(value, reserved)) {
        throw new KeyswitchError(
          'CONFIG_INVALID',
          `"${reserved}" cannot be a name in "${name}"; choose another name`,
          { path: joinPath(name, [reserved]) },
        );
      }
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
