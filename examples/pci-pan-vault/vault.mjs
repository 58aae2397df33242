// A PAN vault: cards stored in SQLite with the PAN encrypted (PCI DSS 3.5.1) and a keyed hash of it for
// lookups (3.5.1.1). The application names logical keys only (`pan-kek`, `pan-hmac`); which backend and
// which key version serve them is the configuration's business.
import { rewrapRecords } from '@keyswitch/envelope';
import Database from 'better-sqlite3';

/** Bound to every PAN envelope as its encryption context: an envelope copied to another table fails. */
const CONTEXT = { table: 'cards' };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class PanVault {
  /** @param {string} file @param {import('@keyswitch/envelope').Keyring} keyring */
  constructor(file, keyring) {
    this.db = new Database(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS cards (
        id           INTEGER PRIMARY KEY,
        pan_token    TEXT NOT NULL,  -- keyed hash (HMAC in the HSM), prefixed by the HMAC key version
        pan_envelope TEXT NOT NULL,  -- the PAN, envelope-encrypted under pan-kek
        last4        TEXT NOT NULL,  -- a truncated PAN may be stored in the clear (PCI DSS 3.4.1)
        holder       TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS cards_pan_token ON cards (pan_token);
    `);
    this.use(keyring);
  }

  /** Switches to another keyring (after a configuration change). */
  use(keyring) {
    this.keyring = keyring;
    this.envelopes = keyring.envelopes('pan-kek');
    this.hasher = keyring.panHasher('pan-hmac');
  }

  /** Stores a card; returns its id. An invalid PAN is INVALID_INPUT, and the error never holds it. */
  async store(pan, holder) {
    const token = await this.hasher.token(pan);
    const envelope = await this.envelopes.encryptToString(encoder.encode(pan), { context: CONTEXT });
    const digits = pan.replace(/[\s-]/g, '');
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO cards (pan_token, pan_envelope, last4, holder) VALUES (?, ?, ?, ?)')
      .run(token, envelope, digits.slice(-4), holder);
    return Number(lastInsertRowid);
  }

  /** The cards holding this PAN, found by keyed hash under every version of pan-hmac: no decryption. */
  async find(pan) {
    const tokens = (await this.hasher.lookupTokens(pan)).map((entry) => entry.token);
    return this.db
      .prepare(`SELECT id, holder, last4 FROM cards WHERE pan_token IN (${tokens.map(() => '?').join(', ')})`)
      .all(...tokens);
  }

  /** The PAN of a card, decrypted (the backend unwraps its data key, or the cache has it). */
  async reveal(id) {
    const row = this.db.prepare('SELECT pan_envelope FROM cards WHERE id = ?').get(id);
    if (!row) return undefined;
    return decoder.decode(await this.envelopes.decrypt(row.pan_envelope, { context: CONTEXT }));
  }

  /** Every card's envelope, for checks. */
  envelopesById() {
    return new Map(this.db.prepare('SELECT id, pan_envelope FROM cards').raw().all());
  }

  /**
   * Re-wraps every stored envelope to pan-kek's active version: only the wrapped data key in each
   * envelope changes, never the encrypted PAN. Pages through the table so it works on any size.
   */
  async rewrapAll({ onProgress } = {}) {
    const page = this.db.prepare('SELECT id, pan_envelope FROM cards WHERE id > ? ORDER BY id LIMIT 500');
    const update = this.db.prepare('UPDATE cards SET pan_envelope = ? WHERE id = ?');
    async function* rows() {
      let after = 0;
      for (;;) {
        const batch = page.all(after);
        if (batch.length === 0) return;
        for (const row of batch) yield { id: row.id, envelope: row.pan_envelope, context: CONTEXT };
        after = batch.at(-1).id;
      }
    }
    const totals = { rewrapped: 0, unchanged: 0 };
    for await (const result of rewrapRecords(this.keyring, rows(), { onProgress })) {
      if (result.status === 'rewrapped') update.run(result.envelope, result.id);
      totals[result.status] += 1;
    }
    return totals;
  }

  close() {
    this.db.close();
  }
}
