#!/usr/bin/env node
// The `keyswitch` command. The work is in the built package (dist/); this file only runs it.
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/index.js', import.meta.url);
let cli;
try {
  cli = await import(entry.href);
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(fileURLToPath(entry)))
    throw error;
  process.stderr.write(
    `keyswitch: INTERNAL: ${fileURLToPath(entry)} is missing; build the package first (pnpm build)\n`,
  );
  process.exit(1);
}
process.exitCode = await cli.main(process.argv);
