/**
 * A full-screen view like top's: the alternate screen (the user's scrollback
 * is left as it was), no cursor, each frame drawn in place line by line. The
 * escape sequences are xterm's, which every terminal in use understands.
 */
import type { Writable } from 'node:stream';

const CSI = '\u001b[';
export const ENTER = `${CSI}?1049h${CSI}?25l`;
export const LEAVE = `${CSI}?25h${CSI}?1049l`;
// Synchronized update (DEC mode 2026): the terminal shows the frame whole; others ignore it.
const BEGIN = `${CSI}?2026h`;
const END = `${CSI}?2026l`;

/**
 * What to write to turn a screen showing `before` into one showing `after`:
 * only the lines that changed, each at its own row, so nothing ever scrolls
 * (no newline is written). Without `before` (first frame, after a resize) the
 * whole screen is cleared first.
 */
export function redraw(before: readonly string[] | undefined, after: readonly string[]): string {
  let s = BEGIN;
  if (before === undefined) s += `${CSI}H${CSI}2J`;
  after.forEach((line, i) => {
    if (before === undefined || before[i] !== line) s += `${CSI}${i + 1};1H${CSI}2K${line}`;
  });
  for (let i = after.length; i < (before?.length ?? 0); i++) s += `${CSI}${i + 1};1H${CSI}2K`;
  return s + END;
}

export class FullScreen {
  private shown: string[] | undefined;
  private active = false;
  // If rdv exits another way (a crash), the terminal is still given back.
  private readonly onExit = (): void => this.leave();

  constructor(private readonly out: Writable) {}

  enter(): void {
    if (this.active) return;
    this.active = true;
    this.shown = undefined;
    process.once('exit', this.onExit);
    this.out.write(ENTER);
  }

  draw(lines: string[]): void {
    if (!this.active) return;
    this.out.write(redraw(this.shown, lines));
    this.shown = lines;
  }

  /** The terminal changed size: the next frame is drawn whole. */
  invalidate(): void {
    this.shown = undefined;
  }

  leave(): void {
    if (!this.active) return;
    this.active = false;
    process.off('exit', this.onExit);
    try {
      this.out.write(LEAVE);
    } catch {
      // the terminal is gone (SIGHUP): nothing to give back
    }
  }
}
