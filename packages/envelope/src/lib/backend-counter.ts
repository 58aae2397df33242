/** Counts the backend calls this package makes, by operation (attempts, whether they succeed or not). */
export class BackendCounter {
  #total = 0;
  readonly #byOperation = new Map<string, number>();

  count(operation: string): void {
    this.#total += 1;
    this.#byOperation.set(operation, (this.#byOperation.get(operation) ?? 0) + 1);
  }

  get total(): number {
    return this.#total;
  }

  byOperation(): Record<string, number> {
    return Object.fromEntries(this.#byOperation);
  }
}
