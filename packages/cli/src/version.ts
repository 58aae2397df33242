/** The keyswitch command's version, printed by `keyswitch --version`. */
export const VERSION = '0.1.0';
