/** A logical key name, as the core configuration allows it. */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A key version id: 1 to 64 letters, digits and `._-`, starting with a letter or digit (no `:`). */
export const VERSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
