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
