import type { KeyObject } from 'node:crypto';
import {
  ALGORITHMS,
  type Capabilities,
  invalidInput,
  isKeyswitchError,
  KEY_SPECS,
  type KeyProvider,
  type KeySpec,
  keySpecInfo,
  requireObject,
} from '@keyswitch/core';
import { describeError } from '../lib/assertions.js';
import { KeyPool } from '../lib/key-pool.js';
import { generateNodeKey } from '../lib/node-crypto.js';
import { missingKeyRefFor, resolveSuiteOptions } from '../lib/suite-options.js';
import type { CleanupReport, KeyImporter, KeyRefs } from '../options.js';
import type {
  ComparisonCheck,
  ComparisonReport,
  ComparisonSummary,
  Difference,
  Fact,
  Facts,
} from './comparison-report.js';
import { planCrossProbes } from './cross-probes.js';
import { type Probe, type ProbeSide, planProbes } from './probes.js';

/** Options of {@link compareProviders}. `a` is the backend in use today, `b` the one to move to. */
export interface CompareProvidersOptions {
  readonly a: KeyProvider;
  readonly b: KeyProvider;
  /** Pre-provisioned keys for each side (then that side creates none); `lifecycle` keys get disabled and deleted. */
  readonly keys?: { readonly a?: KeyRefs; readonly b?: KeyRefs };
  /** With an importer for both sides, the same key material goes into both and each side's output is checked through the other. */
  readonly importKey?: { readonly a?: KeyImporter; readonly b?: KeyImporter };
  /** Prefix of created keys' labels; default `keyswitch-conformance`. */
  readonly label?: string;
  readonly runId?: string;
  /** Stops after the check in progress; cleanup still runs. */
  readonly signal?: AbortSignal;
  /** Called with each check as it completes. */
  readonly onProgress?: (check: ComparisonCheck) => void;
}

/**
 * Runs the same inputs through two providers and reports every difference in observable behaviour, for
 * proving a cut-over: capabilities (what `a` offers and `b` lacks is breaking); for every algorithm both
 * declare, the signature and ciphertext formats (sizes, PSS salt length, ECDSA DER strictness and P1363),
 * whether each side's output verifies with node:crypto using that side's exported public key (what a
 * relying party does after cut-over), limits, and the error code of every fault (tampering, wrong
 * context, wrong usage, missing key, oversize input, disabled key). Each side uses its own keys: key
 * material never leaves a backend, so signatures are compared by property, not by bytes. With
 * `importKey` for both sides, the same key material is imported into both and outputs cross over: a's
 * signatures verify through b and b's through a, PKCS#1 v1.5 signatures, HMACs and ECDH secrets are
 * byte-identical, OAEP ciphertexts decrypt across, and SYMMETRIC_DEFAULT ciphertext portability is
 * reported (a notice: blobs are backend-specific). Keys created are scheduled for deletion at the end.
 *
 * @throws CONFIG_INVALID for a bad label, run id or key purpose; a provider's error when its capabilities
 * cannot be read
 *
 * @example
 * ```ts
 * const report = await compareProviders({ a: await registry.provider('kms'), b: await registry.provider('hsm') });
 * console.log(formatComparison(report));
 * if (!report.summary.ok) process.exitCode = 1;
 * ```
 */
export async function compareProviders(options: CompareProvidersOptions): Promise<ComparisonReport> {
  requireObject(options, 'compareProviders options');
  if (typeof options.a?.capabilities !== 'function' || typeof options.b?.capabilities !== 'function') {
    throw invalidInput('compareProviders needs two providers, a and b');
  }
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const resolve = (provider: KeyProvider, keys: KeyRefs | undefined) =>
    resolveSuiteOptions({
      describe: () => {},
      it: () => {},
      createProvider: () => provider,
      ...(options.label === undefined ? {} : { label: options.label }),
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      ...(keys === undefined ? {} : { keys }),
    });
  const resolved = resolve(options.a, options.keys?.a);
  resolve(options.b, options.keys?.b); // checks b's key purposes
  const runId = resolved.runId;
  const [capabilitiesA, capabilitiesB] = [await options.a.capabilities(), await options.b.capabilities()];
  const side = (provider: KeyProvider, capabilities: Capabilities, name: 'a' | 'b'): ProbeSide => {
    const keys = options.keys?.[name];
    const lifecycle = keys?.lifecycle;
    return {
      provider,
      capabilities,
      pool: new KeyPool({
        provider,
        capabilities,
        group: 'compare',
        labelPrefix: `${resolved.label}-${runId}-${name}`,
        keys,
        importKey: options.importKey?.[name],
      }),
      missingKeyRef: missingKeyRefFor(resolved, provider),
      lifecycleRef: typeof lifecycle === 'string' ? lifecycle : lifecycle?.[0],
    };
  };
  const a = side(options.a, capabilitiesA, 'a');
  const b = side(options.b, capabilitiesB, 'b');

  const checks: ComparisonCheck[] = [];
  const record = (check: ComparisonCheck) => {
    checks.push(check);
    try {
      options.onProgress?.(check);
    } catch {
      // A listener's failure must not stop the comparison or its cleanup.
    }
  };
  const aborted = () => options.signal?.aborted === true;
  let cleanup: { a: CleanupReport; b: CleanupReport };
  try {
    record(compareCapabilities(capabilitiesA, capabilitiesB));
    for (const probe of planProbes(capabilitiesA, capabilitiesB)) {
      if (aborted()) break;
      record(await runProbe(probe, a, b));
    }
    if (options.importKey?.a && options.importKey.b) {
      const materials = new Map<KeySpec, Promise<KeyObject>>();
      const material = (spec: KeySpec) => {
        if (!materials.has(spec)) materials.set(spec, generateNodeKey(spec));
        return materials.get(spec)!;
      };
      for (const probe of planCrossProbes(capabilitiesA, capabilitiesB)) {
        if (aborted()) break;
        try {
          const outcome = await probe.run(a, b, material);
          record({
            area: 'cross',
            name: probe.name,
            compared: true,
            a: outcome.a,
            b: outcome.b,
            differences: outcome.differences,
          });
        } catch (error) {
          record({
            area: 'cross',
            name: probe.name,
            compared: false,
            note: `could not run: ${describeError(error)}`,
            differences: [],
          });
        }
      }
    }
  } finally {
    cleanup = { a: await a.pool.cleanup(), b: await b.pool.cleanup() };
  }

  const differences = checks.flatMap((check) => check.differences);
  const breaking = differences.filter((difference) => difference.severity === 'breaking').length;
  const summary: ComparisonSummary = {
    checks: checks.length,
    compared: checks.filter((check) => check.compared).length,
    identical: checks.filter((check) => check.compared && check.differences.length === 0).length,
    differences: differences.length,
    breaking,
    notices: differences.length - breaking,
    ok: breaking === 0,
  };
  return {
    runId,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    a: { name: options.a.name, type: options.a.type, capabilities: capabilitiesA },
    b: { name: options.b.name, type: options.b.type, capabilities: capabilitiesB },
    crossChecked: Boolean(options.importKey?.a && options.importKey.b),
    aborted: aborted(),
    checks,
    differences,
    summary,
    cleanup,
  };
}

