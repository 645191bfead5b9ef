/** Pure helpers of the node wrapper (src/rpc/node.ts): which CLN rdv runs on, and which xpay errors are final. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcError } from '../../src/rpc/client.js';
import { msat } from '../../src/chain/amount.js';
import { LightningNode, MIN_CLN_VERSION, classifyPayError, isSupportedVersion, parseClnVersion } from '../../src/rpc/node.js';
import { fixture } from '../helpers/paths.js';

describe('parseClnVersion', () => {
  const cases: Array<{ description: string; given: string; expected: { major: number; minor: number } | undefined }> = [
    { description: 'a release', given: 'v26.06.6', expected: { major: 26, minor: 6 } },
    { description: 'without a point release', given: 'v25.02', expected: { major: 25, minor: 2 } },
    { description: 'a release candidate', given: 'v25.02rc1', expected: { major: 25, minor: 2 } },
    { description: 'a modded build', given: 'v24.11.1-modded', expected: { major: 24, minor: 11 } },
    { description: 'a git describe version', given: 'v25.05-7-gabc1234-modded', expected: { major: 25, minor: 5 } },
    { description: 'without the v', given: '25.09', expected: { major: 25, minor: 9 } },
    { description: 'not a version', given: 'unknown', expected: undefined },
    { description: 'only a major number', given: 'v26', expected: undefined },
    { description: 'empty', given: '', expected: undefined },
  ];
  for (const c of cases) test(`${c.description}: "${c.given}"`, () => assert.deepEqual(parseClnVersion(c.given), c.expected));
});

describe('isSupportedVersion: CLN v25.02 or newer (signinvoice, xpay maxdelay, decode)', () => {
  test('the minimum is v25.02', () => assert.deepEqual(MIN_CLN_VERSION, { major: 25, minor: 2 }));

  const cases: Array<{ description: string; given: string; expected: boolean }> = [
    { description: 'exactly v25.02', given: 'v25.02', expected: true },
    { description: 'a v25.02 release candidate', given: 'v25.02rc3', expected: true },
    { description: 'a modded v25.02 point release', given: 'v25.02.2-modded', expected: true },
    { description: 'v25.05', given: 'v25.05', expected: true },
    { description: 'v26.06.6, where the fixtures come from', given: (fixture('rpc-getinfo.json') as { version: string }).version, expected: true },
    { description: 'a far future v100.01', given: 'v100.01', expected: true },
    { description: 'v24.11 is refused', given: 'v24.11', expected: false },
    { description: 'a modded v24.11.1 is refused', given: 'v24.11.1-modded', expected: false },
    { description: 'v25.01 (never released) is refused', given: 'v25.01', expected: false },
    { description: 'v23.08 is refused', given: 'v23.08.1', expected: false },
    { description: 'an unparseable version is refused', given: 'unknown', expected: false },
  ];
  for (const c of cases) test(`${c.description}: ${c.given} -> ${c.expected ? 'supported' : 'refused'}`, () => assert.equal(isSupportedVersion(c.given), c.expected));
});

describe('classifyPayError: only a failure xpay itself reports is definite (rule 7)', () => {
  const rpc = (code: number, message: string): RpcError => new RpcError('xpay', code, message, undefined);
  const deleted = fixture('rpc-xpay-error-invoice-deleted.json') as { code: number; message: string };

  const cases: Array<{ description: string; given: unknown; expected: { definite: boolean; message: RegExp } }> = [
    {
      description: "203, the destination refused (CLN's captured error) is definite",
      given: rpc(deleted.code, deleted.message),
      expected: { definite: true, message: /^Destination said it doesn't know invoice: incorrect_or_unknown_payment_details \(code 203\)$/ },
    },
    { description: '205, no route is definite', given: rpc(205, 'Failed: no route'), expected: { definite: true, message: /\(code 205\)/ } },
    { description: '209, gave up after retries is definite', given: rpc(209, 'Failed after 7 attempts'), expected: { definite: true, message: /\(code 209\)/ } },
    { description: '-3, "still in progress" after a restart is not definite', given: rpc(-3, 'Payment for 9f9f… still in progress, cannot retry before that completes'), expected: { definite: false, message: /still in progress.*\(code -3\)/ } },
    { description: '219, already paid is not a failure (take the preimage from listsendpays)', given: rpc(219, 'Already paid this invoice successfully'), expected: { definite: false, message: /\(code 219\)/ } },
    { description: '200, payment in progress is not definite', given: rpc(200, 'In progress'), expected: { definite: false, message: /\(code 200\)/ } },
    { description: '-4, the plugin died is not definite', given: rpc(-4, 'Plugin terminated before replying'), expected: { definite: false, message: /\(code -4\)/ } },
    { description: '-5, lightningd shutting down is not definite', given: rpc(-5, 'lightningd is shutting down'), expected: { definite: false, message: /\(code -5\)/ } },
    { description: 'a lost connection (not an RpcError) is not definite', given: new Error('lightningd closed the RPC connection'), expected: { definite: false, message: /^lightningd closed the RPC connection$/ } },
    { description: 'a thrown string is not definite', given: 'socket hang up', expected: { definite: false, message: /^socket hang up$/ } },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = classifyPayError(c.given);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.definite, c.expected.definite);
      assert.match(r.message, c.expected.message);
    });
  }
});

describe("xpay's xpayEnded: is xpay's command over, or may it still be routing with its layers?", () => {
  const rpc = (code: number, message: string): RpcError => new RpcError('xpay', code, message, undefined);
  /** A node whose one xpay call ends as `outcome` says. */
  const nodeAnswering = (outcome: () => Promise<unknown>): LightningNode => new LightningNode({ socketPath: '/nowhere', call: outcome, close: () => undefined });
  const xpay = (node: LightningNode) => node.xpay({ invstring: 'lnbcrt1m1carol', maxfeeMsat: msat(1_000_000n), maxdelay: 144, retryForSeconds: 60, layers: ['rdv-x'] });
  const preimage = 'a1'.repeat(32);

  const cases: Array<{ description: string; given: () => Promise<unknown>; expected: boolean }> = [
    { description: 'paid: over', given: async () => ({ payment_preimage: preimage, amount_msat: 100_000_000, amount_sent_msat: 100_000_011, failed_parts: 0, successful_parts: 1 }), expected: true },
    { description: 'paid, in a shape rdv cannot read: over', given: async () => ({ payment_preimage: 'zz' }), expected: true },
    { description: '205 no route, from xpay: over', given: async () => Promise.reject(rpc(205, 'Failed: no route')), expected: true },
    { description: '-3 still in progress, from xpay: over (this call did not start)', given: async () => Promise.reject(rpc(-3, 'still in progress, cannot retry before that completes')), expected: true },
    { description: '219 already paid: over', given: async () => Promise.reject(rpc(219, 'Already paid this invoice successfully')), expected: true },
    { description: '-4 the xpay plugin died: maybe not (a getroutes it started may still run)', given: async () => Promise.reject(rpc(-4, 'Plugin terminated before replying')), expected: false },
    { description: '-5 lightningd shutting down: maybe not', given: async () => Promise.reject(rpc(-5, 'lightningd is shutting down')), expected: false },
    { description: 'the connection dropped: maybe not (lightningd runs the command on)', given: async () => Promise.reject(new Error('lightningd closed the RPC connection')), expected: false },
  ];
  for (const c of cases) test(c.description, async () => assert.equal((await xpay(nodeAnswering(c.given))).xpayEnded, c.expected));
});
