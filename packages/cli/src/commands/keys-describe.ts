import { KeyswitchError, keySpecInfo } from '@keyswitch/core';
import type { Command } from 'commander';
import { EXIT } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { configuredKeyState } from '../lib/key-state.js';
import { JSON_OPTION } from '../lib/output.js';

/** `keyswitch keys describe NAME`: a logical key's configuration and its backend key. */
export function registerKeysDescribe(keys: Command, context: CommandContext): void {
  keys
    .command('describe')
    .description("show a configured key: its configuration, the backend key's state and dates, its key id")
    .argument('<name>', 'logical key name from the configuration')
    .option(...JSON_OPTION)
    .action(async (name: string, options: { json?: boolean }) => {
      context.exitCode = await withKeyswitch(context, async (keyswitch) => {
        const key = await configuredKeyState(keyswitch, name);
        if (key.state === 'NOT_FOUND') {
          throw new KeyswitchError(
            'KEY_NOT_FOUND',
            `not found in its backend (create it with: keyswitch keys create ${name})`,
            {
              provider: key.provider,
              keyName: name,
              keyRef: key.ref,
            },
          );
        }
        if (key.state === 'ERROR') throw key.error;
        const backend = key.description!;
        const family = keySpecInfo(backend.spec).family;
        let kid: string | undefined;
        if ((family === 'RSA' || family === 'EC') && !key.problem) {
          const provider = await keyswitch.provider(key.provider);
          kid = (await provider.getPublicKey(key.ref, { keyName: name })).kid;
        }
        const { stdout, stderr } = context.io;
        if (options.json) {
          const { description: _, error: __, ...configured } = key;
          writeLine(stdout, JSON.stringify({ ...configured, backend, ...(kid ? { kid } : {}) }, null, 2));
        } else {
          const fields: [string, string | undefined][] = [
            ['name', name],
            ['provider', key.provider],
            ['ref', key.ref],
            ['spec', key.spec],
            ['usage', key.usage],
            ['algorithm', key.algorithm],
            ['state', backend.state],
            ['backend ref', backend.ref],
            ['backend key id', backend.keyId],
            ['aliases', backend.aliases.join(', ') || undefined],
            ['algorithms', backend.algorithms.join(', ')],
            ['created', backend.createdAt?.toISOString()],
            ['deletion date', backend.deletionDate?.toISOString()],
            ['version', backend.version],
            ['description', backend.description],
            ['kid', kid],
          ];
          const width = Math.max(...fields.map(([label]) => label.length));
          for (const [label, value] of fields)
            if (value !== undefined) writeLine(stdout, `${`${label}:`.padEnd(width + 2)}${value}`);
        }
        if (key.problem) {
          writeLine(
            stderr,
            `keyswitch: CONFIG_INVALID: key "${name}" does not match its backend key: ${key.problem}`,
          );
          return EXIT.usage;
        }
        return EXIT.ok;
      });
    });
}
