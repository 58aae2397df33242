// docs/guides/pci-dss.md runs as written: each TypeScript block it marks `runs-as` this file is here, word
// for word (test/docs/snippets.test.ts checks that), and runs in the order of the guide, as one
// application would: the guide's own configuration (read from the guide), with its `kms` provider on
// kms-local (the real AWS SDK over HTTP) and its `hsm` provider on a SoftHSM2 token made by the project's
// script, a better-sqlite3 database as the guide's `db`, and the audit file it configures. Under CI=true a
// SoftHSM2 token that cannot be made is a failure, never a skip.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyswitch, verifyAuditFile } from '@keyswitch/core';
import { inventory, Keyring, rewrapRecords } from '@keyswitch/envelope';
import { KMS_LOCAL_DEFAULT_CREDENTIALS, type KmsLocalServer, startKmsLocal } from '@keyswitch/kms-local';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { repositoryRoot, softHsm2Tokens } from '../support/softhsm2-tokens.js';
import { snippetsOf } from './markdown-snippets.js';

const GUIDE = 'docs/guides/pci-dss.md';
const dir = mkdtempSync(join(tmpdir(), 'keyswitch-pci-guide-'));
const tokens = softHsm2Tokens(join(dir, 'tokens'), 'pci-guide');
const DAY_MS = 24 * 3600 * 1000;
let server: KmsLocalServer | undefined;
const startedIn = process.cwd();
/** The environment variables this file set, with the values they had before. */
const previousEnv = new Map<string, string | undefined>();

/** The guide's configuration, its providers swapped for kms-local and the SoftHSM2 token. */
function guideConfiguration(endpoint: string, module: string): Record<string, unknown> {
  const block = snippetsOf(GUIDE, readFileSync(join(repositoryRoot, GUIDE), 'utf8')).find(
    (snippet) => snippet.lang === 'json' && snippet.code.includes('"versions"'),
  );
  const config = JSON.parse(block!.code) as {
    environment: string;
    providers: Record<string, Record<string, unknown>>;
    keys: Record<string, unknown>;
    versions: { 'pan-kek': { versions: { id: string; createdAt?: string }[] } };
  };
  expect(config.providers.hsm).toMatchObject({ type: 'pkcs11', pin: { env: 'HSM_PIN' } });
  config.environment = 'test';
  config.providers.kms = {
    type: 'aws-kms',
    region: 'us-east-1',
    endpoint,
    credentials: {
      accessKeyId: KMS_LOCAL_DEFAULT_CREDENTIALS.accessKeyId,
      secretAccessKey: { env: 'KMS_LOCAL_SECRET_ACCESS_KEY' },
    },
  };
  config.providers.hsm = {
    ...config.providers.hsm,
    profile: 'softhsm',
    module,
    token: { label: 'keyswitch' },
    sessions: 2,
  };
  // The two keys the availability section adds to the configuration.
  config.keys['pan-kek-kms'] = { provider: 'kms', ref: 'alias/pan-kek-kms', spec: 'SYMMETRIC_DEFAULT' };
  config.keys['pan-kek-hsm'] = {
    provider: 'hsm',
    ref: 'pkcs11:object=pan-kek-hsm;type=secret-key',
    spec: 'SYMMETRIC_DEFAULT',
  };
  // v2 in its last 30 days (the guide's warnBeforeDays), so that the cryptoperiod block has an event to send.
  const v2 = config.versions['pan-kek'].versions.find((version) => version.id === 'v2')!;
  v2.createdAt = new Date(Date.now() - 350 * DAY_MS).toISOString().slice(0, 10);
  return config;
}

