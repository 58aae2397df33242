import { isKeyswitchError } from '@keyswitch/core';
import { NotRun, NotSupported, RUNNER_CONTEXT } from '../lib/outcomes.js';
import type { GroupId } from '../options.js';
import type { ReportedError, TestResult } from '../report/report.js';
import type { CollectedBlock, CollectedHook, CollectedTest } from './collector.js';

/** What running a group's collected tests needs. */
export interface Execution {
  readonly group: GroupId;
  readonly signal: AbortSignal | undefined;
  readonly onTestStart: (name: string) => void;
  readonly onResult: (result: TestResult) => void;
}

/**
 * Runs a collected block the way vitest would, one test at a time: its beforeAll hooks, its tests and
 * nested blocks in order, then its afterAll hooks, which run even after a failure or an abort. A failed
 * beforeAll fails the block's tests; an abort skips the tests not yet started; a failed afterAll is
 * reported as a failed entry of its own.
 */
export async function executeBlock(
  block: CollectedBlock,
  path: readonly string[],
  execution: Execution,
): Promise<void> {
  if (execution.signal?.aborted) {
    skipAll(block, path, execution, 'the run was aborted');
    return;
  }
  let setupError: unknown;
  for (const hook of block.beforeAll) {
    try {
      await withTimeout(hook, 'beforeAll');
    } catch (error) {
      setupError = error;
      break;
    }
  }
  for (const child of block.children) {
    if (child.kind === 'block') {
      if (setupError === undefined) await executeBlock(child, [...path, child.name], execution);
      else failAll(child, [...path, child.name], execution, setupError);
    } else if (setupError !== undefined) {
      execution.onResult(
        failed(execution.group, name(path, child.name), 0, setupError, 'beforeAll failed: '),
      );
    } else if (execution.signal?.aborted) {
      execution.onResult({
        group: execution.group,
        name: name(path, child.name),
        status: 'skipped',
        reason: 'the run was aborted',
        durationMs: 0,
      });
    } else {
      execution.onTestStart(name(path, child.name));
      execution.onResult(await executeTest(child, name(path, child.name), execution));
    }
  }
  for (const hook of block.afterAll) {
    const started = performance.now();
    try {
      await withTimeout(hook, 'afterAll');
    } catch (error) {
      execution.onResult(failed(execution.group, name(path, 'afterAll'), elapsed(started), error, ''));
    }
  }
}

async function executeTest(test: CollectedTest, testName: string, execution: Execution): Promise<TestResult> {
  const started = performance.now();
  const context = {
    [RUNNER_CONTEXT]: true,
    signal: execution.signal,
    skip(note?: string): never {
      throw new NotRun(note ?? 'skipped');
    },
  };
  try {
    await withTimeout({ body: () => test.body(context), timeout: test.timeout }, 'test');
    return { group: execution.group, name: testName, status: 'passed', durationMs: elapsed(started) };
  } catch (error) {
    if (error instanceof NotSupported) {
      return {
        group: execution.group,
        name: testName,
        status: 'unsupported',
        reason: error.message,
        durationMs: elapsed(started),
      };
    }
    if (error instanceof NotRun) {
      return {
        group: execution.group,
        name: testName,
        status: 'skipped',
        reason: error.message,
        durationMs: elapsed(started),
      };
    }
    return failed(execution.group, testName, elapsed(started), error, '');
  }
}

async function withTimeout(hook: CollectedHook, what: string): Promise<void> {
  if (hook.timeout === undefined) return hook.body();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      hook.body(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} timed out after ${hook.timeout} ms`)),
          hook.timeout,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function skipAll(block: CollectedBlock, path: readonly string[], execution: Execution, reason: string): void {
  for (const child of block.children) {
    if (child.kind === 'block') skipAll(child, [...path, child.name], execution, reason);
    else
      execution.onResult({
        group: execution.group,
        name: name(path, child.name),
        status: 'skipped',
        reason,
        durationMs: 0,
      });
  }
}

function failAll(block: CollectedBlock, path: readonly string[], execution: Execution, error: unknown): void {
  for (const child of block.children) {
    if (child.kind === 'block') failAll(child, [...path, child.name], execution, error);
    else execution.onResult(failed(execution.group, name(path, child.name), 0, error, 'beforeAll failed: '));
  }
}

function failed(
  group: GroupId,
  testName: string,
  durationMs: number,
  error: unknown,
  prefix: string,
): TestResult {
  const reported = reportError(error);
  return {
    group,
    name: testName,
    status: 'failed',
    reason: `${prefix}${reported.message}${causeNote(reported)}`,
    durationMs,
    error: reported,
  };
}

/** ` (cause: …)` when the cause says something the message does not already say. */
function causeNote(reported: ReportedError): string {
  const cause = reported.cause;
  if (cause === undefined || reported.message.includes(cause.message)) return '';
  return ` (cause: ${cause.name}: ${cause.message})`;
}

/**
 * An error as a report carries it, with its causes (three deep at most). An error without a message (a
 * bare `TypeError`) is named with where it was thrown, so that the report still says something.
 */
export function reportError(error: unknown, depth = 0): ReportedError {
  if (error instanceof Error) {
    const frame = error.stack
      ?.split('\n')
      .find((line) => line.trim().startsWith('at '))
      ?.trim();
    const cause =
      error.cause !== undefined && depth < 3 ? { cause: reportError(error.cause, depth + 1) } : {};
    return {
      name: error.name,
      message: error.message || `${error.name} without a message${frame ? `, thrown ${frame}` : ''}`,
      ...(isKeyswitchError(error) ? { code: error.code } : {}),
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...cause,
    };
  }
  return { name: 'Error', message: String(error) };
}

function name(path: readonly string[], leaf: string): string {
  return [...path, leaf].join(' › ');
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
