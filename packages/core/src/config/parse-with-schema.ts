import { KeyswitchError } from '../errors.js';

/** One problem a schema found: where, and what was expected. */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code?: string;
  /** Nested problems (zod reports a bad record key this way). */
  readonly issues?: readonly SchemaIssue[];
}

/** The part of a schema library's API keyswitch uses (zod's `safeParse` has this shape). */
export interface SafeParser<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: readonly SchemaIssue[] } };
}

/** Joins a base path and issue path as `keys.acs-signing.spec` (or `keys["a b"]` for odd names). */
export function joinPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const text = String(part);
      const segment = /^[A-Za-z_$][\w$-]*$/.test(text) ? text : JSON.stringify(text);
      out += out === '' ? segment : segment.startsWith('"') ? `[${segment}]` : `.${segment}`;
    }
  }
  return out;
}

/**
 * Validates `raw` with a schema. On failure throws one CONFIG_INVALID whose `path` is the first problem's
 * JSON path and whose message lists every problem with its path and what was expected (never the value).
 *
 * @example
 * ```ts
 * const config = parseWithSchema(mySchema, raw, 'providers.hsm');
 * ```
 */
export function parseWithSchema<T>(schema: SafeParser<T>, raw: unknown, basePath: string): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: joinPath(basePath, issue.path) || '(root)',
    // A record key that fails its own schema: the inner message says what a key must look like.
    message: issue.code === 'invalid_key' && issue.issues?.[0] ? issue.issues[0].message : issue.message,
  }));
  const first = issues[0] ?? { path: basePath || '(root)', message: 'invalid' };
  const detail =
    issues.length === 1
      ? first.message
      : `${first.message}; and ${issues.length - 1} more: ${issues
          .slice(1, 10)
          .map((issue) => `${issue.path}: ${issue.message}`)
          .join('; ')}`;
  throw new KeyswitchError('CONFIG_INVALID', detail, { path: first.path });
}
