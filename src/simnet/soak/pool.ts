/**
 * The payments of a soak run `concurrency` at a time (both soaks). A payment
 * whose run throws is that payment's failure ("the soak itself failed"), not the
 * end of the soak.
 */
import { stackText } from './run.js';

/**
 * Run `runOne` over `indexes`, at most `concurrency` (at least 1) at once, in
 * order of the list. `failed` gets a payment whose run threw; `done` the number
 * of payments finished so far, after each.
 */
export async function runPool(
  indexes: readonly number[],
  concurrency: number,
  runOne: (index: number) => Promise<void>,
  failed: (index: number, error: string) => void,
  done: (count: number) => void,
): Promise<void> {
  let next = 0;
  let count = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = indexes[next++];
      if (i === undefined) return;
      try {
        await runOne(i);
      } catch (e) {
        failed(i, `the soak itself failed: ${stackText(e)}`);
      }
      count++;
      done(count);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}