beforeAll(async () => {
  if ('skip' in tokens) return;
  server = await startKmsLocal({
    port: 0,
    keys: [
      { alias: 'pan-kek-v2', spec: 'SYMMETRIC_DEFAULT' },
      { alias: 'pan-hmac', spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC' },
      { alias: 'pan-kek-kms', spec: 'SYMMETRIC_DEFAULT' },
    ],
  });
  const env: Record<string, string> = {
    ...tokens.env,
    HSM_PIN: tokens.env.KEYSWITCH_SOFTHSM2_PIN!,
    KMS_LOCAL_SECRET_ACCESS_KEY: KMS_LOCAL_DEFAULT_CREDENTIALS.secretAccessKey,
  };
  for (const [name, value] of Object.entries(env)) {
    previousEnv.set(name, process.env[name]);
    process.env[name] = value;
  }
  const config = guideConfiguration(server.endpoint, tokens.env.KEYSWITCH_SOFTHSM2_MODULE!);
  writeFileSync(join(dir, 'keyswitch.json'), JSON.stringify(config, null, 2));
  // The guide's relative paths (keyswitch.json, audit/keyswitch.jsonl) are the application's directory.
  process.chdir(dir);
});

afterAll(async () => {
  process.chdir(startedIn);
  for (const [name, value] of previousEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf('skip' in tokens)(`${GUIDE} runs as written`, () => {
  it('stores, looks up, inventories, rotates, re-wraps and audits as the guide says', async () => {
    const pan = '4111111111111111';
    const db = new Database('vault.db');
    db.exec(
      'CREATE TABLE cards (id INTEGER PRIMARY KEY, pan_envelope TEXT NOT NULL, last4 TEXT, pan_token TEXT)',
    );

    const ks = await Keyswitch.fromConfig('keyswitch.json'); // opens the audit file too
    const keyring = Keyring.create(ks); // pan-kek's versions come from the configuration
    try {
      const hsm = await ks.provider('hsm');
      for (const label of ['pan-kek-v1', 'pan-kek-hsm'])
        await hsm.createKey({ spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', label });
      // A record stored while v1 was active, for the re-wrap below to move.
      const whileV1 = Keyring.create(ks, {
        versions: {
          'pan-kek': {
            versions: [{ id: 'v1', provider: 'hsm', ref: 'pkcs11:object=pan-kek-v1;type=secret-key' }],
          },
        },
      });
      const oldPan = '5500005555555559';
      const oldEnvelope = await whileV1
        .envelopes('pan-kek')
        .encryptToString(new TextEncoder().encode(oldPan), { context: { table: 'cards' } });
      await whileV1.close();
      db.prepare('INSERT INTO cards (pan_envelope, last4) VALUES (?, ?)').run(oldEnvelope, oldPan.slice(-4));

      // 3.5.1
      const cards = keyring.envelopes('pan-kek');
      const context = { table: 'cards' };
      const envelope = await cards.encryptToString(new TextEncoder().encode(pan), { context });
      db.prepare('INSERT INTO cards (pan_envelope, last4) VALUES (?, ?)').run(envelope, pan.slice(-4));

      const clear = new TextDecoder().decode(await cards.decrypt(envelope, { context }));
      expect(clear).toBe(pan);
      expect(envelope).not.toContain(pan);
      await expect(cards.decrypt(envelope, { context: { table: 'other' } })).rejects.toMatchObject({
        code: 'INVALID_CIPHERTEXT',
      });

      // Availability
      {
        const keyring = Keyring.create(ks, {
          multiKeyrings: { 'card-data': { keys: ['pan-kek-kms', 'pan-kek-hsm'], timeoutMs: 2000 } },
        });
        const cards = keyring.envelopes('card-data'); // encrypt and decrypt as with any key
        const sealed = await cards.encryptToString(new TextEncoder().encode(pan), { context });
        await keyring.close();
        // Either backend alone opens it: the envelope holds a copy of the data key under each.
        for (const only of ['pan-kek-kms', 'pan-kek-hsm']) {
          const one = Keyring.create(ks, { multiKeyrings: { 'card-data': { keys: [only] } } });
          const opened = await one.envelopes('card-data').decrypt(sealed, { context });
          expect(new TextDecoder().decode(opened), only).toBe(pan);
          await one.close();
        }
      }

      // 3.5.1.1
      db.prepare('UPDATE cards SET pan_token = ? WHERE id = 2').run(
        await keyring.panHasher('pan-hmac').token(pan),
      );
      {
        const hasher = keyring.panHasher('pan-hmac');
        const token = await hasher.token(pan); // store it next to the envelope, indexed
        const tokens = (await hasher.lookupTokens(pan)).map((entry) => entry.token);
        const rows = db
          .prepare(`SELECT id FROM cards WHERE pan_token IN (${tokens.map(() => '?').join(', ')})`)
          .all(...tokens);
        expect(token).toMatch(/^\$2\$1\$/); // pan-hmac is a plain key: version 1
        expect(rows).toEqual([{ id: 2 }]);
      }

      // 3.6.1.1
      const printed: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...words: unknown[]) => {
        printed.push(words.join(' '));
      });
      try {
        for (const key of await inventory(keyring)) {
          console.log(
            key.keyName,
            key.version,
            key.status,
            key.provider,
            key.providerType,
            key.spec,
            key.usage,
            key.state,
            key.createdAt?.toISOString(),
            key.expiresAt?.toISOString(),
          );
        }
      } finally {
        log.mockRestore();
      }
      expect(printed).toContainEqual(
        expect.stringMatching(
          /^pan-kek v1 retired hsm pkcs11 SYMMETRIC_DEFAULT ENCRYPT_DECRYPT ENABLED 2024-01-15/,
        ),
      );
      expect(printed).toContainEqual(
        expect.stringMatching(
          /^pan-kek v2 active kms aws-kms SYMMETRIC_DEFAULT ENCRYPT_DECRYPT ENABLED \S+ \S+$/,
        ),
      );
      expect(printed).toContainEqual(expect.stringMatching(/^pan-hmac 1 active kms aws-kms HMAC_256 /));

      // 3.7.4
      {
        const sent: string[] = [];
        const alerts = { send: (text: string) => sent.push(text) };
        const keyring = Keyring.create(ks, {
          onEvent: (event) =>
            alerts.send(`${event.type}: ${event.keyName} ${event.keyVersion} ${event.expiresAt}`),
        });
        await keyring.envelopes('pan-kek').encrypt(new TextEncoder().encode(pan), { context });
        await keyring.close();
        expect(sent).toEqual([expect.stringMatching(/^cryptoperiod-ending: pan-kek v2 \S/)]);
      }

      // 3.7.5
      const data = new TextEncoder().encode(pan);
      const retired = await (async () => {
        await keyring.envelopes('pan-kek').encrypt(data, { version: 'v1' });
        // KeyswitchError USAGE_MISMATCH: version "v1" is retired: it only decrypts and verifies (PCI DSS 3.7.5)…
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(retired).toMatchObject({ code: 'USAGE_MISMATCH' });
      expect((retired as Error).message).toContain(
        'version "v1" is retired: it only decrypts and verifies (PCI DSS 3.7.5)',
      );

      {
        const rows = db.prepare('SELECT id, pan_envelope AS envelope FROM cards').all() as {
          id: number;
          envelope: string;
        }[];
        const update = db.prepare('UPDATE cards SET pan_envelope = ? WHERE id = ?');
        const records = rows.map((row) => ({ ...row, context }));
        for await (const result of rewrapRecords(keyring, records)) {
          if (result.status === 'rewrapped') update.run(result.envelope, result.id);
        }
        await (await ks.provider('hsm')).disableKey('pkcs11:object=pan-kek-v1;type=secret-key');
      }
      // v1's key is disabled, and every record still decrypts: the re-wrap moved the old one to v2.
      const stored = db.prepare('SELECT id, pan_envelope FROM cards ORDER BY id').all() as {
        id: number;
        pan_envelope: string;
      }[];
      const decrypted: string[] = [];
      for (const row of stored)
        decrypted.push(new TextDecoder().decode(await cards.decrypt(row.pan_envelope, { context })));
      expect(decrypted).toEqual([oldPan, pan]);
      expect(stored[0]!.pan_envelope).not.toBe(oldEnvelope);
      // The backend refuses the old copy now (without a cache, every decryption asks it).
      const uncached = Keyring.create(ks, { cache: false });
      await expect(uncached.envelopes('pan-kek').decrypt(oldEnvelope, { context })).rejects.toMatchObject({
        code: 'KEY_DISABLED',
      });
      await uncached.close();

      // 10.3.4
      const head = ks.auditFile?.head(); // { seq, hash }: ship it off the host from time to time
      expect(head?.seq).toBeGreaterThan(10);

      const result = await verifyAuditFile('audit/keyswitch.jsonl', head ? { expectedHead: head } : {});
      for (const issue of result.issues) console.error(`line ${issue.line}: ${issue.kind}: ${issue.message}`);
      expect(result.issues).toEqual([]);
      expect(result.ok).toBe(true);
      // Nothing in the audit file is a PAN.
      const audit = readFileSync('audit/keyswitch.jsonl', 'utf8');
      expect(audit).not.toContain(pan);
      expect(audit).not.toContain(oldPan);
    } finally {
      db.close();
      await keyring.close();
      await ks.close();
    }
  });
});
