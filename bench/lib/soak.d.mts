/** One memory sample of a soak: after `operations` calls, RSS and heap used in MB. */
export interface SoakSample {
  readonly operations: number;
  readonly rssMB: number;
  readonly heapMB: number;
}

/** What a soak reports. */
export interface SoakResult {
  readonly operations: number;
  readonly inFlight: number;
  readonly seconds: number;
  /** One sample at the start, then one after every twentieth of the operations. */
  readonly samples: readonly SoakSample[];
  /** Failed calls by error code; the soak goes on after a failure. */
  readonly failures: Readonly<Record<string, number>>;
}

/** Runs `operations` calls of `sign`, 64 in flight, sampling RSS and heap 20 times along the way. */
export function soak(options: {
  name: string;
  sign: () => Promise<unknown>;
  operations: number;
}): Promise<SoakResult>;
