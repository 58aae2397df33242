/**
 * The label to create a key under so that a configured `ref` finds it: a KMS alias without `alias/`,
 * the `object` of a `pkcs11:` URI, or a software-HSM name as it is. `undefined` for references a backend
 * assigns (a KMS key id or key ARN), which cannot be chosen in advance.
 *
 * @example
 * ```ts
 * labelFromRef('alias/acs-signing');                       // 'acs-signing'
 * labelFromRef('pkcs11:token=t;object=ds-decrypt;type=private'); // 'ds-decrypt'
 * ```
 */
export function labelFromRef(ref: string): string | undefined {
  const aliasArn = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias\/(.+)$/.exec(ref);
  if (aliasArn) return aliasArn[1];
  if (ref.startsWith('alias/')) return ref.slice('alias/'.length);
  if (ref.startsWith('arn:')) return undefined;
  if (ref.startsWith('pkcs11:')) {
    const path = ref.slice('pkcs11:'.length).split('?')[0] ?? '';
    for (const attribute of path.split(';')) {
      const [name, value] = attribute.split('=', 2);
      if (name === 'object' && value) {
        try {
          return decodeURIComponent(value);
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }
  // A bare KMS key id (a UUID, or a multi-Region mrk- id) is assigned by KMS.
  if (/^(mrk-)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(ref))
    return undefined;
  return ref;
}
