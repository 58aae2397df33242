import { KeyswitchError, keySpecInfo, toJoseAlgorithm, withArticle } from '@keyswitch/core';
import type { Command } from 'commander';
import { EXIT, usageError } from '../lib/cli-error.js';
import { type CommandContext, withKeyswitch } from '../lib/context.js';
import { writeLine } from '../lib/io.js';
import { JSON_OPTION, writeJson } from '../lib/output.js';

const FORMATS = ['pem', 'jwk', 'der-base64'] as const;

/** `keyswitch keys public-key NAME`: an asymmetric key's public key as PEM, JWK or base64 DER (SPKI). */
export function registerKeysPublicKey(keys: Command, context: CommandContext): void {
  keys
    .command('public-key')
    .description("print a configured asymmetric key's public key")
    .argument('<name>', 'logical key name from the configuration')
    .option('--format <format>', `${FORMATS.join(', ')}`, 'pem')
    .option(...JSON_OPTION)
    .action(async (name: string, options: { format: string; json?: boolean }) => {
      if (!(FORMATS as readonly string[]).includes(options.format)) {
        throw usageError(`--format must be one of ${FORMATS.join(', ')}`);
      }
      context.exitCode = await withKeyswitch(context, async (keyswitch) => {
        const config = keyswitch.keyConfig(name);
        const family = keySpecInfo(config.spec).family;
        if (family !== 'RSA' && family !== 'EC') {
          throw new KeyswitchError('USAGE_MISMATCH', `${withArticle(config.spec)} key has no public key`, {
            keyName: name,
            provider: config.provider,
          });
        }
        const provider = await keyswitch.provider(config.provider);
        const publicKey = await provider.getPublicKey(config.ref, { keyName: name });
        if (publicKey.keySpec !== config.spec) {
          throw new KeyswitchError(
            'CONFIG_INVALID',
            `is configured as ${config.spec} but the backend key is ${publicKey.keySpec}`,
            {
              keyName: name,
              provider: config.provider,
              keyRef: config.ref,
              path: `keys.${name}.spec`,
            },
          );
        }
        const { stdout } = context.io;
        if (options.json) {
          const alg = toJoseAlgorithm(config.algorithm);
          writeJson(stdout, {
            key: name,
            spec: publicKey.keySpec,
            kid: publicKey.kid,
            pem: publicKey.pem(),
            jwk: { ...publicKey.jwk(), kid: publicKey.kid, ...(alg === undefined ? {} : { alg }) },
          });
        } else if (options.format === 'pem')
          stdout.write(publicKey.pem().endsWith('\n') ? publicKey.pem() : `${publicKey.pem()}\n`);
        else if (options.format === 'der-base64')
          writeLine(stdout, Buffer.from(publicKey.spki).toString('base64'));
        else {
          const alg = toJoseAlgorithm(config.algorithm);
          const jwk = {
            ...publicKey.jwk(),
            kid: publicKey.kid,
            use: config.usage === 'SIGN_VERIFY' ? 'sig' : 'enc',
            ...(alg === undefined ? {} : { alg }),
          };
          writeLine(stdout, JSON.stringify(jwk, null, 2));
        }
        return EXIT.ok;
      });
    });
}
