import { isKeySpec, isKeyUsage, type KeyProvider, KeyswitchError, keySpecInfo } from '@keyswitch/core';
import type { SuiteOptions } from '../options.js';
import { LABEL_PATTERN, newRunId } from './run-id.js';

/**
 * The reference the suite checks KEY_NOT_FOUND with: the caller's, else the provider's own
 * `nonexistentKeyRef()` (a well-formed reference no key has), else the placeholder.
 */
export function missingKeyRefFor(options: ResolvedSuiteOptions, provider: KeyProvider): string {
  if (options.missingKeyRefGiven) return options.missingKeyRef;
  try {
    return provider.nonexistentKeyRef();
  } catch {
    return options.missingKeyRef;
  }
}

/** Suite options with their defaults filled in and checked. */
export interface ResolvedSuiteOptions extends SuiteOptions {
  readonly label: string;
  readonly runId: string;
  readonly labelPrefix: string;
  /**
   * The caller's `missingKeyRef`, or a placeholder until a session asks the provider for its
   * `nonexistentKeyRef()` (see {@link ResolvedSuiteOptions.missingKeyRefGiven}).
   */
  readonly missingKeyRef: string;
  /** Whether the caller gave `missingKeyRef`; otherwise each session asks the provider. */
  readonly missingKeyRefGiven: boolean;
  readonly timeoutMs: number;
  readonly closeProviders: boolean;
}

/**
 * Fills in the defaults and checks the options once, when the tests are declared.
 *
 * @throws CONFIG_INVALID for a label or run id with characters key labels cannot carry, or a `keys` entry
 * whose purpose is not `<spec>:<usage>` (with a usage the spec allows) or `lifecycle`.
 */
export function resolveSuiteOptions(options: SuiteOptions): ResolvedSuiteOptions {
  const label = options.label ?? 'keyswitch-conformance';
  const runId = options.runId ?? newRunId();
  for (const [name, value] of [
    ['label', label],
    ['runId', runId],
  ] as const) {
    if (!LABEL_PATTERN.test(value)) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `${name} must be 1 to 200 letters, digits, _ or -, got ${JSON.stringify(value)}`,
        {
          path: name,
        },
      );
    }
  }
  for (const purpose of Object.keys(options.keys ?? {})) {
    const [spec, usage, extra] = purpose.split(':');
    const valid =
      purpose === 'lifecycle' ||
      (extra === undefined &&
        isKeySpec(spec) &&
        isKeyUsage(usage) &&
        keySpecInfo(spec).usages.includes(usage));
    if (!valid) {
      throw new KeyswitchError(
        'CONFIG_INVALID',
        `unknown key purpose ${JSON.stringify(purpose)}: use <KEY_SPEC>:<KEY_USAGE> or lifecycle`,
        {
          path: `keys.${purpose}`,
        },
      );
    }
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new KeyswitchError('CONFIG_INVALID', `timeoutMs must be a positive integer, got ${timeoutMs}`, {
      path: 'timeoutMs',
    });
  }
  const labelPrefix = `${label}-${runId}`;
  return {
    ...options,
    label,
    runId,
    labelPrefix,
    missingKeyRef: options.missingKeyRef ?? `${labelPrefix}-missing`,
    missingKeyRefGiven: options.missingKeyRef !== undefined,
    timeoutMs,
    closeProviders: options.closeProviders ?? true,
  };
}
