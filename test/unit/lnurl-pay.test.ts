/**
 * The LNURL-pay client's pure checks (src/chain/lnurl-pay.ts): Lightning
 * Addresses and LNURLs, the pay parameters, the callback URL and answer, and
 * the pulled invoice, as tables with distinctive numbers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { Invoice } from '../../src/chain/bolt11.js';
import {
  callbackUrl,
  checkPulledInvoice,
  cleanText,
  describeTarget,
  LNURL_MAX_METADATA_BYTES,
  LNURL_MAX_REASON_CHARS,
  metadataHash,
  parseAddress,
  parseCallbackAnswer,
  parsePayParams,
  parseTarget,
  urlProblem,
  type PulledInvoiceWant,
  isPublicAddress,
} from '../../src/chain/lnurl-pay.js';
import { encodeLnurl } from '../helpers/lnurl.js';
import { BOB, CAROL, carolInvoice, NOW } from './invoice-kit.js';

describe('parseAddress (LUD-16)', () => {
  const good: Array<{ description: string; given: string; expected: { name: string; domain: string; url: string } }> = [
    {
      description: 'a plain address, lower-cased',
      given: 'Carol@Shop.Example',
      expected: { name: 'carol', domain: 'shop.example', url: 'https://shop.example/.well-known/lnurlp/carol' },
    },
    {
      description: 'a lightning: URI with a +tag and spaces around',
      given: '  lightning:carol+tips@shop.example ',
      expected: { name: 'carol+tips', domain: 'shop.example', url: 'https://shop.example/.well-known/lnurlp/carol+tips' },
    },
    {
      description: 'dots, dashes and underscores in the name',
      given: 'c.a-r_ol@shop.example',
      expected: { name: 'c.a-r_ol', domain: 'shop.example', url: 'https://shop.example/.well-known/lnurlp/c.a-r_ol' },
    },
    {
      description: 'a port that is not the default stays',
      given: 'carol@shop.example:8443',
      expected: { name: 'carol', domain: 'shop.example:8443', url: 'https://shop.example:8443/.well-known/lnurlp/carol' },
    },
    {
      description: 'the default https port is dropped',
      given: 'carol@shop.example:443',
      expected: { name: 'carol', domain: 'shop.example', url: 'https://shop.example/.well-known/lnurlp/carol' },
    },
    {
      description: 'an international domain in its xn-- form',
      given: 'carol@café.example',
      expected: { name: 'carol', domain: 'xn--caf-dma.example', url: 'https://xn--caf-dma.example/.well-known/lnurlp/carol' },
    },
    {
      description: 'a public IPv4 address: still https',
      given: 'carol@203.0.113.7',
      expected: { name: 'carol', domain: '203.0.113.7', url: 'https://203.0.113.7/.well-known/lnurlp/carol' },
    },
    {
      description: 'loopback 127.0.0.1 with a port: plain http (tests)',
      given: 'carol@127.0.0.1:41234',
      expected: { name: 'carol', domain: '127.0.0.1:41234', url: 'http://127.0.0.1:41234/.well-known/lnurlp/carol' },
    },
    {
      description: 'localhost: plain http',
      given: 'carol@localhost:8080',
      expected: { name: 'carol', domain: 'localhost:8080', url: 'http://localhost:8080/.well-known/lnurlp/carol' },
    },
    {
      description: 'IPv6 loopback in brackets: plain http',
      given: 'carol@[::1]:8080',
      expected: { name: 'carol', domain: '[::1]:8080', url: 'http://[::1]:8080/.well-known/lnurlp/carol' },
    },
  ];
  for (const c of good) {
    test(c.description, () => assert.deepEqual(parseAddress(c.given), { ok: true, value: c.expected }));
  }

  const bad: Array<{ description: string; given: string; error: RegExp }> = [
    { description: 'no @', given: 'carol', error: /^"carol" is not a Lightning Address: write it as name@domain$/ },
    { description: 'two @', given: 'carol@shop@example.com', error: /is not a Lightning Address/ },
    { description: 'user:password@ in the domain (two @)', given: 'carol@u:p@shop.example', error: /is not a Lightning Address/ },
    { description: 'no name', given: '@shop.example', error: /has no name before the @/ },
    { description: 'no domain', given: 'carol@', error: /has no domain after the @/ },
    { description: 'a space in the name', given: 'ca rol@shop.example', error: /may use only a-z, 0-9 and - _ \. \+ \(LUD-16\)/ },
    { description: 'a ! in the name', given: 'carol!@shop.example', error: /may use only/ },
    { description: 'a slash in the name (path traversal)', given: '../x@shop.example', error: /may use only/ },
    { description: 'a name of dots only', given: '..@shop.example', error: /is only dots/ },
    { description: 'a name of 65 characters', given: `${'c'.repeat(65)}@shop.example`, error: /longer than 64 characters/ },
    { description: 'a single-label host', given: 'carol@shop', error: /is not a full domain name \(it has no dot\)/ },
    { description: 'a path after the domain', given: 'carol@shop.example/pay', error: /is not a host name or host:port/ },
    { description: 'a query after the domain', given: 'carol@shop.example?x=1', error: /is not a host name or host:port/ },
    { description: 'a port out of range', given: 'carol@shop.example:99999', error: /is not a host name or host:port/ },
    { description: 'an onion domain (no Tor)', given: `carol@${'a'.repeat(56)}.onion`, error: /onion service, which needs Tor/ },
    { description: 'a label starting with a dash', given: 'carol@-shop.example', error: /is not a valid domain name/ },
    { description: 'an underscore in the domain', given: 'carol@sh_op.example', error: /is not a valid domain name/ },
    { description: 'a trailing dot', given: 'carol@shop.example.', error: /is not a valid domain name/ },
    { description: 'a domain of 254 characters', given: `carol@${`${'d'.repeat(62)}.`.repeat(4)}ab`, error: /longer than 253 characters/ },
    { description: 'control characters are not echoed', given: 'ca\u001b[2Jrol', error: /^"ca \[2jrol" is not a Lightning Address/ },
  ];
  for (const c of bad) {
    test(`refused: ${c.description}`, () => {
      const r = parseAddress(c.given);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
});

describe('parseTarget: address, LNURL (LUD-01), lnurlp:// (LUD-17), https URL', () => {
  const PAY_URL = 'https://shop.example/lnurlp/carol?token=f00d';
  const good: Array<{ description: string; given: string; expected: { kind: string; domain: string; url: string }; described: string }> = [
    {
      description: 'a Lightning Address',
      given: 'carol@shop.example',
      expected: { kind: 'address', domain: 'shop.example', url: 'https://shop.example/.well-known/lnurlp/carol' },
      described: 'carol@shop.example',
    },
    { description: 'an https URL (its query left out when described)', given: PAY_URL, expected: { kind: 'url', domain: 'shop.example', url: PAY_URL }, described: 'shop.example/lnurlp/carol' },
    { description: 'an LNURL, upper case as in QR codes', given: encodeLnurl(PAY_URL), expected: { kind: 'url', domain: 'shop.example', url: PAY_URL }, described: 'shop.example/lnurlp/carol' },
    {
      description: 'an LNURL in lower case behind lightning:',
      given: `lightning:${encodeLnurl(PAY_URL).toLowerCase()}`,
      expected: { kind: 'url', domain: 'shop.example', url: PAY_URL },
      described: 'shop.example/lnurlp/carol',
    },
    {
      description: 'an lnurlp:// URL is read as https',
      given: 'lnurlp://shop.example:8443/lnurlp/carol',
      expected: { kind: 'url', domain: 'shop.example:8443', url: 'https://shop.example:8443/lnurlp/carol' },
      described: 'shop.example:8443/lnurlp/carol',
    },
    {
      description: 'a loopback http URL (tests)',
      given: 'http://127.0.0.1:41234/.well-known/lnurlp/carol',
      expected: { kind: 'url', domain: '127.0.0.1:41234', url: 'http://127.0.0.1:41234/.well-known/lnurlp/carol' },
      described: '127.0.0.1:41234/.well-known/lnurlp/carol',
    },
  ];
  for (const c of good) {
    test(c.description, () => {
      const r = parseTarget(c.given);
      if (!r.ok) assert.fail(r.error);
      assert.deepEqual({ kind: r.value.kind, domain: r.value.domain, url: r.value.url }, c.expected);
      assert.equal(describeTarget(r.value), c.described);
    });
  }

  const lnurl = encodeLnurl(PAY_URL);
  const bad: Array<{ description: string; given: string; error: RegExp }> = [
    { description: 'nothing', given: '  ', error: /^no Lightning Address or LNURL given$/ },
    { description: 'an LNURL with one character changed', given: `${lnurl.slice(0, 20)}${lnurl[20] === 'Q' ? 'P' : 'Q'}${lnurl.slice(21)}`, error: /is not a valid LNURL \(bad bech32 or checksum\)/ },
    { description: 'an LNURL in mixed case', given: `${lnurl.slice(0, 10)}${lnurl.slice(10).toLowerCase()}`, error: /is not a valid LNURL/ },
    { description: 'an LNURL of a plain http public URL', given: encodeLnurl('http://shop.example/lnurlp/carol'), error: /the LNURL http:\/\/shop\.example\/lnurlp\/carol uses plain http/ },
    { description: 'a plain http public URL', given: 'http://shop.example/lnurlp/carol', error: /uses plain http, which rdv allows only to this machine: it must be https/ },
    { description: 'a URL with credentials', given: 'https://user:pw@shop.example/lnurlp/carol', error: /carries a user name or password/ },
    { description: 'an ftp URL', given: 'ftp://shop.example/carol', error: /uses ftp, not https/ },
    { description: 'an intranet host without a dot', given: 'https://intranet/lnurlp/carol', error: /its host is not a full domain name/ },
    { description: 'an address with a bad name', given: 'ca*rol@shop.example', error: /may use only/ },
  ];
  for (const c of bad) {
    test(`refused: ${c.description}`, () => {
      const r = parseTarget(c.given);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, c.error);
    });
  }
});

describe('urlProblem: where rdv may be sent', () => {
  const cases: Array<{ description: string; url: string; from?: string; expected: RegExp | undefined }> = [
    { description: 'https to a public host', url: 'https://pay.example/cb', expected: undefined },
    { description: 'https from a public host to another', url: 'https://pay.example/cb', from: 'https://shop.example/x', expected: undefined },
    { description: 'http to loopback from loopback', url: 'http://127.0.0.1:9/cb', from: 'http://127.0.0.1:8/x', expected: undefined },
    { description: 'from loopback to a public https host', url: 'https://pay.example/cb', from: 'http://localhost:8/x', expected: undefined },
    { description: 'plain http to a public host', url: 'http://pay.example/cb', expected: /plain http/ },
    { description: 'a public host sends rdv to 127.0.0.1 over http', url: 'http://127.0.0.1:9735/x', from: 'https://shop.example/x', expected: /^points to this machine, which shop\.example may not send rdv to$/ },
    { description: 'a public host sends rdv to localhost over https', url: 'https://localhost/x', from: 'https://shop.example/x', expected: /points to this machine/ },
    { description: 'a public host sends rdv to [::1]', url: 'http://[::1]:8080/x', from: 'https://shop.example/x', expected: /points to this machine/ },
    { description: 'a URL of 2,049 characters', url: `https://pay.example/${'x'.repeat(2_049 - 20)}`, expected: /longer than 2048 characters/ },
    { description: 'a public host sends rdv to a private address', url: 'https://10.0.0.5/admin', from: 'https://shop.example/x', expected: /^points into a private network \(10\.0\.0\.5\), which shop\.example may not send rdv to$/ },
    { description: 'a public host sends rdv to a link-local IPv6 address', url: 'https://[fe80::1]/x', from: 'https://shop.example/x', expected: /points into a private network \(fe80::1\)/ },
    { description: 'the operator\'s own address on a private network, by its IP address', url: 'https://192.168.1.20/.well-known/lnurlp/carol', expected: undefined },
    { description: 'a private server sending rdv on within itself', url: 'https://192.168.1.20/cb', from: 'https://192.168.1.20/.well-known/lnurlp/carol', expected: undefined },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const problem = urlProblem(new URL(c.url), c.from === undefined ? undefined : new URL(c.from));
      if (c.expected === undefined) assert.equal(problem, undefined);
      else assert.match(problem ?? '(none)', c.expected);
    });
  }
});

describe('isPublicAddress: where a stranger\'s server may send rdv', () => {
  const table: Array<[string, boolean]> = [
    ['203.0.113.7', true], ['8.8.8.8', true], ['172.32.0.1', true], ['100.128.0.1', true], ['2001:db8::7', true], ['2a00:1450::1', true],
    ['127.0.0.1', false], ['127.255.0.9', false], ['10.1.2.3', false], ['172.16.0.1', false], ['172.31.255.255', false], ['192.168.0.1', false],
    ['169.254.169.254', false], ['100.64.0.1', false], ['0.0.0.0', false], ['224.0.0.1', false], ['255.255.255.255', false],
    ['::1', false], ['::', false], ['fc00::1', false], ['fd12:3456::1', false], ['fe80::1', false], ['ff02::1', false],
    ['::ffff:127.0.0.1', false], ['::ffff:10.0.0.1', false], ['::ffff:203.0.113.7', true], ['not an address', false],
  ];
  for (const [ip, pub] of table) test(`${ip}: ${pub ? 'public' : 'not public'}`, () => assert.equal(isPublicAddress(ip), pub));
});

describe('cleanText: a stranger\'s reason, safe to print', () => {
  const cases: Array<{ description: string; given: string; expected: string }> = [
    { description: 'plain text is kept', given: 'No route to carol', expected: 'No route to carol' },
    { description: 'newlines and tabs fold into spaces', given: 'line one\n\tline two\r\n', expected: 'line one line two' },
    { description: 'a terminal escape loses its ESC', given: 'red\u001b[31m alert\u0007', expected: 'red [31m alert' },
    { description: 'a right-to-left override is removed', given: 'invoice\u202eexe.txt', expected: 'invoice exe.txt' },
    { description: 'C1 controls are removed', given: 'a\u0085b\u009bc', expected: 'a b c' },
  ];
  for (const c of cases) test(c.description, () => assert.equal(cleanText(c.given), c.expected));

  test(`a long reason is cut to ${LNURL_MAX_REASON_CHARS} characters with an ellipsis`, () => {
    const cut = cleanText('é'.repeat(5_000));
    assert.equal([...cut].length, LNURL_MAX_REASON_CHARS);
    assert.ok(cut.endsWith('…'));
  });
});

const META = JSON.stringify([
  ['text/plain', 'Payment to carol@shop.example'],
  ['text/identifier', 'carol@shop.example'],
]);
const CALLBACK = 'https://shop.example/lnurlp/carol/callback?k=1%202&x=a+b';
const params = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  tag: 'payRequest',
  callback: CALLBACK,
  minSendable: 1_003,
  maxSendable: 123_456_789_017,
  metadata: META,
  commentAllowed: 0,
  ...over,
});

describe('parsePayParams (LUD-06 step 3)', () => {
  test('good parameters, as a parsed value', () => {
    assert.deepEqual(parsePayParams(params()), {
      ok: true,
      value: {
        callback: CALLBACK,
        minSendableMsat: msat(1_003n),
        maxSendableMsat: msat(123_456_789_017n),
        metadata: META,
        description: 'Payment to carol@shop.example',
        identifier: 'carol@shop.example',
      },
    });
  });

  test('good parameters, as JSON text; a maxSendable past 2^53 stays exact', () => {
    const text = `{"tag":"payRequest","callback":"https://shop.example/cb","minSendable":1000,"maxSendable":2100000000000000017,"metadata":${JSON.stringify(META)}}`;
    const r = parsePayParams(text);
    if (!r.ok) assert.fail(JSON.stringify(r.error));
    assert.equal(r.value.maxSendableMsat, 2_100_000_000_000_000_017n);
  });

  test('metadata with an image, a long description and a future entry of any JSON type', () => {
    const metadata = JSON.stringify([['text/plain', 'Mug'], ['image/png;base64', 'iVBORw0KGgo='], ['text/long-desc', 'A blue\nmug'], ['x/future', { n: 7 }], ['text/email', 'carol@shop.example']]);
    const r = parsePayParams(params({ metadata }));
    if (!r.ok) assert.fail(JSON.stringify(r.error));
    assert.deepEqual([r.value.description, r.value.identifier], ['Mug', 'carol@shop.example']);
  });

  test(`metadata of exactly ${LNURL_MAX_METADATA_BYTES} bytes is read`, () => {
    const metadata = JSON.stringify([['text/plain', 'x'.repeat(LNURL_MAX_METADATA_BYTES - 19)]]);
    assert.equal(Buffer.byteLength(metadata), LNURL_MAX_METADATA_BYTES);
    assert.equal(parsePayParams(params({ metadata })).ok, true);
  });

  test('an http callback on loopback, when the parameters came from loopback (tests)', () => {
    const r = parsePayParams(params({ callback: 'http://127.0.0.1:41234/cb' }), new URL('http://127.0.0.1:41234/.well-known/lnurlp/carol'));
    assert.equal(r.ok, true);
  });

  const refused: Array<{ description: string; given: unknown; reason: string }> = [
    { description: 'an LNURL error with its reason', given: { status: 'ERROR', reason: 'Unknown user carol' }, reason: 'Unknown user carol' },
    { description: 'its reason cleaned of control characters', given: { status: 'ERROR', reason: 'Gone\n\u001b[2J away' }, reason: 'Gone [2J away' },
    { description: 'no reason given', given: { status: 'ERROR' }, reason: '(no reason given)' },
    { description: 'a status in lower case, as JSON text', given: '{"status":"error","reason":"maintenance"}', reason: 'maintenance' },
  ];
  for (const c of refused) {
    test(`refused by the server: ${c.description}`, () => assert.deepEqual(parsePayParams(c.given), { ok: false, error: { kind: 'refused', reason: c.reason } }));
  }

  const malformed: Array<{ description: string; given: unknown; from?: string; reason: RegExp }> = [
    { description: 'not JSON', given: '<html>Bad Gateway</html>', reason: /^the answer is not JSON$/ },
    { description: 'a JSON array', given: '[1,2]', reason: /^the answer is not a JSON object$/ },
    { description: 'a withdrawRequest', given: params({ tag: 'withdrawRequest' }), reason: /^it is a "withdrawRequest" LNURL, not a payRequest$/ },
    { description: 'no tag', given: params({ tag: undefined }), reason: /it has no tag "payRequest"/ },
    { description: 'no callback', given: params({ callback: undefined }), reason: /^it has no callback URL$/ },
    { description: 'a callback that is not a URL', given: params({ callback: 'callback please' }), reason: /^its callback "callback please" is not a URL$/ },
    { description: 'a plain http callback on a public host', given: params({ callback: 'http://shop.example/cb' }), reason: /its callback http:\/\/shop\.example\/cb uses plain http/ },
    {
      description: 'a public server\'s callback to this machine',
      given: params({ callback: 'http://127.0.0.1:9735/cb' }),
      from: 'https://shop.example/.well-known/lnurlp/carol',
      reason: /points to this machine, which shop\.example may not send rdv to/,
    },
    { description: 'a callback that already has an amount', given: params({ callback: 'https://shop.example/cb?amount=5' }), reason: /already carries an amount parameter/ },
    { description: 'minSendable 0', given: params({ minSendable: 0 }), reason: /^its minSendable is below 1 msat$/ },
    { description: 'minSendable above maxSendable', given: params({ minSendable: 5_003, maxSendable: 5_002 }), reason: /^its minSendable \(5003 msat\) is above its maxSendable \(5002 msat\)$/ },
    { description: 'amounts as strings', given: params({ minSendable: '1003' }), reason: /not whole numbers of msat/ },
    { description: 'a fraction of a msat', given: params({ maxSendable: 1_500.5 }), reason: /not whole numbers of msat/ },
    { description: 'a negative amount', given: params({ minSendable: -1 }), reason: /not whole numbers of msat/ },
    { description: 'no metadata', given: params({ metadata: undefined }), reason: /^it has no metadata string$/ },
    { description: 'metadata as an array, not a string', given: params({ metadata: [['text/plain', 'x']] }), reason: /^it has no metadata string$/ },
    { description: 'metadata that is not JSON', given: params({ metadata: 'Payment to carol' }), reason: /^its metadata is not a JSON array$/ },
    { description: 'metadata that is an object', given: params({ metadata: '{"text/plain":"x"}' }), reason: /^its metadata is not a JSON array$/ },
    { description: 'a metadata entry that is not a pair', given: params({ metadata: '[["text/plain","x"],"y"]' }), reason: /not a \[type, content\] pair/ },
    { description: 'a metadata entry whose type is not a string', given: params({ metadata: '[["text/plain","x"],[7,"y"]]' }), reason: /not a \[type, content\] pair/ },
    { description: 'no text/plain entry', given: params({ metadata: '[["text/identifier","carol@shop.example"]]' }), reason: /^its metadata has 0 text\/plain entries, not exactly one$/ },
    { description: 'two text/plain entries', given: params({ metadata: '[["text/plain","a"],["text/plain","b"]]' }), reason: /has 2 text\/plain entries/ },
    { description: 'a text/plain that is not a string', given: params({ metadata: '[["text/plain",42]]' }), reason: /text\/plain entry is not a string/ },
    {
      description: `metadata over ${LNURL_MAX_METADATA_BYTES} bytes`,
      given: params({ metadata: JSON.stringify([['text/plain', 'x'.repeat(LNURL_MAX_METADATA_BYTES - 19 + 1)]]) }),
      reason: new RegExp(`^its metadata is ${LNURL_MAX_METADATA_BYTES + 1} bytes, more than rdv reads \\(${LNURL_MAX_METADATA_BYTES}\\)$`),
    },
  ];
  for (const c of malformed) {
    test(`malformed: ${c.description}`, () => {
      const r = parsePayParams(c.given, c.from === undefined ? undefined : new URL(c.from));
      if (r.ok || r.error.kind !== 'malformed') assert.fail(`expected malformed, got ${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
      assert.match(r.error.reason, c.reason);
    });
  }
});

describe('callbackUrl (LUD-06 step 4)', () => {
  const cases: Array<{ description: string; callback: string; expected: string }> = [
    { description: 'no query: ?amount=', callback: 'https://shop.example/cb', expected: 'https://shop.example/cb?amount=106039024' },
    { description: 'its own query kept byte for byte: &amount=', callback: CALLBACK, expected: `${CALLBACK}&amount=106039024` },
    { description: 'a bare ? : ?amount=', callback: 'https://shop.example/cb?', expected: 'https://shop.example/cb?amount=106039024' },
    { description: 'a fragment is dropped', callback: 'https://shop.example/cb?k=v#frag', expected: 'https://shop.example/cb?k=v&amount=106039024' },
  ];
  for (const c of cases) test(c.description, () => assert.equal(callbackUrl({ callback: c.callback }, msat(106_039_024n)), c.expected));
});

describe('parseCallbackAnswer (LUD-06 step 5)', () => {
  const PR = carolInvoice().bolt11;
  const cases: Array<{ description: string; given: unknown; expected: unknown }> = [
    { description: 'pr and routes', given: { pr: PR, routes: [] }, expected: { ok: true, value: { pr: PR } } },
    { description: 'pr in upper case behind lightning:', given: { pr: `LIGHTNING:${PR.toUpperCase()}` }, expected: { ok: true, value: { pr: PR.toUpperCase() } } },
    { description: 'an LNURL error', given: '{"status":"ERROR","reason":"Amount too large for carol"}', expected: { ok: false, error: { kind: 'refused', reason: 'Amount too large for carol' } } },
    { description: 'no pr', given: { routes: [] }, expected: { ok: false, error: { kind: 'malformed', reason: 'its answer has no invoice (pr)' } } },
    { description: 'pr that is a number', given: { pr: 42 }, expected: { ok: false, error: { kind: 'malformed', reason: 'its answer has no invoice (pr)' } } },
    { description: 'pr that is not an invoice', given: { pr: 'thank you' }, expected: { ok: false, error: { kind: 'malformed', reason: 'its answer\'s pr "thank you" is not a BOLT 11 invoice' } } },
    { description: 'not JSON', given: 'OK', expected: { ok: false, error: { kind: 'malformed', reason: 'the answer is not JSON' } } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(parseCallbackAnswer(c.given), c.expected));
});

describe('checkPulledInvoice (LUD-06 steps 6 and 7, and what a relay needs)', () => {
  const D = msat(106_039_024n);
  const good = carolInvoice({ amountMsat: D, description: undefined, descriptionHash: metadataHash(META) });
  const want = (over: Partial<PulledInvoiceWant> = {}): PulledInvoiceWant => ({
    amountMsat: D,
    metadata: META,
    network: 'regtest',
    ourNodeId: BOB,
    now: NOW,
    minLifeSeconds: 660,
    from: 'carol@shop.example',
    ...over,
  });
  // carolInvoice: made at NOW - 101, lives 7,201 s: 7,100 s left at NOW.
  const cases: Array<{ description: string; invoice: Invoice; want: PulledInvoiceWant; expected: string | undefined }> = [
    { description: 'the invoice a careful wallet pays', invoice: good, want: want(), expected: undefined },
    { description: 'exactly minLifeSeconds left is enough', invoice: good, want: want({ minLifeSeconds: 7_100 }), expected: undefined },
    {
      description: 'another network',
      invoice: good,
      want: want({ network: 'bitcoin' }),
      expected: 'carol@shop.example sent an invoice for regtest (prefix lnbcrt), but this node runs on bitcoin',
    },
    {
      description: 'one msat more than asked',
      invoice: carolInvoice({ amountMsat: msat(D + 1n), description: undefined, descriptionHash: metadataHash(META) }),
      want: want(),
      expected: 'carol@shop.example sent an invoice for 106039025 msat, not the 106039024 msat asked',
    },
    {
      description: 'one msat less than asked',
      invoice: carolInvoice({ amountMsat: msat(D - 1n), description: undefined, descriptionHash: metadataHash(META) }),
      want: want(),
      expected: 'carol@shop.example sent an invoice for 106039023 msat, not the 106039024 msat asked',
    },
    {
      description: 'no amount',
      invoice: { ...good, amountMsat: undefined },
      want: want(),
      expected: 'carol@shop.example sent an invoice with no amount, not one for the 106039024 msat asked',
    },
    {
      description: 'a description instead of its hash',
      invoice: carolInvoice({ amountMsat: D }),
      want: want(),
      expected: 'carol@shop.example sent an invoice with no description hash, so it is not tied to the metadata it served (LUD-06)',
    },
    {
      description: 'the hash of other metadata',
      invoice: carolInvoice({ amountMsat: D, description: undefined, descriptionHash: metadataHash(`${META} `) }),
      want: want(),
      expected: `carol@shop.example sent an invoice whose description hash ${metadataHash(`${META} `).slice(0, 8)}… is not sha256 of the metadata it served (${metadataHash(META).slice(0, 8)}…)`,
    },
    {
      description: 'no payment secret',
      invoice: { ...good, paymentSecret: undefined },
      want: want(),
      expected: 'carol@shop.example sent an invoice without a payment secret, which cannot be relayed safely',
    },
    {
      description: 'payable to this node',
      invoice: good,
      want: want({ ourNodeId: CAROL }),
      expected: "carol@shop.example sent an invoice payable to this node itself: the address must be the next payee's, not this node's",
    },
    {
      description: 'expired a second ago',
      invoice: good,
      want: want({ now: good.expiresAt + 1 }),
      expected: `carol@shop.example sent an invoice that expired at ${new Date(good.expiresAt * 1000).toISOString().replace('.000Z', 'Z')}`,
    },
    {
      description: 'expiring this very second',
      invoice: good,
      want: want({ now: good.expiresAt }),
      expected: `carol@shop.example sent an invoice that expired at ${new Date(good.expiresAt * 1000).toISOString().replace('.000Z', 'Z')}`,
    },
    {
      description: 'one second short of minLifeSeconds',
      invoice: good,
      want: want({ minLifeSeconds: 7_101 }),
      expected: 'carol@shop.example sent an invoice that expires in 7100 s, too soon: rdv needs at least 7101 s to relay it',
    },
    {
      description: 'the sender is named as given (a domain)',
      invoice: { ...good, amountMsat: msat(7n) },
      want: want({ from: 'shop.example/lnurlp/carol' }),
      expected: 'shop.example/lnurlp/carol sent an invoice for 7 msat, not the 106039024 msat asked',
    },
  ];
  for (const c of cases) test(c.description, () => assert.equal(checkPulledInvoice(c.invoice, c.want), c.expected));
});
