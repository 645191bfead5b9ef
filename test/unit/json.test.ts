/**
 * Reading lightningd's socket (src/rpc/json.ts): replies are JSON objects in a
 * byte stream (CLN writes "\n\n" after each, others nothing), chunked anywhere;
 * some integers are past 2^53 and must stay exact.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dropHexMembers, JsonStreamSplitter, parseJson, stringifyJson } from '../../src/rpc/json.js';
import { fixtureText } from '../helpers/paths.js';

/** Feed the chunks in order and collect every message the splitter finishes. */
function split(chunks: Array<string | Buffer>, splitter = new JsonStreamSplitter()): string[] {
  return chunks.flatMap((c) => splitter.push(typeof c === 'string' ? Buffer.from(c, 'utf8') : c));
}

// The three replies lightningd gave to three requests sent in one write (fixtures README).
const GETINFO = '{"jsonrpc":"2.0","id":1,"result":{"id":"035f62c3095b02db6d4ad65f3fdcd591d92a2aaa3cf1dccb1f37abdb72ba76bf61","alias":"nodeB","blockheight":124}}';
const WAIT = '{"jsonrpc":"2.0","id":"fixture:2","result":{"blockheight":124}}';
const UNKNOWN = '{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Unknown command \'nosuchmethod\'"}}';
/** Braces, brackets, escaped quotes and a trailing escaped backslash inside strings. */
const TRICKY = String.raw`{"id":"cli:pay#7","result":{"s":"}{ ][ \" \\","t":"\\\\","u":"ナンセンス ☕","v":[1,{"w":[]}]}}`;

describe('JsonStreamSplitter: one message per top-level JSON value', () => {
  const cases: Array<{ description: string; given: string[]; expected: string[] }> = [
    { description: "lightningd's framing: each reply followed by \\n\\n, all in one chunk", given: [`${GETINFO}\n\n${WAIT}\n\n${UNKNOWN}\n\n`], expected: [GETINFO, WAIT, UNKNOWN] },
    { description: 'no separators at all', given: [`${GETINFO}${WAIT}${UNKNOWN}`], expected: [GETINFO, WAIT, UNKNOWN] },
    { description: 'spaces, tabs and CRLF between messages', given: [` \t${GETINFO}\r\n \t${WAIT}\r\n`], expected: [GETINFO, WAIT] },
    { description: 'strings holding braces, brackets and escaped quotes and backslashes', given: [`${TRICKY}\n\n${WAIT}`], expected: [TRICKY, WAIT] },
    { description: 'a top-level array', given: ['[1,{"a":[2]},"]"]\n\n'], expected: ['[1,{"a":[2]},"]"]'] },
    { description: 'an empty object', given: ['{}{}'], expected: ['{}', '{}'] },
    { description: 'a message finished by a later chunk', given: ['{"id":1,"res', 'ult":{"a":', '1}}\n\n'], expected: ['{"id":1,"result":{"a":1}}'] },
    { description: 'separators alone produce nothing', given: ['\n\n', '  ', '\r\n'], expected: [] },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(split(c.given), c.expected));

  test('an unfinished message is held, not returned', () => {
    const splitter = new JsonStreamSplitter();
    assert.deepEqual(splitter.push(Buffer.from(GETINFO.slice(0, 41))), []);
    assert.deepEqual(splitter.push(Buffer.from(`${GETINFO.slice(41)}\n`)), [GETINFO]);
  });

  const stream = `${GETINFO}\n\n${TRICKY}\n\n${UNKNOWN}${WAIT}\n\n`;
  const bytes = Buffer.from(stream, 'utf8');

  test('split in two at every byte position (also inside escapes and UTF-8 characters), the same messages come out', () => {
    for (let at = 0; at <= bytes.length; at++) {
      assert.deepEqual(split([bytes.subarray(0, at), bytes.subarray(at)]), [GETINFO, TRICKY, UNKNOWN, WAIT], `split at byte ${at}`);
    }
  });

  test('fed one byte at a time, the same messages come out', () => {
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    assert.deepEqual(split(chunks), [GETINFO, TRICKY, UNKNOWN, WAIT]);
  });

  test('split in three at every pair of positions around the escaped quote, the same messages come out', () => {
    const quote = bytes.indexOf('\\"');
    for (let a = quote - 3; a <= quote + 3; a++) {
      for (let b = a; b <= quote + 5; b++) {
        assert.deepEqual(split([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]), [GETINFO, TRICKY, UNKNOWN, WAIT], `split at ${a} and ${b}`);
      }
    }
  });

  test('a 5 MB reply in 64 KiB chunks comes out whole and parses', () => {
    const invoices = Array.from({ length: 20_011 }, (_, i) => ({ label: `rdv-${i}`, description: `}{"${i}\\ ${'ナ'.repeat(79)}`, amount_msat: i * 1_000 + 7 }));
    const big = JSON.stringify({ jsonrpc: '2.0', id: 'cli:listinvoices#9', result: { invoices } });
    assert.ok(Buffer.byteLength(big) > 5_000_000, `only ${Buffer.byteLength(big)} bytes`);
    const data = Buffer.from(`${big}\n\n${WAIT}\n\n`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 65_536) chunks.push(data.subarray(i, i + 65_536));
    const out = split(chunks);
    assert.equal(out.length, 2);
    assert.equal(out[0], big);
    assert.equal(out[1], WAIT);
    assert.equal((JSON.parse(out[0] ?? '') as { result: { invoices: unknown[] } }).result.invoices.length, 20_011);
  });

  test('a byte that cannot start a JSON value between messages is an error naming it', () => {
    const splitter = new JsonStreamSplitter();
    assert.deepEqual(splitter.push(Buffer.from(`${WAIT}\n\n`)), [WAIT]);
    assert.throws(() => splitter.push(Buffer.from('# progress line\n')), /unexpected byte 0x23 between JSON messages/);
  });

  test('a message growing past the size limit is an error, not unbounded memory', () => {
    const splitter = new JsonStreamSplitter(1_024);
    splitter.push(Buffer.from('{"a":"'));
    assert.throws(() => {
      for (let i = 0; i < 11; i++) splitter.push(Buffer.from('x'.repeat(101)));
    }, /a JSON message is larger than 1024 bytes/);
  });
});

