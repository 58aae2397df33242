import type { Capabilities } from '@keyswitch/core';
import type { CleanupReport } from '../options.js';
import type { ProviderInfo } from '../report/report.js';

/** One observed fact: an error code, a size, a yes/no, `ok`. */
export type Fact = string | number | boolean | null;

/** What one side showed for one check, fact by fact. */
export type Facts = Readonly<Record<string, Fact>>;

/** The part of the contract a comparison check covers. */
export type ComparisonArea =
  | 'capabilities'
  | 'signing'
  | 'encryption'
  | 'mac'
  | 'key-agreement'
  | 'data-keys'
  | 'random'
  | 'errors'
  | 'lifecycle'
  | 'cross';

/**
 * How much a difference matters for cut-over: `breaking` when an application that works on one side can
 * fail or get another result on the other (a missing algorithm, another error code, another signature
 * format, a signature one side's verifier refuses); `notice` when the contract leaves it open and
 * applications should not depend on it (ciphertext overhead, deterministic signatures, extra features).
 */
export type Severity = 'breaking' | 'notice';

/** One difference between the two providers. */
export interface Difference {
  readonly area: ComparisonArea;
  readonly check: string;
  readonly fact: string;
  readonly a: Fact | undefined;
  readonly b: Fact | undefined;
  readonly severity: Severity;
  readonly explanation?: string;
}

/** One check: the same inputs through both providers and what each showed. */
export interface ComparisonCheck {
  readonly area: ComparisonArea;
  readonly name: string;
  /** Whether both sides could run it; when not, `note` says why (and no difference is derived). */
  readonly compared: boolean;
  readonly a?: Facts;
  readonly b?: Facts;
  readonly note?: string;
  readonly differences: readonly Difference[];
}

/** A side of a comparison, as the report names it. */
export interface ComparedProvider extends ProviderInfo {
  readonly capabilities: Capabilities;
}

/** Counts of a comparison. `ok` is true when there is no breaking difference. */
export interface ComparisonSummary {
  readonly checks: number;
  readonly compared: number;
  readonly identical: number;
  readonly differences: number;
  readonly breaking: number;
  readonly notices: number;
  readonly ok: boolean;
}

/** The outcome of {@link compareProviders}. */
export interface ComparisonReport {
  readonly runId: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly a: ComparedProvider;
  readonly b: ComparedProvider;
  /** Whether the comparison used key material imported into both sides (true cross-verification). */
  readonly crossChecked: boolean;
  readonly aborted: boolean;
  readonly checks: readonly ComparisonCheck[];
  readonly differences: readonly Difference[];
  readonly summary: ComparisonSummary;
  readonly cleanup: { readonly a: CleanupReport; readonly b: CleanupReport };
}
