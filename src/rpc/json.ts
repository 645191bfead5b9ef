export { parseJson, stringifyJson } from '../chain/json.js';

const HEX_KEY = Buffer.from('"hex"');

/**
 * The message without its `"hex": "..."` members. listdatastore sends every value
 * twice, as `string` and as `hex`, and rdv reads only `string`: at 10 000 records
 * that is 16 MB of a 24 MB reply, copied into a string and parsed for nothing.
 * Works on the bytes, before any string is made. `"hex"` followed by a colon cannot
 * occur inside a JSON string except after an escaping backslash, so an odd run of
 * backslashes before the match means it is text, not a member.
 */
export function dropHexMembers(message: Buffer): Buffer {
  const kept: Buffer[] = [];
  let from = 0;
  for (let at = message.indexOf(HEX_KEY); at !== -1; at = message.indexOf(HEX_KEY, at + 1)) {
    if (at < from) continue;
    if (isEscaped(message, at)) continue;
    let colon = at + HEX_KEY.length;
    while (isSpace(message[colon])) colon++;
    if (message[colon] !== 0x3a) continue; // "hex" as a value, not a key
    let open = colon + 1;
    while (isSpace(message[open])) open++;
    if (message[open] !== 0x22) continue; // not a string: leave it
    // The value's end: the next quote not escaped (hex has no backslashes, but be exact).
    let end = message.indexOf(0x22, open + 1);
    while (end !== -1 && isEscaped(message, end)) end = message.indexOf(0x22, end + 1);
    if (end === -1) break;
    end++;
    let before = at - 1;
    while (isSpace(message[before])) before--;
    let cutFrom: number;
    let cutTo = end;
    if (message[before] === 0x2c) {
      cutFrom = before; // `, "hex": "..."`
    } else if (message[before] === 0x7b) {
      cutFrom = at; // `{"hex": "...",`: the comma after it goes too
      let after = end;
      while (isSpace(message[after])) after++;
      if (message[after] === 0x2c) cutTo = after + 1;
    } else {
      continue; // a key where JSON allows none: leave the bytes alone
    }
    kept.push(message.subarray(from, cutFrom));
    from = cutTo;
    at = cutTo - 1;
  }
  if (kept.length === 0) return message;
  kept.push(message.subarray(from));
  return Buffer.concat(kept);
}

/** The quote at `at` follows an odd run of backslashes. */
function isEscaped(message: Buffer, at: number): boolean {
  let slashes = 0;
  while (at - slashes - 1 >= 0 && message[at - slashes - 1] === 0x5c) slashes++;
  return slashes % 2 === 1;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Splits a byte stream into top-level JSON values, whatever separates them
 * (lightningd writes "\n\n", other peers may write nothing). Keeps its scan
 * position across chunks, so a multi-megabyte reply is scanned once.
 */
export class JsonStreamSplitter {
  private pieces: Buffer[] = [];
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private size = 0;

  /** `dropHex`: return messages without their `"hex"` members (dropHexMembers): for lightningd's RPC replies. */
  constructor(
    private readonly maxBytes = 256 * 1024 * 1024,
    private readonly options: { dropHex?: boolean } = {},
  ) {}

  /** Feed a chunk; returns the complete values it finished, as text. Throws on bytes that cannot start a value. */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    let nextSlash = chunk.indexOf(0x5c);
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (!this.started) {
        if (c === 0x7b || c === 0x5b) {
          this.started = true;
          this.depth = 1;
          start = i;
        } else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
          throw new Error(`unexpected byte 0x${(c ?? 0).toString(16)} between JSON messages`);
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        // Jump to the next quote or backslash: records are mostly long strings (invoices, hashes).
        // The next backslash is looked up once per chunk, not once per string.
        if (nextSlash !== -1 && nextSlash < i) nextSlash = chunk.indexOf(0x5c, i);
        const quote = chunk.indexOf(0x22, i);
        if (nextSlash !== -1 && (quote === -1 || nextSlash < quote)) {
          i = nextSlash;
          this.escaped = true;
        } else if (quote === -1) {
          break;
        } else {
          i = quote;
          this.inString = false;
        }
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          this.pieces.push(chunk.subarray(start, i + 1));
          const whole = this.pieces.length === 1 ? (this.pieces[0] as Buffer) : Buffer.concat(this.pieces);
          this.pieces = [];
          out.push((this.options.dropHex ? dropHexMembers(whole) : whole).toString('utf8'));
          this.pieces = [];
          this.size = 0;
          this.started = false;
        }
      }
    }
    if (this.started) {
      const rest = chunk.subarray(start);
      this.pieces.push(rest);
      this.size += rest.length;
      if (this.size > this.maxBytes) throw new Error(`a JSON message is larger than ${this.maxBytes} bytes`);
    }
    return out;
  }
}
