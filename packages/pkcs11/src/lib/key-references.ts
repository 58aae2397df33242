import { KeyswitchError } from '@keyswitch/core';
import { type Pkcs11Uri, parsePkcs11Uri } from '../key-uri.js';

const MAX_CACHED_REFERENCES = 10_000;

/**
 * Parses key references (RFC 7512 `pkcs11:` URIs naming a key) once and caches the result.
 *
 * @example
 * ```ts
 * const references = new KeyReferences();
 * const uri = references.parse('pkcs11:object=acs-signing;type=private');
 * ```
 */
export class KeyReferences {
  readonly #uris = new Map<string, Pkcs11Uri>();

  /**
   * The URI a key reference names.
   *
   * @throws INVALID_INPUT when it is not a `pkcs11:` URI naming a key by label or id
   */
  parse(ref: string): Pkcs11Uri {
    let uri = this.#uris.get(ref);
    if (uri === undefined) {
      uri = parsePkcs11Uri(ref);
      if (uri.type === 'cert' || uri.type === 'data') {
        throw new KeyswitchError(
          'INVALID_INPUT',
          `invalid pkcs11: URI: type=${uri.type} does not name a key`,
        );
      }
      if (uri.object === undefined && uri.id === undefined) {
        throw new KeyswitchError(
          'INVALID_INPUT',
          'invalid pkcs11: URI: a key reference needs object= (CKA_LABEL) or id= (CKA_ID)',
        );
      }
      if (this.#uris.size >= MAX_CACHED_REFERENCES) this.#uris.clear();
      this.#uris.set(ref, uri);
    }
    return uri;
  }
}
