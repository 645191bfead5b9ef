/** A clock for the runner whose timers fire only when the test moves it. */
import type { Clock } from '../../src/relay/runner/entry.js';

export class TestClock implements Clock {
  private ms = 1_795_620_000_000;
  private timers: Array<{ due: number; fn: () => void; id: number }> = [];
  private ids = 0;
  now(): number {
    return Math.floor(this.ms / 1000);
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ due: this.ms + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Move on `ms`, firing each timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.ms + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.ms = next.due;
      next.fn();
    }
    this.ms = end;
  }
}
