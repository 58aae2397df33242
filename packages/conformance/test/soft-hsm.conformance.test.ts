import { SoftHsm } from '@keyswitch/soft-hsm';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { conformance, type KeyImporter } from '../src/index.js';

// The software HSM can import key material, so the suite also checks what needs both halves of a key:
// node:crypto's signatures verifying through it, HMACs equal to node:crypto's, PSS salt strictness.
const importKey: KeyImporter = (hsm, { spec, usage, key, label }) =>
  (hsm as SoftHsm).importKey(
    key.type === 'secret'
      ? { label, usage, spec, raw: new Uint8Array(key.export()) }
      : { label, usage, spec, pkcs8: new Uint8Array(key.export({ format: 'der', type: 'pkcs8' })) },
  );

conformance({ describe, it, beforeAll, afterAll, createProvider: () => SoftHsm.open(), importKey });
