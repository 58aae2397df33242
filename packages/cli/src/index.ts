/**
 * `keyswitch`: the command line. `main(argv, io?)` runs it in-process (for tests and embedding) and
 * returns the exit code; the `keyswitch` bin calls it with `process.argv`.
 *
 * @packageDocumentation
 */

export type { CliIo, OutputStream } from './lib/io.js';
export { main } from './main.js';
export { VERSION } from './version.js';