async function runProbe(probe: Probe, a: ProbeSide, b: ProbeSide): Promise<ComparisonCheck> {
  const notes: string[] = [];
  const observeSide = async (side: ProbeSide, name: string): Promise<Facts> => {
    const facts: Record<string, Fact> = {};
    try {
      await probe.run(side, facts);
    } catch (error) {
      facts.error = isKeyswitchError(error) ? error.code : error instanceof Error ? error.name : 'thrown';
      notes.push(`${name}: ${describeError(error)}`);
    }
    return facts;
  };
  const factsA = await observeSide(a, 'a');
  const factsB = await observeSide(b, 'b');
  const differences: Difference[] = [];
  for (const fact of new Set([...Object.keys(factsA), ...Object.keys(factsB)])) {
    if (factsA[fact] === factsB[fact]) continue;
    differences.push({
      area: probe.area,
      check: probe.name,
      fact,
      a: factsA[fact],
      b: factsB[fact],
      severity: probe.notices?.includes(fact) ? 'notice' : 'breaking',
    });
  }
  return {
    area: probe.area,
    name: probe.name,
    compared: true,
    a: factsA,
    b: factsB,
    ...(notes.length === 0 ? {} : { note: notes.join('; ') }),
    differences,
  };
}

/** The manifests side by side; what `a` offers and `b` lacks is breaking, the reverse a notice. */
function compareCapabilities(a: Capabilities, b: Capabilities): ComparisonCheck {
  const facts = (capabilities: Capabilities) => {
    const result: Record<string, Fact> = {};
    for (const spec of KEY_SPECS) {
      for (const usage of keySpecInfo(spec).usages) {
        const support = capabilities.keySpecs[spec];
        result[`keySpecs.${spec}.${usage}`] = !support?.usages.includes(usage)
          ? 'none'
          : support.create
            ? 'create'
            : 'hold';
      }
    }
    for (const algorithm of ALGORITHMS)
      result[`algorithms.${algorithm}`] = capabilities.algorithms.includes(algorithm);
    for (const [operation, supported] of Object.entries(capabilities.operations))
      result[`operations.${operation}`] = supported;
    result.deletionWindowDays = `${capabilities.deletionWindowDays.min}-${capabilities.deletionWindowDays.max}`;
    return result;
  };
  const rank = (fact: Fact | undefined) => (fact === 'create' ? 2 : fact === 'hold' || fact === true ? 1 : 0);
  const factsA = facts(a);
  const factsB = facts(b);
  const differences: Difference[] = [];
  for (const fact of Object.keys(factsA)) {
    if (factsA[fact] === factsB[fact]) continue;
    const lacks = fact !== 'deletionWindowDays' && rank(factsB[fact]) < rank(factsA[fact]);
    differences.push({
      area: 'capabilities',
      check: 'capability manifest',
      fact,
      a: factsA[fact],
      b: factsB[fact],
      severity: lacks ? 'breaking' : 'notice',
      explanation: lacks
        ? 'a offers this and b does not: what uses it on a fails with UNSUPPORTED_ALGORITHM on b'
        : fact === 'deletionWindowDays'
          ? 'the deletion waiting periods differ'
          : 'b offers more than a here',
    });
  }
  return {
    area: 'capabilities',
    name: 'capability manifest',
    compared: true,
    a: factsA,
    b: factsB,
    differences,
  };
}
