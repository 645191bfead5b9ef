/**
 * A small model of a terminal's screen, fed the bytes a program wrote to its
 * pseudo-terminal: enough of xterm (cursor moves, erases, the alternate screen,
 * synchronized-update frames) to see what a user would see. Lines have no
 * width limit, so a line too long for the real terminal shows as too long here
 * instead of wrapping out of sight.
 */
import { charWidth } from '../../src/ui/text.js';

export interface Frame {
  /** The alternate screen's lines when the frame ended (trailing empty lines dropped). */
  lines: string[];
}

type Grid = string[][];

export class VirtualTerminal {
  private main: Grid = [];
  private alt: Grid = [];
  private inAlt = false;
  private row = 0;
  private col = 0;
  private pending = '';
  /** The main screen's cursor, saved on entering the alternate screen and restored on leaving (xterm's 1049). */
  private saved: [number, number] = [0, 0];
  cursorVisible = true;
  /** Times the program switched to the alternate screen and back. */
  entered = 0;
  left = 0;
  readonly frames: Frame[] = [];

  write(data: string): void {
    const s = this.pending + data;
    this.pending = '';
    let i = 0;
    while (i < s.length) {
      const ch = s[i] ?? '';
      if (ch === '\u001b') {
        // eslint-disable-next-line no-control-regex
        const m = /^\u001b\[([?]?)([0-9;]*)([@-~])/.exec(s.slice(i, i + 32));
        if (!m) {
          if (s.length - i < 32) {
            this.pending = s.slice(i);
            return;
          }
          i++;
          continue;
        }
        this.csi(m[1] === '?', (m[2] ?? '').split(';').map((p) => (p === '' ? undefined : Number(p))), m[3] ?? '');
        i += m[0].length;
        continue;
      }
      const cp = s.codePointAt(i) ?? 0;
      const text = String.fromCodePoint(cp);
      i += text.length;
      if (text === '\r') this.col = 0;
      else if (text === '\n') this.row++;
      else if (text === '\b') this.col = Math.max(0, this.col - 1);
      else if (cp >= 0x20) this.put(text, charWidth(cp));
    }
  }

  /** The screen shown now (the alternate one while the program has it), as text lines. */
  lines(): string[] {
    return render(this.inAlt ? this.alt : this.main);
  }

  /** The normal screen: what is left in the terminal once the program gave it back. */
  mainLines(): string[] {
    return render(this.main);
  }

  private get grid(): Grid {
    return this.inAlt ? this.alt : this.main;
  }

  private put(text: string, width: number): void {
    const line = (this.grid[this.row] ??= []);
    while (line.length < this.col) line.push(' ');
    line[this.col] = text;
    for (let k = 1; k < width; k++) line[this.col + k] = '';
    this.col += width;
  }

  private csi(priv: boolean, params: Array<number | undefined>, final: string): void {
    const [a, b] = params;
    if (priv) {
      const on = final === 'h';
      if (a === 1049) {
        if (on) {
          this.entered++;
          this.alt = [];
          this.saved = [this.row, this.col];
        } else {
          this.left++;
          [this.row, this.col] = this.saved;
        }
        this.inAlt = on;
      } else if (a === 25) this.cursorVisible = on;
      else if (a === 2026 && !on && this.inAlt) this.frames.push({ lines: this.lines() });
      return;
    }
    switch (final) {
      case 'H':
      case 'f':
        this.row = (a ?? 1) - 1;
        this.col = (b ?? 1) - 1;
        break;
      case 'K': {
        const line = this.grid[this.row];
        if (!line) break;
        if (a === 2) line.length = 0;
        else if ((a ?? 0) === 0) line.length = Math.min(line.length, this.col);
        break;
      }
      case 'J':
        if (a === 2) this.grid.length = 0;
        else if ((a ?? 0) === 0) {
          this.grid.length = Math.min(this.grid.length, this.row + 1);
          const line = this.grid[this.row];
          if (line) line.length = Math.min(line.length, this.col);
        }
        break;
      case 'A':
        this.row = Math.max(0, this.row - (a ?? 1));
        break;
      case 'F':
        this.row = Math.max(0, this.row - (a ?? 1));
        this.col = 0;
        break;
      default:
      // colours (m) and anything else change nothing we look at
    }
  }
}

function render(grid: Grid): string[] {
  const lines = Array.from(grid, (l) => (l ?? []).map((c) => c ?? ' ').join('').trimEnd());
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}
