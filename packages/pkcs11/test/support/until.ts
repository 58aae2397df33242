/** Waits until `condition` holds, checked every 10 ms, for at most 2,000 checks; then fails naming `what`. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let check = 0; !condition(); check += 1) {
    if (check === 2_000) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
