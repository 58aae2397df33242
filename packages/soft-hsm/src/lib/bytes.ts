/** A plain Uint8Array copy of `bytes`: never a Buffer, never a view of a shared or pooled ArrayBuffer. */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Overwrites `bytes` with zeros: for secret material the HSM no longer needs. */
export function wipe(bytes: Uint8Array | undefined): void {
  bytes?.fill(0);
}
