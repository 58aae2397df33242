/** The full alias name for a label: `acs-signing` and `alias/acs-signing` both give `alias/acs-signing`. */
export function qualifiedAliasName(label: string): string {
  return label.startsWith('alias/') ? label : `alias/${label}`;
}
