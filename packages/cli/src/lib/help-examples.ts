import type { Command } from 'commander';

/** Where the full CLI reference lives: the repository, since docs/ does not ship in the package. */
export const CLI_REFERENCE_URL = 'https://github.com/keyswitch/keyswitch/blob/main/docs/cli.md';

/** One or two runnable examples per command, by command path. */
const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  keyswitch: [
    'keyswitch keys list',
    'keyswitch -c examples/configs/kms-local.json keys describe acs-signing',
  ],
  keys: ['keyswitch keys list --json', 'keyswitch keys create pan-kek'],
  'keys list': ['keyswitch keys list', 'keyswitch keys list --provider kms --json'],
  'keys describe': ['keyswitch keys describe acs-signing --json'],
  'keys create': [
    'keyswitch keys create acs-signing        # the configured key (every version of a versioned key)',
    'keyswitch keys create --provider dev --spec HMAC_256 --label pan-hmac',
  ],
  'keys rotate': [
    'keyswitch keys rotate ds-decrypt        # creates the next version; prints the configuration change',
    'keyswitch keys rotate acs-signing --id 2027 --label acs-signing-2027 --json',
  ],
  'keys public-key': ['keyswitch keys public-key acs-signing --format jwk'],
  'keys inventory': ['keyswitch keys inventory --json'],
  sign: [
    'keyswitch sign acs-signing --in message.json --out message.sig',
    'echo -n hello | keyswitch sign acs-signing --in -',
  ],
  verify: ['keyswitch verify acs-signing --in message.json --signature message.sig'],
  csr: [], // the command prints its own example, with the openssl line that checks the CSR
  conformance: [
    'keyswitch conformance --provider hsm',
    'keyswitch conformance --provider hsm --groups signing,errors',
  ],
  bench: ['keyswitch bench --key acs-signing --duration 5 --json'],
  'kms-local': [
    'keyswitch kms-local --port 4599',
    'keyswitch -c keyswitch.json kms-local --provider dev --log',
  ],
  rewrap: ['keyswitch rewrap --in envelopes.jsonl --out rewrapped.jsonl --key pan-kek'],
  audit: ['keyswitch audit verify audit/keyswitch.jsonl'],
  'audit verify': ['keyswitch audit verify audit/keyswitch.jsonl --head 1122:3f5a…'],
};

/** The space-separated path of a command from the root (`keys create`), or `keyswitch` for the root. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current?.parent; current = current.parent)
    names.unshift(current.name());
  return names.length === 0 ? 'keyswitch' : names.join(' ');
}

/**
 * Adds an "Examples" section to the `--help` of every command under `root`, and the reference link to the
 * root's. A command without examples here is a gap the CLI's tests report.
 *
 * @example
 * ```ts
 * addHelpExamples(program); // after every command is registered
 * ```
 */
export function addHelpExamples(root: Command): void {
  const visit = (command: Command) => {
    const examples = EXAMPLES[commandPath(command)];
    if (examples?.length)
      command.addHelpText('after', `\nExamples:\n${examples.map((line) => `  $ ${line}`).join('\n')}\n`);
    for (const child of command.commands) visit(child);
  };
  visit(root);
}

/**
 * The command paths that have no example, for a test to hold at none.
 *
 * @example
 * ```ts
 * expect(commandsWithoutExamples(program)).toEqual([]);
 * ```
 */
export function commandsWithoutExamples(root: Command): string[] {
  const missing: string[] = [];
  const visit = (command: Command) => {
    const path = commandPath(command);
    if (EXAMPLES[path] === undefined) missing.push(path);
    for (const child of command.commands) visit(child);
  };
  visit(root);
  return missing;
}
