/** The streams already watched, so running the command twice in one process adds no second listener. */
const watched = new WeakSet<NodeJS.WritableStream>();

/**
 * Lets the command outlive a reader that stops reading: `keyswitch kms-local --help | head -1`, or any
 * output piped into a program that exits early. Node.js ignores SIGPIPE, so a write to a closed pipe is an
 * EPIPE `error` event on the stream, which, unhandled, crashes the process with a stack trace. Here an EPIPE
 * means "nobody is reading": the output is dropped and the command runs to its end (a key operation is not
 * cut short half-way; files are closed, temporary files removed) and exits with its own exit code. Any
 * other stream error is thrown as before.
 *
 * @example
 * ```ts
 * ignoreBrokenPipe(process.stdout);
 * ignoreBrokenPipe(process.stderr);
 * ```
 */
export function ignoreBrokenPipe(stream: NodeJS.WritableStream): void {
  if (watched.has(stream)) return;
  watched.add(stream);
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
