/** JSON with exact integers past 2^53 (msat amounts, u64 ids): pure, shared by the records and the RPC edge. */
import { isInteger, isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

/** A number token of 16+ digits in value position: only then do we need the slow, exact parser. */
const BIG_NUMBER = /[:[,]\s*-?\d{16,}/;

/**
 * JSON.parse, except integers beyond 2^53 (listsendpays' groupid,
 * max_htlc_value_in_flight_msat, large msat amounts) become exact bigints.
 */
export function parseJson(text: string): unknown {
  if (!BIG_NUMBER.test(text)) return JSON.parse(text);
  return losslessParse(text, null, (value: string) =>
    isInteger(value) && !isSafeNumber(value) ? BigInt(value) : Number(value),
  );
}

/** JSON.stringify that writes bigints as exact numbers (msat amounts). */
export function stringifyJson(value: unknown): string {
  let text: string | undefined;
  try {
    // The native writer is many times faster; it refuses only bigints (and cycles).
    text = JSON.stringify(value);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    text = losslessStringify(value);
  }
  if (text === undefined) throw new Error('value cannot be written as JSON');
  return text;
}
