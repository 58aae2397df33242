// RFC 5280 path validation cross-checked against OpenSSL on a corpus of good and bad chains made by
// test/fixtures/make-chain-corpus.sh with OpenSSL alone (committed as chain-corpus.json). Every case is
// verified again here by `openssl verify`, and the validator must agree with it and with the verdict the
// case was built for.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKeyswitchError } from '@keyswitch/core';
import { afterAll, describe, expect, it } from 'vitest';
import { validateCertificatePath } from '../src/index.js';
import { opensslAvailable } from './support/openssl.js';

interface CorpusCase {
  readonly name: string;
  readonly expected: 'valid' | 'invalid';
  readonly at: number;
  readonly opensslExit: number;
  readonly openssl: string;
  readonly root: string;
  readonly untrusted: readonly string[];
  readonly leaf: string;
}

const corpus: readonly CorpusCase[] = JSON.parse(
  readFileSync(new URL('./fixtures/chain-corpus.json', import.meta.url), 'utf8'),
);
const work = mkdtempSync(join(tmpdir(), 'keyswitch-chains-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Our verdict: `valid`, or the validator's message. */
function validate(entry: CorpusCase): string {
  try {
    validateCertificatePath([entry.leaf, ...entry.untrusted], {
      trustAnchors: [entry.root],
      at: new Date(entry.at * 1000),
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: 'serverAuth',
    });
    return 'valid';
  } catch (error) {
    if (!isKeyswitchError(error, 'INVALID_INPUT')) throw error;
    return error.message;
  }
}

/** OpenSSL's verdicts on every case, from one shell running `openssl verify` on each. */
function opensslVerdicts(): Map<string, string> {
  const script: string[] = [];
  for (const entry of corpus) {
    const dir = join(work, entry.name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'root.pem'), entry.root);
    writeFileSync(join(dir, 'leaf.pem'), entry.leaf);
    writeFileSync(join(dir, 'untrusted.pem'), entry.untrusted.map((pem) => `${pem}\n`).join(''));
    const untrusted = entry.untrusted.length > 0 ? `-untrusted ${dir}/untrusted.pem` : '';
    script.push(
      `if openssl verify -x509_strict -purpose sslserver -attime ${entry.at} -CAfile ${dir}/root.pem ${untrusted} ${dir}/leaf.pem >/dev/null 2>&1; then echo "${entry.name} valid"; else echo "${entry.name} invalid"; fi`,
    );
  }
  const output = execFileSync('bash', ['-c', script.join('\n')], { encoding: 'utf8' });
  return new Map(
    output
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]),
  );
}

describe('validateCertificatePath against openssl verify', () => {
  it('has a corpus of at least 30 chains, good and bad, on which OpenSSL gave the verdict each was built for', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    expect(corpus.filter((entry) => entry.expected === 'valid').length).toBeGreaterThanOrEqual(10);
    expect(corpus.filter((entry) => entry.expected === 'invalid').length).toBeGreaterThanOrEqual(20);
    for (const entry of corpus) expect(entry.opensslExit === 0, entry.name).toBe(entry.expected === 'valid');
  });

  it.runIf(opensslAvailable)('agrees with openssl verify, run now, on every chain', () => {
    const openssl = opensslVerdicts();
    const disagreements = corpus
      .map((entry) => ({ name: entry.name, ours: validate(entry), openssl: openssl.get(entry.name) }))
      .filter((row) => (row.ours === 'valid' ? 'valid' : 'invalid') !== row.openssl);
    expect(disagreements).toEqual([]);
  });

  it('gives the verdict each chain was built for, naming the rule a bad one breaks', () => {
    const verdicts = Object.fromEntries(corpus.map((entry) => [entry.name, validate(entry)]));
    for (const entry of corpus) {
      expect(verdicts[entry.name] === 'valid', `${entry.name}: ${verdicts[entry.name]}`).toBe(
        entry.expected === 'valid',
      );
    }
    expect(verdicts['root-pathlen0-then-ca']).toMatch(/pathLenConstraint/);
    expect(verdicts['pathlen0-ca-issues-ca']).toMatch(/pathLenConstraint/);
    expect(verdicts['nc-dns-outside']).toMatch(
      /DNS name outside the subtrees certificate 1 of the chain permits/,
    );
    expect(verdicts['nc-excluded-match']).toMatch(/inside a subtree .* excludes/);
    expect(verdicts['nc-from-root-applies-to-leaf']).toMatch(/the trusted root permits/);
    expect(verdicts['ca-unknown-critical-extension']).toMatch(
      /critical extension .* 1\.3\.6\.1\.4\.1\.55555\.1/,
    );
    expect(verdicts['leaf-key-usage-without-digital-signature']).toMatch(/keyUsage without digitalSignature/);
    expect(verdicts['leaf-eku-client-only']).toMatch(/extendedKeyUsage without serverAuth/);
    expect(verdicts['issuer-not-ca']).toMatch(/not a CA certificate/);
    expect(verdicts['leaf-expired']).toMatch(/certificate 0 of the chain expired/);
  });
});
