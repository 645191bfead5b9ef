/**
 * JSON with exact integers past 2^53 (msat amounts, u64 ids): pure, shared by the
 * records and the RPC edge.
 *
 * Parsing is JSON.parse's speed even when every element of a large reply carries
 * a u64 (listchannelmoves' group_id, listsendpays' groupid): one scan finds the
 * integer tokens of 16 digits or more outside strings (the only ones that can
 * pass 2^53), rewrites just those as marked strings, JSON.parse reads the rest,
 * and one walk turns the marked strings back into exact values. A character-by-
 * character parser in JavaScript (lossless-json, used until 0.1.x) took ten
 * times as long and five times the memory on a 33 MB reply.
 */

const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const COLON = 0x3a;

/** Digits an integer needs before it can be unsafe: 2^53 has 16. */
const UNSAFE_DIGITS = 16;

/**
 * The mark: a string value that starts with U+0000. JSON text cannot hold that
 * character raw, only as the escape `\u0000`, so the scan sees every original
 * string value that starts with it and doubles its mark (unmark takes one off).
 */
const MARK = '\u0000';
const MARK_ESCAPE = '\\u0000';

/** Index just past the closing quote of the string whose contents start at `from` (text.length if unterminated). */
function endOfString(text: string, from: number): number {
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return text.length;
    if (text.charCodeAt(quote - 1) !== BACKSLASH) return quote + 1;
    // An escaped quote, or an escaped backslash before a real one. The run of
    // backslashes cannot reach back past `at`: text[at - 1] is a quote.
    let slashes = 1;
    while (quote - slashes - 1 >= at && text.charCodeAt(quote - slashes - 1) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/** Index of the first character at or after `at` that is not a digit (at most `to`). */
function skipDigits(text: string, at: number, to: number): number {
  let i = at;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) break;
    i++;
  }
  return i;
}

/** Is the string ending just before `end` followed, after whitespace, by a colon (an object key)? */
function isKey(text: string, end: number): boolean {
  let at = end;
  for (;;) {
    const c = text.charCodeAt(at);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
    else return c === COLON;
  }
}

/** What the scan found: the text to give JSON.parse, and how many marked values it will hold. */
interface Marked {
  text: string;
  marks: number;
}

/**
 * Rewrite every integer token of 16+ digits outside strings as a marked string,
 * and mark (double) every original string value that already starts with the
 * mark. Tokens that are not valid JSON integers (a leading zero, a fraction, an
 * exponent) are left as they are: JSON.parse reads or refuses them as before,
 * and a valid number wrapped in quotes never makes invalid text valid.
 * One pass; strings are skipped with indexOf, and the stretches between them
 * are looked at only when 16 digits fit in them.
 */
export function markBigIntegers(text: string): Marked {
  const n = text.length;
  let out = '';
  let copied = 0;
  let marks = 0;
  let at = 0;
  while (at < n) {
    const quote = text.indexOf('"', at);
    const stop = quote === -1 ? n : quote;
    // text[at, stop) holds no string: numbers, literals, punctuation, whitespace.
    let i = at;
    while (stop - i >= UNSAFE_DIGITS) {
      const c = text.charCodeAt(i);
      if (c !== MINUS && (c < ZERO || c > NINE)) {
        i++;
        continue;
      }
      // A number token: sign, integer digits, then maybe a fraction and an exponent.
      const start = i;
      const digitsFrom = c === MINUS ? i + 1 : i;
      i = skipDigits(text, digitsFrom, stop);
      const digits = i - digitsFrom;
      let integer = true;
      if (i < stop && text.charCodeAt(i) === DOT) {
        integer = false;
        i = skipDigits(text, i + 1, stop);
      }
      const e = i < stop ? text.charCodeAt(i) : 0;
      if (e === LOWER_E || e === UPPER_E) {
        integer = false;
        i++;
        const sign = i < stop ? text.charCodeAt(i) : 0;
        if (sign === PLUS || sign === MINUS) i++;
        i = skipDigits(text, i, stop);
      }
      if (i === start) i++; // a lone minus: JSON.parse refuses it
      if (integer && digits >= UNSAFE_DIGITS && text.charCodeAt(digitsFrom) !== ZERO) {
        out += `${text.slice(copied, start)}"${MARK_ESCAPE}${text.slice(start, i)}"`;
        copied = i;
        marks++;
      }
    }
    if (quote === -1) break;
    at = endOfString(text, quote + 1);
    if (text.charCodeAt(quote + 1) === BACKSLASH && text.startsWith(MARK_ESCAPE, quote + 1) && !isKey(text, at)) {
      out += `${text.slice(copied, quote + 1)}${MARK_ESCAPE}`;
      copied = quote + 1;
      marks++;
    }
  }
  if (marks === 0) return { text, marks };
  return { text: out + text.slice(copied), marks };
}

