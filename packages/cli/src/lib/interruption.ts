import type { CliIo } from './io.js';
import { writeLine } from './io.js';

/** An abort signal fired by Ctrl-C (SIGINT), SIGTERM or the io's own signal; `dispose` removes the handlers. */
export interface Interruption {
  readonly signal: AbortSignal;
  /** The signal that fired it: `SIGINT`, `SIGTERM`, or `abort` for the io's signal. */
  readonly reason: () => 'SIGINT' | 'SIGTERM' | 'abort' | undefined;
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM (unless `io.handleSignals` is false) and for `io.signal`. The first
 * interruption aborts the returned signal so the command can clean up; the handlers are removed at once,
 * so a second Ctrl-C ends the process the usual way.
 */
export function listenForInterruption(io: CliIo, message: string): Interruption {
  const controller = new AbortController();
  let reason: 'SIGINT' | 'SIGTERM' | 'abort' | undefined;
  const handlers = new Map<NodeJS.Signals, () => void>();
  const fire = (why: 'SIGINT' | 'SIGTERM' | 'abort') => {
    if (controller.signal.aborted) return;
    reason = why;
    dispose();
    if (message) writeLine(io.stderr, message);
    controller.abort(new DOMException(`interrupted by ${why}`, 'AbortError'));
  };
  const onAbort = () => fire('abort');
  const dispose = () => {
    for (const [name, handler] of handlers) process.removeListener(name, handler);
    handlers.clear();
    io.signal?.removeEventListener('abort', onAbort);
  };
  if (io.handleSignals !== false) {
    for (const name of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => fire(name);
      handlers.set(name, handler);
      process.once(name, handler);
    }
  }
  if (io.signal?.aborted) fire('abort');
  else io.signal?.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, reason: () => reason, dispose };
}
