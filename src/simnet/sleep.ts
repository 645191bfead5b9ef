/** Wait `ms` milliseconds (at once when `ms` is 0 or less, as with NO_LATENCY). */
export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
