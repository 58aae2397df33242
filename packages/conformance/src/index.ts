/**
 * The behavioural suite every keyswitch backend must pass, a runner that needs no test framework, its
 * reports, and a side-by-side comparison of two providers for cut-over.
 *
 * @packageDocumentation
 */

export { type CompareProvidersOptions, compareProviders } from './compare/compare-providers.js';
export type {
  ComparedProvider,
  ComparisonArea,
  ComparisonCheck,
  ComparisonReport,
  ComparisonSummary,
  Difference,
  Fact,
  Facts,
  Severity,
} from './compare/comparison-report.js';
export { formatComparison } from './compare/format-comparison.js';
export { conformance } from './conformance.js';
export { CONCURRENT_OPERATIONS, concurrencyTests } from './groups/concurrency.js';
export { dataKeyTests } from './groups/data-keys.js';
export { encryptionTests } from './groups/encryption.js';
export { errorTests } from './groups/errors.js';
export { keyAgreementTests } from './groups/key-agreement.js';
export { keysAndLifecycleTests } from './groups/keys-and-lifecycle.js';
export { macTests } from './groups/mac.js';
export { randomTests } from './groups/random.js';
export { signingTests } from './groups/signing.js';
export { CONFORMANCE_GROUPS, type ConformanceGroup } from './groups.js';
export { importRequestFor } from './lib/import-request.js';
export type {
  CleanedKey,
  CleanupReport,
  ConformanceOptions,
  GroupId,
  KeyImporter,
  KeyImportRequest,
  KeyPurpose,
  KeyRefs,
  SuiteOptions,
  TestApi,
} from './options.js';
export { formatSummaryTable } from './report/format-summary-table.js';
export type {
  ConformanceReport,
  ProviderInfo,
  ReportedError,
  ReportSummary,
  TestResult,
  TestStatus,
} from './report/report.js';
export { toJson } from './report/to-json.js';
export { toJUnitXml } from './report/to-junit-xml.js';
export {
  type ConformanceEvent,
  type RunConformanceOptions,
  runConformance,
} from './runner/run-conformance.js';
