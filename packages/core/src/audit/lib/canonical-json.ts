/**
 * Canonical JSON for hashing (RFC 8785 for the values audit records hold): object keys sorted by UTF-16
 * code units, no whitespace, strings and numbers as `JSON.stringify` writes them (ECMAScript's shortest
 * round-trip form). Input must already be plain JSON (as `JSON.parse` returns).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
    .join(',')}}`;
}