/** A marked string's value: an original string (its extra mark taken off), or the integer, exact. */
function unmark(s: string): unknown {
  if (s.charCodeAt(1) === 0) return s.slice(1);
  const token = s.slice(1);
  const value = Number(token);
  return Number.isSafeInteger(value) ? value : BigInt(token);
}

/** Replace the marked strings in a parsed value, in place; returns the (possibly replaced) root. */
function unmarkAll(root: unknown, marks: number): unknown {
  if (typeof root === 'string') return root.startsWith(MARK) ? unmark(root) : root;
  let left = marks;
  // An explicit stack: JSON.parse accepts nesting deeper than our call stack.
  const stack: unknown[] = [root];
  while (stack.length > 0 && left > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x === 'string') {
          if (x.charCodeAt(0) === 0) {
            v[i] = unmark(x);
            left--;
          }
        } else if (x !== null && typeof x === 'object') {
          stack.push(x);
        }
      }
    } else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const x = o[k];
        if (typeof x === 'string') {
          if (x.charCodeAt(0) === 0) {
            // A "__proto__" member is a plain property here: assigning would call the setter.
            if (k === '__proto__') Object.defineProperty(o, k, { value: unmark(x), writable: true, enumerable: true, configurable: true });
            else o[k] = unmark(x);
            left--;
          }
        } else if (x !== null && typeof x === 'object') {
          stack.push(x);
        }
      }
    }
  }
  return root;
}

/**
 * JSON.parse, except integers beyond 2^53 (listsendpays' groupid,
 * listchannelmoves' group_id, max_htlc_value_in_flight_msat, large msat amounts)
 * become exact bigints; every other number is a number, as JSON.parse reads it.
 * Throws a SyntaxError on text that is not JSON.
 */
export function parseJson(text: string): unknown {
  const marked = markBigIntegers(text);
  const value: unknown = JSON.parse(marked.text);
  return marked.marks === 0 ? value : unmarkAll(value, marked.marks);
}

/**
 * JSON.stringify that writes bigints as exact numbers (msat amounts).
 * Throws on a value JSON cannot hold (undefined at the top, a cycle).
 */
export function stringifyJson(value: unknown): string {
  let text: string | undefined;
  try {
    // The native writer is many times faster; it refuses only bigints (and cycles).
    text = JSON.stringify(value);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    text = writeWithBigints(value, '', new Set());
  }
  if (text === undefined) throw new Error('value cannot be written as JSON');
  return text;
}

/** JSON.stringify's rules (toJSON, undefined and functions left out or null in arrays), plus bigints as integers. */
function writeWithBigints(value0: unknown, key: string, seen: Set<object>): string | undefined {
  let value = value0;
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: (key: string) => unknown }).toJSON(key);
  }
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object' || value instanceof Number || value instanceof String || value instanceof Boolean) {
    return JSON.stringify(value);
  }
  if (seen.has(value)) throw new TypeError('cannot write a cyclic value as JSON');
  seen.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((x: unknown, i) => writeWithBigints(x, String(i), seen) ?? 'null').join(',')}]`;
  } else {
    const members: string[] = [];
    for (const [k, x] of Object.entries(value)) {
      const written = writeWithBigints(x, k, seen);
      if (written !== undefined) members.push(`${JSON.stringify(k)}:${written}`);
    }
    text = `{${members.join(',')}}`;
  }
  seen.delete(value);
  return text;
}
