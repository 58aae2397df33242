import type {
  Algorithm,
  Capabilities,
  KeyProvider,
  KeySpec,
  KeyUsage,
  ProviderOperations,
} from '@keyswitch/core';
import type { GroupId } from '../options.js';
import { describeError, expectCode } from './assertions.js';
import { KeyPool, type PreparedKey } from './key-pool.js';
import { NotRun, NotSupported, RUNNER_CONTEXT } from './outcomes.js';
import { missingKeyRefFor, type ResolvedSuiteOptions } from './suite-options.js';

/** A key a group creates in its setup, so its checks share it. */
export interface KeyNeed {
  readonly spec: KeySpec;
  readonly usage: KeyUsage;
  /** How many keys of this purpose (default 1). */
  readonly count?: number;
  /** Also import one key of this purpose, when an importer is given. */
  readonly imported?: boolean;
}

/** What a check receives: the group's provider, its manifest and keys. */
export interface Session {
  readonly provider: KeyProvider;
  readonly capabilities: Capabilities;
  readonly pool: KeyPool;
  readonly options: ResolvedSuiteOptions;
  /**
   * A key of this spec and usage for a check of `algorithm`. When the manifest does not declare the
   * algorithm, checks that `attempt` (the check's operation, on a key of the spec if there is one) fails
   * with UNSUPPORTED_ALGORITHM, then throws NotSupported.
   */
  keyFor(
    spec: KeySpec,
    usage: KeyUsage,
    check?: { algorithm: Algorithm; attempt: (ref: string) => Promise<unknown>; index?: number },
  ): Promise<PreparedKey>;
  /** Like `keyFor`, for an imported key (NotRun without an importer). */
  importedFor(
    spec: KeySpec,
    usage: KeyUsage,
    check: { algorithm: Algorithm; attempt: (ref: string) => Promise<unknown> },
  ): Promise<PreparedKey>;
  /** Throws NotSupported (after checking `attempt` fails with UNSUPPORTED_OPERATION) unless `operation` is declared. */
  requireOperation(operation: keyof ProviderOperations, attempt: () => Promise<unknown>): Promise<void>;
  /** A second provider from the factory, for checks that close it; NotRun when the provider is shared. */
  freshProvider(): Promise<KeyProvider>;
}

/** Declares a group's nested blocks and checks. */
export interface GroupBuilder {
  describe(name: string, body: () => void): void;
  test(name: string, body: (session: Session) => Promise<void>): void;
}

/**
 * Declares one suite group: a describe block whose setup makes a provider and the keys the group needs,
 * whose checks share them, and whose teardown cleans up and closes the provider. Checks that end in
 * NotSupported or NotRun become `context.skip(note)` under vitest (a plain pass elsewhere), and are
 * handed as they are to this package's runner.
 */
export function defineGroup(
  options: ResolvedSuiteOptions,
  id: GroupId,
  title: string,
  needs: readonly KeyNeed[],
  body: (group: GroupBuilder) => void,
): void {
  let setup: Promise<Session> | undefined;
  const session = () => (setup ??= openSession(options, id, needs));

  const tearDown = async () => {
    const opened = await setup?.catch(() => undefined);
    if (!opened) return;
    const report = await opened.pool.cleanup();
    options.onCleanup?.(report);
    if (options.closeProviders) await opened.provider.close();
    const failed = report.keys.filter((key) => key.error !== undefined);
    if (failed.length > 0) {
      throw new Error(
        `cleanup failed for ${failed.length} key(s): ${failed.map((key) => `${key.ref} (${key.error})`).join('; ')}`,
      );
    }
  };

  options.describe(title, () => {
    options.beforeAll?.(async () => {
      await session().catch(() => {});
    }, options.timeoutMs);
    body({
      describe: (name, block) => options.describe(name, block),
      test: (name, check) =>
        options.it(
          name,
          async (...context: unknown[]) => {
            try {
              await check(await session());
            } catch (error) {
              if (!(error instanceof NotSupported || error instanceof NotRun)) throw error;
              const test = context[0] as
                | { [RUNNER_CONTEXT]?: true; skip?: (note: string) => void }
                | undefined;
              if (test?.[RUNNER_CONTEXT]) throw error;
              test?.skip?.(
                `${error instanceof NotSupported ? 'not supported' : 'not run'}: ${error.message}`,
              );
            }
          },
          options.timeoutMs,
        ),
    });
    if (options.afterAll) options.afterAll(tearDown, options.timeoutMs);
    else options.it('cleans up the keys it created', tearDown, options.timeoutMs);
  });
}

