/**
 * Reading lightningd's socket (src/rpc/json.ts): replies are JSON objects in a
 * byte stream (CLN writes "\n\n" after each, others nothing), chunked anywhere;
 * some integers are past 2^53 and must stay exact.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isInteger, isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { markBigIntegers } from '../../src/chain/json.js';
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

describe('parseJson on large replies: one native JSON.parse, exact u64s', () => {
  /** A listchannelmoves page shaped like CLN v26.06's: each payment move carries a u64 group_id. */
  const moves = (n: number): string =>
    `{"channelmoves":[${Array.from({ length: n }, (_, i) =>
      `{"created_index":${i + 1},"account_id":"${'7c'.repeat(32)}","credit_msat":${5_000_011 + i},"debit_msat":0,"timestamp":1795620807,"primary_tag":"invoice","payment_hash":"${'a1'.repeat(32)}","part_id":${i % 3},"group_id":${18_446_744_073_709_551_557n - BigInt(i)},"fees_msat":0}`,
    ).join(',')}]}`;

  test('a reply of 1 009 moves goes through JSON.parse once, and every group_id is exact', (t) => {
    const calls: number[] = [];
    const native = JSON.parse;
    t.mock.method(JSON, 'parse', (text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      calls.push(text.length);
      return native(text, reviver);
    });
    const reply = parseJson(moves(1_009)) as { channelmoves: Array<{ group_id: unknown; credit_msat: unknown }> };
    t.mock.restoreAll();
    assert.equal(calls.length, 1, 'the reply was not read by the native parser (a character-by-character parser in JavaScript is ten times slower)');
    assert.equal(reply.channelmoves.length, 1_009);
    assert.equal(reply.channelmoves[0]?.group_id, 18_446_744_073_709_551_557n);
    assert.equal(reply.channelmoves[1_008]?.group_id, 18_446_744_073_709_550_549n);
    assert.equal(reply.channelmoves[1_008]?.credit_msat, 5_001_019);
  });

  test('markBigIntegers marks exactly the 16+-digit integers outside strings', () => {
    const text = String.raw`{"a":12345678901234567891,"b":"12345678901234567891","c":[-90071992547409931,1.2345678901234567891,1234567890123456e3],"d":"\":12345678901234567891","e":"\\",  "f" : 98765432109876543210 }`;
    const marked = markBigIntegers(text);
    assert.equal(marked.marks, 3);
    assert.equal(
      marked.text,
      String.raw`{"a":"\u000012345678901234567891","b":"12345678901234567891","c":["\u0000-90071992547409931",1.2345678901234567891,1234567890123456e3],"d":"\":12345678901234567891","e":"\\",  "f" : "\u000098765432109876543210" }`,
    );
  });

  test('a string value that starts with the mark (U+0000) comes back as it was', () => {
    const text = String.raw`{"\u0000k":"\u0000","s":"\u000012345678901234567891","n":12345678901234567891,"t":["\u0000\u0000x"]}`;
    assert.deepEqual(parseJson(text), { '\u0000k': '\u0000', s: '\u000012345678901234567891', n: 12_345_678_901_234_567_891n, t: ['\u0000\u0000x'] });
  });

  test('a big integer 20 000 arrays deep is read (no recursion that the stack cannot hold)', () => {
    const depth = 20_000;
    let value = parseJson(`${'['.repeat(depth)}12345678901234567891${']'.repeat(depth)}`);
    for (let i = 0; i < depth; i++) value = (value as unknown[])[0];
    assert.equal(value, 12_345_678_901_234_567_891n);
  });

  test('a "__proto__" member holding a big integer stays a plain member', () => {
    const value = parseJson('{"__proto__":12345678901234567891,"a":1}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, 12_345_678_901_234_567_891n);
  });
});

