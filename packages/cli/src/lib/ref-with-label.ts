/**
 * A reference of the same form as `ref` that names the key created under `label`: a KMS alias (or alias
 * ARN) with the new alias, a `pkcs11:` URI with the new `object` (its `id` dropped), or the label itself
 * for a software-HSM name. A KMS key id or key ARN, which KMS assigns, becomes `alias/LABEL`.
 *
 * @example
 * ```ts
 * refWithLabel('alias/ds-decrypt-2025', 'ds-decrypt-2026');             // 'alias/ds-decrypt-2026'
 * refWithLabel('pkcs11:token=t;object=acs-1;type=private', 'acs-2');   // 'pkcs11:token=t;object=acs-2;type=private'
 * ```
 */
export function refWithLabel(ref: string, label: string): string {
  const aliasArn = /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias\/).+$/.exec(ref);
  if (aliasArn) return `${aliasArn[1]}${label}`;
  if (ref.startsWith('alias/') || ref.startsWith('arn:')) return `alias/${label}`;
  if (/^(mrk-)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(ref))
    return `alias/${label}`;
  if (!ref.startsWith('pkcs11:')) return label;
  const [path = '', query] = ref.slice('pkcs11:'.length).split('?', 2);
  const attributes = path
    .split(';')
    .filter((attribute) => attribute !== '' && !/^(object|id)=/.test(attribute));
  const object = `object=${encodeURIComponent(label)}`;
  const at = attributes.findIndex((attribute) => attribute.startsWith('type='));
  if (at === -1) attributes.push(object);
  else attributes.splice(at, 0, object);
  return `pkcs11:${attributes.join(';')}${query === undefined ? '' : `?${query}`}`;
}
