/** Malformed files with a secret right at the mistake, and where the mistake is (line, column, path). */
export const MALFORMED: readonly {
  name: string;
  text: string;
  secrets: string[];
  at: string;
  path: string;
}[] = [
  {
    name: 'a PIN pasted without quotes',
    text: '{\n  "providers": {\n    "hsm": { "type": "pkcs11", "pin": hsm4Pin9 }\n  }\n}\n',
    secrets: ['hsm4Pin9', 'sm4Pin', '4Pin9'],
    at: 'line 3, column 39',
    path: 'providers.hsm.pin',
  },
  {
    name: 'a mistyped AWS secret (a missing closing quote)',
    text: '{"providers":{"kms":{"type":"aws-kms","credentials":{"accessKeyId":"AKIAEXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY}}}}',
    secrets: ['wJalrXUtnFEMI', 'bPxRfiCYEXAMPLEKEY', 'CYEXAMPLEKEY', 'AKIAEXAMPLE'],
    at: 'line 1, column 145',
    path: 'providers.kms.credentials.secretAccessKey',
  },
  {
    name: 'a secret after a stray comma',
    text: '{"providers":{"dev":{"type":"soft-hsm","passphrase":"correct-horse-battery",}}}',
    secrets: ['correct-horse-battery', 'battery', 'horse'],
    at: 'line 1, column 77',
    path: 'providers.dev',
  },
  {
    name: 'KEYSWITCH_CONFIG pointing at a PIN file',
    text: 'hsm4Pin9-from-a-pin-file\n',
    secrets: ['hsm4Pin9', 'pin-file', 'from-a'],
    at: 'line 1, column 1',
    path: '(root)',
  },
];

/**
 * Secret references whose value was typed where the reference's name goes (a PIN as the variable name,
 * a passphrase as the file name), each on a software-HSM provider `dev`. The file parses; resolving the
 * reference fails, and its error must name the configuration path and never the typed value.
 */
export const MISTYPED_REFERENCES: readonly {
  name: string;
  passphrase: { env: string } | { file: string };
  secrets: string[];
  path: string;
}[] = [
  {
    name: 'a PIN where the variable name goes',
    passphrase: { env: 'hsm4Pin9' },
    secrets: ['hsm4Pin9', 'sm4Pin', '4Pin9'],
    path: 'providers.dev.passphrase',
  },
  {
    name: 'a passphrase where the file name goes',
    passphrase: { file: 'correct-horse-battery' },
    secrets: ['correct-horse-battery', 'horse', 'battery'],
    path: 'providers.dev.passphrase',
  },
  {
    name: 'an AWS secret key (it holds slashes) where the file name goes',
    passphrase: { file: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    secrets: ['wJalrXUtnFEMI', 'K7MDENG', 'bPxRfiCYEXAMPLEKEY'],
    path: 'providers.dev.passphrase',
  },
  {
    name: 'a passphrase with spaces and a dot where the file name goes',
    passphrase: { file: 'tr0ub4dor & 3.txt' },
    secrets: ['tr0ub4dor', '& 3'],
    path: 'providers.dev.passphrase',
  },
];
