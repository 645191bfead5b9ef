/**
 * Text that must fit a terminal line: width as the terminal counts it (colours
 * take none, CJK and emoji take two), and cutting with an ellipsis. Pure.
 */

/** A piece of a line and how to colour it (colouring must not change its width). */
export interface Segment {
  text: string;
  paint?: (s: string) => string;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * One line of plain text: control characters (newlines, tabs, escape sequences
 * in a peer's error message) become spaces, so they can neither wrap the line
 * nor drive the terminal.
 */
export const oneLine = (s: string): string => s.replace(CONTROL, ' ');

/** Columns a code point takes: 0 for combining marks, 2 for wide (East Asian, emoji), else 1. */
export function charWidth(cp: number): number {
  if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns `s` takes on a terminal (plain text: no escape sequences). */
export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0) ?? 0);
  return w;
}

/** `s` cut to at most `width` columns, ending in "…" when something was cut. */
export function cut(s: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(s) <= width) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0) ?? 0);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** `s` padded with spaces to `width` columns (on the left when `right`). */
export function pad(s: string, width: number, right = false): string {
  const fill = ' '.repeat(Math.max(0, width - textWidth(s)));
  return right ? fill + s : s + fill;
}

/**
 * Segments joined into one line of at most `width` columns, then coloured: the
 * cut (with "…") is made on the plain text, so escape codes never count and are
 * never cut in half.
 */
export function fitLine(segments: Segment[], width: number): string {
  const painted = (s: Segment, text: string): string => (s.paint && text !== '' ? s.paint(text) : text);
  if (width <= 0) return '';
  if (textWidth(segments.map((s) => s.text).join('')) <= width) return segments.map((s) => painted(s, s.text)).join('');
  let room = width - 1;
  let out = '';
  for (const s of segments) {
    let piece = '';
    for (const ch of s.text) {
      const cw = charWidth(ch.codePointAt(0) ?? 0);
      if (cw > room) {
        room = 0;
        break;
      }
      piece += ch;
      room -= cw;
    }
    out += painted(s, piece);
    if (room === 0) break;
  }
  return `${out}…`;
}
