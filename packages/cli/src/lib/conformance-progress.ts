import type { ConformanceEvent } from '@keyswitch/conformance';
import { counted } from '@keyswitch/core';
import { SingleBar } from 'cli-progress';
import { type OutputStream, writeLine } from './io.js';

const STATUS: Readonly<Record<string, string>> = {
  passed: 'PASS',
  failed: 'FAIL',
  unsupported: 'UNSUPPORTED',
  skipped: 'SKIP',
};

/**
 * Shows a conformance run's progress on stderr: a live bar on a terminal, one plain line per check
 * otherwise (CI logs). Failures are listed as they happen on plain output and after the bar on a terminal.
 */
export class ConformanceProgress {
  readonly #stream: OutputStream;
  readonly #bar: SingleBar | undefined;
  #total = 0;
  #done = 0;
  #failed = 0;
  readonly #failures: string[] = [];

  constructor(stream: OutputStream) {
    this.#stream = stream;
    const terminal =
      stream.isTTY === true && typeof (stream as { cursorTo?: unknown }).cursorTo === 'function';
    this.#bar = terminal
      ? new SingleBar({
          stream: stream as NodeJS.WritableStream,
          format: ' {bar} {value}/{total} | failed {failed} | {group}: {check}',
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 20,
          barsize: 30,
        })
      : undefined;
  }

  /** Handles one event of the runner. */
  readonly onEvent = (event: ConformanceEvent): void => {
    switch (event.type) {
      case 'run-start':
        this.#total = event.tests;
        writeLine(
          this.#stream,
          `conformance run ${event.runId} against ${event.provider.name} (${event.provider.type}): ${event.tests} checks in ${event.groups.join(', ')}`,
        );
        this.#bar?.start(event.tests, 0, { failed: 0, group: '', check: '' });
        break;
      case 'group-start':
        if (!this.#bar) writeLine(this.#stream, `${event.group}: ${event.tests} checks`);
        break;
      case 'test-start':
        this.#bar?.update(this.#done, { group: event.group, check: truncate(event.name, 60) });
        break;
      case 'test-end': {
        this.#done += 1;
        const { result } = event;
        const line = `${result.group} › ${result.name}`;
        if (result.status === 'failed') {
          this.#failed += 1;
          this.#failures.push(`FAIL ${line}: ${result.reason ?? result.error?.message ?? ''}`);
        }
        if (this.#bar) this.#bar.update(this.#done, { failed: this.#failed });
        else {
          const counter = `[${String(this.#done).padStart(String(this.#total).length)}/${this.#total}]`;
          const why = result.status === 'passed' || result.reason === undefined ? '' : `: ${result.reason}`;
          writeLine(this.#stream, `${counter} ${STATUS[result.status] ?? result.status} ${line}${why}`);
        }
        break;
      }
      case 'cleanup':
        if (!this.#bar && event.cleanup.keys.length > 0) {
          const left = event.cleanup.keys.filter((key) => key.action === 'left').length;
          writeLine(
            this.#stream,
            `${event.group}: cleaned up ${event.cleanup.keys.length - left} of ${counted(event.cleanup.keys.length, 'key')} it created`,
          );
        }
        break;
      default:
        break;
    }
  };

  /** Stops the bar and lists the failures under it. */
  stop(): void {
    if (!this.#bar) return;
    this.#bar.stop();
    for (const failure of this.#failures) writeLine(this.#stream, failure);
  }
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
