import type { Capabilities } from '@keyswitch/core';
import type { CleanupReport, GroupId } from '../options.js';

/**
 * How a check ended: `passed`; `failed` (the provider misbehaved, or the check could not set up);
 * `unsupported` (the manifest does not declare what it needs, and the provider refused it with
 * UNSUPPORTED_ALGORITHM as it should); `skipped` (it could not run with these options, or the run was
 * aborted; `reason` says which).
 */
export type TestStatus = 'passed' | 'failed' | 'unsupported' | 'skipped';

/** An error as a report carries it: never the data that was being processed. */
export interface ReportedError {
  readonly name: string;
  readonly message: string;
  /** The KeyswitchError code, when it was one. */
  readonly code?: string;
  readonly stack?: string;
  /** The error's own cause, reported the same way. */
  readonly cause?: ReportedError;
}

/** One check's outcome. */
export interface TestResult {
  readonly group: GroupId;
  /** The check's name within its group, nested blocks joined with ` › `. */
  readonly name: string;
  readonly status: TestStatus;
  /** Why it failed, is unsupported or was skipped. */
  readonly reason?: string;
  readonly durationMs: number;
  readonly error?: ReportedError;
}

/** Counts of a run. `ok` is true when nothing failed. */
export interface ReportSummary {
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  readonly unsupported: number;
  readonly skipped: number;
  readonly ok: boolean;
}

/** Which provider a report is about. */
export interface ProviderInfo {
  /** The provider's name in the configuration (or its type). */
  readonly name: string;
  /** The backend type (`soft-hsm`, `pkcs11`, `aws-kms`). */
  readonly type: string;
}

/** The outcome of a conformance run: what ran against which provider, every check, and the cleanup. */
export interface ConformanceReport {
  readonly runId: string;
  /** The label prefix of the keys the run created. */
  readonly label: string;
  readonly provider: ProviderInfo;
  readonly capabilities: Capabilities;
  readonly groups: readonly GroupId[];
  /** ISO 8601. */
  readonly startedAt: string;
  readonly durationMs: number;
  /** Whether the run was stopped by its AbortSignal (the checks not run are `skipped`). */
  readonly aborted: boolean;
  readonly results: readonly TestResult[];
  readonly summary: ReportSummary;
  readonly cleanup: CleanupReport;
}

/** Counts the results. */
export function summarize(results: readonly TestResult[]): ReportSummary {
  const count = (status: TestStatus) => results.filter((result) => result.status === status).length;
  const failed = count('failed');
  return {
    total: results.length,
    passed: count('passed'),
    failed,
    unsupported: count('unsupported'),
    skipped: count('skipped'),
    ok: failed === 0,
  };
}