describe('parseJson: integers past 2^53 stay exact, everything else is plain JSON', () => {
  test("listsendpays' groupid (5850984287163316823) is an exact bigint; small numbers stay numbers", () => {
    const reply = parseJson(fixtureText('rpc-listsendpays-complete-mpp.json')) as { payments: Array<Record<string, unknown>> };
    const [first, second] = reply.payments;
    assert.equal(first?.groupid, 5_850_984_287_163_316_823n);
    assert.equal(second?.groupid, 5_850_984_287_163_316_823n);
    assert.equal(first?.id, 32);
    assert.equal(first?.amount_msat, 1_011_200_000);
    assert.equal(first?.amount_sent_msat, 1_011_210_113);
    assert.equal(first?.created_at, 1_795_620_807);
    assert.equal(first?.status, 'complete');
  });

  test("listpeerchannels' max_htlc_value_in_flight (2^64 - 1) is an exact bigint", () => {
    const reply = parseJson(fixtureText('rpc-listpeerchannels.json')) as { channels: Array<Record<string, unknown>> };
    const channel = reply.channels[0];
    assert.equal(channel?.their_max_htlc_value_in_flight_msat, 18_446_744_073_709_551_615n);
    assert.equal(channel?.our_max_htlc_value_in_flight_msat, 18_446_744_073_709_551_615n);
    assert.equal(typeof channel?.total_msat, 'number');
  });

  const cases: Array<{ description: string; given: string; expected: unknown }> = [
    { description: 'the largest safe integer stays a number', given: '{"a":9007199254740991}', expected: { a: 9_007_199_254_740_991 } },
    { description: '2^53 + 1 becomes a bigint', given: '{"a":9007199254740993}', expected: { a: 9_007_199_254_740_993n } },
    { description: 'a negative big integer becomes a bigint', given: '{"a":-9007199254740993}', expected: { a: -9_007_199_254_740_993n } },
    { description: 'a 16-digit safe integer stays a number', given: '{"a":1234567890123457,"b":3}', expected: { a: 1_234_567_890_123_457, b: 3 } },
    { description: 'a big integer in an array', given: '{"a":[5,12345678901234567891]}', expected: { a: [5, 12_345_678_901_234_567_891n] } },
    { description: 'decimals stay numbers next to a big integer', given: '{"a":2.5,"b":12345678901234567891}', expected: { a: 2.5, b: 12_345_678_901_234_567_891n } },
    { description: 'a big integer inside a string stays a string', given: '{"a":"12345678901234567891"}', expected: { a: '12345678901234567891' } },
    { description: 'no big integer: plain JSON', given: '{"a":[1,"x",null,true],"b":{"c":-7}}', expected: { a: [1, 'x', null, true], b: { c: -7 } } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(parseJson(c.given), c.expected));

  test('invalid JSON throws', () => {
    assert.throws(() => parseJson('{"a":'));
    assert.throws(() => parseJson('{"a":12345678901234567891'));
  });
});

describe('stringifyJson: bigints are written as exact numbers', () => {
  const cases: Array<{ description: string; given: unknown; expected: string }> = [
    { description: 'a u64 groupid', given: { groupid: 5_850_984_287_163_316_823n, partid: 1 }, expected: '{"groupid":5850984287163316823,"partid":1}' },
    { description: 'a 21 million BTC amount in msat', given: { amount_msat: 2_100_000_000_000_000_000n }, expected: '{"amount_msat":2100000000000000000}' },
    { description: 'small bigints are plain numbers', given: [1n, 2, 'x'], expected: '[1,2,"x"]' },
    { description: 'undefined fields are left out, as JSON.stringify does', given: { a: undefined, b: null }, expected: '{"b":null}' },
  ];
  for (const c of cases) test(c.description, () => assert.equal(stringifyJson(c.given), c.expected));

  test('what parseJson reads, stringifyJson writes back exactly', () => {
    const text = '{"groupid":5850984287163316823,"max":18446744073709551615,"id":32,"s":"x"}';
    assert.equal(stringifyJson(parseJson(text)), text);
  });

  test('a value that is not JSON (undefined) throws', () => {
    assert.throws(() => stringifyJson(undefined), /cannot be written as JSON/);
  });
});

describe("dropHexMembers: listdatastore's hex copies are cut from the bytes, nothing else", () => {
  const cut = (text: string): string => dropHexMembers(Buffer.from(text, 'utf8')).toString('utf8');
  const cases: Array<{ description: string; given: string; expected: string }> = [
    { description: 'a datastore entry: hex between generation and string', given: '{"key":["rdv","v1"],"generation":3,"hex":"7b7d","string":"{}"}', expected: '{"key":["rdv","v1"],"generation":3,"string":"{}"}' },
    { description: 'hex first in its object: the comma after it goes', given: '{"hex":"00ff", "string":"x"}', expected: '{ "string":"x"}' },
    { description: 'hex alone in its object', given: '{"a":[{"hex":"00"}]}', expected: '{"a":[{}]}' },
    { description: 'hex last, with spaces and newlines around', given: '{"string":"x" ,\n "hex":"ab"\n}', expected: '{"string":"x" \n}' },
    { description: 'many entries', given: '[{"hex":"01","s":1},{"s":2,"hex":"02"},{"s":3}]', expected: '[{"s":1},{"s":2},{"s":3}]' },
    { description: 'the text "hex":" inside a string value stays (its quotes are escaped)', given: String.raw`{"string":"{\"hex\":\"ab\"}"}`, expected: String.raw`{"string":"{\"hex\":\"ab\"}"}` },
    { description: 'a key ending in an escaped quote before hex stays', given: String.raw`{"a\"hex":"v"}`, expected: String.raw`{"a\"hex":"v"}` },
    { description: 'after an escaped backslash the quote is real: that hex member goes', given: String.raw`{"a":"\\","hex":"ff"}`, expected: String.raw`{"a":"\\"}` },
    { description: 'a hex member that is not a string (a number) stays', given: '{"hex":12,"b":1}', expected: '{"hex":12,"b":1}' },
    { description: 'no hex at all: the same bytes', given: GETINFO, expected: GETINFO },
    { description: "spaces around the colon (lightning-cli's layout)", given: '{"generation": 1,\n "hex" : "7b7d",\n "string": "{}"}', expected: '{"generation": 1,\n "string": "{}"}' },
    { description: 'the string value "hex" is not a key', given: '{"a":"hex","b":"hex"}', expected: '{"a":"hex","b":"hex"}' },
  ];
  for (const c of cases) test(c.description, () => assert.equal(cut(c.given), c.expected));

  test("on lightningd's listdatastore reply (fixture) every entry keeps key, generation and string, and loses only hex", () => {
    const text = fixtureText('rpc-listdatastore-relay-level.json');
    const whole = parseJson(text) as { datastore: Array<Record<string, unknown>> };
    const kept = parseJson(cut(text)) as { datastore: Array<Record<string, unknown>> };
    assert.ok(whole.datastore.some((e) => 'hex' in e), 'the fixture has hex members');
    assert.deepEqual(
      kept.datastore,
      whole.datastore.map(({ hex: _hex, ...rest }) => rest),
    );
  });

  test('a splitter made with dropHex returns messages without hex; a plain one leaves them', () => {
    const msg = '{"id":1,"result":{"datastore":[{"key":["a"],"hex":"6869","string":"hi"}]}}';
    assert.deepEqual(split([msg], new JsonStreamSplitter(undefined, { dropHex: true })), ['{"id":1,"result":{"datastore":[{"key":["a"],"string":"hi"}]}}']);
    assert.deepEqual(split([msg]), [msg]);
  });
});
