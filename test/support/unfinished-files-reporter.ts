import type { Reporter, TestModule } from 'vitest/node';

/**
 * Names the test files that never finished, such as a file whose test process exited in the middle.
 * Vitest reports such an exit as "Worker exited unexpectedly" without naming the file; this reporter
 * lists every file that started, did not end, and so is neither passed nor failed.
 */
export default class UnfinishedFilesReporter implements Reporter {
  readonly #started = new Map<string, number>();

  onTestModuleStart(testModule: TestModule): void {
    this.#started.set(testModule.moduleId, Date.now());
  }

  onTestModuleEnd(testModule: TestModule): void {
    this.#started.delete(testModule.moduleId);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const unfinished = testModules.filter((testModule) => {
      const state = testModule.state();
      return state !== 'passed' && state !== 'failed' && state !== 'skipped';
    });
    const names = new Set([...unfinished.map((testModule) => testModule.moduleId), ...this.#started.keys()]);
    if (names.size === 0) return;
    const root = `${process.cwd()}/`;
    process.stderr.write(
      `\nTest files that never finished (their test process may have exited mid-run):\n${[...names]
        .map((name) => `  - ${name.startsWith(root) ? name.slice(root.length) : name}`)
        .join('\n')}\n`,
    );
  }
}