describe('parseJson agrees with lossless-json (property)', () => {
  const readNumber = (value: string): unknown => (isInteger(value) && !isSafeNumber(value) ? BigInt(value) : Number(value));
  const lossless = (text: string): unknown => losslessParse(text, null, readNumber);

  /** Raw JSON text of a number: integers of any size (both signs), fractions and exponents with long digit runs. */
  const numberText = fc.oneof(
    fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
    fc.integer().map(String),
    fc.constantFrom('9007199254740991', '9007199254740992', '-9007199254740993', '1000000000000000', '-0', '0'),
    fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.stringMatching(/^\d{1,22}$/)).map(([i, f]) => `${i}.${f}`),
    fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.constantFrom('e', 'E', 'e+', 'e-', 'E-'), fc.integer({ min: 0, max: 300 })).map(([i, e, x]) => `${i}${e}${x}`),
  );

  /** Raw JSON text of a string, made of pieces that trip naive scanners: digit runs, escaped quotes and backslashes, the mark. */
  const stringText = fc
    .array(
      fc.oneof(
        fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s).slice(1, -1)),
        fc.stringMatching(/^-?\d{14,24}$/),
        fc.constantFrom(String.raw`\"`, String.raw`\\`, String.raw`\\\"`, String.raw`\u0000`, String.raw`\u0022`, String.raw`\/`, String.raw`\n`, '":', '[', ',', '}', ' '),
      ),
      { maxLength: 8 },
    )
    .map((pieces) => `"${pieces.join('')}"`);

  const space = fc.constantFrom('', '', '', ' ', '\n', ' \t');

  const valueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      numberText,
      stringText,
      fc.constantFrom('true', 'false', 'null'),
      fc.tuple(fc.array(tie('value'), { maxLength: 5 }), space).map(([items, s]) => `[${s}${items.join(`${s},${s}`)}${s}]`),
      fc
        .tuple(fc.uniqueArray(fc.oneof(stringText, fc.constantFrom('"__proto__"', '"\\u0000"', '"12345678901234567891"')), { maxLength: 5 }), fc.array(tie('value'), { minLength: 5, maxLength: 5 }), space)
        .map(([keys, values, s]) => `{${s}${keys.map((k, i) => `${k}${s}:${s}${values[i] ?? 'null'}`).join(`${s},${s}`)}${s}}`),
    ),
  })).value;

  test('on generated JSON with big integers and adversarial strings, parseJson reads what lossless-json reads', () => {
    fc.assert(
      fc.property(valueText, (text) => {
        // uniqueArray compares the raw key texts; two spellings of one key are a duplicate lossless-json refuses.
        let expected: unknown;
        try {
          expected = lossless(text);
        } catch {
          fc.pre(false);
        }
        assert.deepStrictEqual(parseJson(text), expected);
      }),
      { numRuns: 2_000, includeErrorInReport: true },
    );
  });

  test("on generated text, parseJson refuses exactly what JSON.parse refuses (marking never makes invalid text valid)", () => {
    const mangled = fc.tuple(valueText, fc.nat(), fc.nat({ max: 3 }), fc.constantFrom('', '"', '\\', '0', '-', '.', 'e', ',', ']', '}', ':')).map(([text, at, cut, insert]) => {
      const i = text.length === 0 ? 0 : at % text.length;
      return text.slice(0, i) + insert + text.slice(i + cut);
    });
    fc.assert(
      fc.property(mangled, (text) => {
        let native = true;
        try {
          JSON.parse(text);
        } catch {
          native = false;
        }
        let ours = true;
        try {
          parseJson(text);
        } catch {
          ours = false;
        }
        assert.equal(ours, native, `JSON.parse ${native ? 'accepts' : 'refuses'} it`);
      }),
      { numRuns: 3_000, includeErrorInReport: true },
    );
  });

  test('stringifyJson writes what lossless-json writes', () => {
    fc.assert(
      fc.property(valueText, (text) => {
        let value: unknown;
        try {
          value = lossless(text);
        } catch {
          fc.pre(false);
        }
        const written = stringifyJson(value);
        assert.equal(written, losslessStringify(value));
      }),
      { numRuns: 1_000, includeErrorInReport: true },
    );
  });
});
