/**
 * A map kept once per process under `Symbol.for(key)`, shared by every copy of this package that the
 * process loads (its ESM and CommonJS builds side by side, or two installed versions of one build).
 *
 * @example
 * ```ts
 * const modules = processRegistry<ModuleEntry>('keyswitch.pkcs11.modules.v2');
 * ```
 */
export function processRegistry<T>(key: string): Map<string, T> {
  const symbol = Symbol.for(key);
  const holder = globalThis as Record<symbol, unknown>;
  const existing = holder[symbol] as Map<string, T> | undefined;
  if (existing !== undefined) return existing;
  const created = new Map<string, T>();
  holder[symbol] = created;
  return created;
}
