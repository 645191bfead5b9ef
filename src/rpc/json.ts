export { parseJson, stringifyJson } from '../chain/json.js';

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

  constructor(private readonly maxBytes = 256 * 1024 * 1024) {}

  /** Feed a chunk; returns the complete values it finished, as text. Throws on bytes that cannot start a value. */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
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
        const quote = chunk.indexOf(0x22, i);
        const slash = chunk.subarray(i, quote === -1 ? chunk.length : quote).indexOf(0x5c);
        if (slash !== -1) {
          i += slash;
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
          out.push(Buffer.concat(this.pieces).toString('utf8'));
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