async function openSession(
  suiteOptions: ResolvedSuiteOptions,
  group: GroupId,
  needs: readonly KeyNeed[],
): Promise<Session> {
  let provider: KeyProvider;
  let capabilities: Capabilities;
  try {
    provider = await suiteOptions.createProvider();
  } catch (error) {
    throw new Error(`the provider could not be created: ${describeError(error)}`, { cause: error });
  }
  const options: ResolvedSuiteOptions = {
    ...suiteOptions,
    missingKeyRef: missingKeyRefFor(suiteOptions, provider),
  };
  try {
    capabilities = await provider.capabilities();
  } catch (error) {
    if (options.closeProviders) await provider.close().catch(() => {});
    throw new Error(`the provider's capabilities could not be read: ${describeError(error)}`, {
      cause: error,
    });
  }
  const pool = new KeyPool({
    provider,
    capabilities,
    group,
    labelPrefix: options.labelPrefix,
    keys: options.keys,
    importKey: options.importKey,
  });

  const expectUnsupported = async (algorithm: Algorithm, attempt: () => Promise<unknown>) => {
    await expectCode(attempt, 'UNSUPPORTED_ALGORITHM', `${algorithm}, which the manifest does not declare`);
    throw new NotSupported(
      `${algorithm} is not in the capability manifest; it fails with UNSUPPORTED_ALGORITHM`,
    );
  };
  const refForAttempt = async (spec: KeySpec, usage: KeyUsage) => {
    try {
      return (await pool.key(spec, usage)).ref;
    } catch {
      return options.missingKeyRef;
    }
  };

  // Create the keys the group shares now, in parallel, so that checks do not pay for them; a key that
  // fails here fails the checks that use it, each with the reason.
  const preparing: Promise<unknown>[] = [];
  for (const need of needs) {
    if (!pool.holds(need.spec, need.usage)) continue;
    for (let index = 0; index < (need.count ?? 1); index++)
      preparing.push(pool.key(need.spec, need.usage, index));
    if (need.imported && options.importKey) preparing.push(pool.imported(need.spec, need.usage));
  }
  await Promise.allSettled(preparing);

  return {
    provider,
    capabilities,
    pool,
    options,
    async keyFor(spec, usage, check) {
      if (check && !capabilities.algorithms.includes(check.algorithm)) {
        const ref = await refForAttempt(spec, usage);
        await expectUnsupported(check.algorithm, () => check.attempt(ref));
      }
      return pool.key(spec, usage, check?.index ?? 0);
    },
    async importedFor(spec, usage, check) {
      if (!capabilities.algorithms.includes(check.algorithm)) {
        const ref = await refForAttempt(spec, usage);
        await expectUnsupported(check.algorithm, () => check.attempt(ref));
      }
      return pool.imported(spec, usage);
    },
    async requireOperation(operation, attempt) {
      if (capabilities.operations[operation]) return;
      await expectCode(attempt, 'UNSUPPORTED_OPERATION', `${operation}, which the manifest does not declare`);
      throw new NotSupported(
        `${operation} is not in the capability manifest; it fails with UNSUPPORTED_OPERATION`,
      );
    },
    async freshProvider() {
      if (!options.closeProviders) {
        throw new NotRun(
          'closes a provider, so it needs a provider factory (createProvider), not a shared provider',
        );
      }
      return options.createProvider();
    },
  };
}
