/**
 * rdv-request's and rdv-wrap's parameters (src/relay/plugin/methods.ts), by
 * position as lightning-cli sends them and by name as commando and rdv serve do;
 * a bad one is -32602 before anything is asked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { parseJson } from '../../src/chain/json.js';
import { requestParams, wrapParams, type RequestParams, type WrapParams } from '../../src/relay/plugin/methods.js';
import { PluginMethodError } from '../../src/rpc/plugin.js';

const H = 'ab'.repeat(32);

describe('requestParams', () => {
  const cases: Array<{ description: string; given: unknown; expected: RequestParams | RegExp }> = [
    { description: 'by position, as lightning-cli sends them', given: [108_690_000, '5e1f0c2a', 'a grinder'], expected: { amountMsat: msat(108_690_000n), via: '5e1f0c2a', description: 'a grinder', timeoutSeconds: 30 } },
    { description: 'by name, every one', given: { amount_msat: 7_001, via: ' 5e1f0c2a ', description: '', description_hash: H.toUpperCase(), timeout: 9 }, expected: { amountMsat: msat(7_001n), via: '5e1f0c2a', description: '', descriptionHash: H, timeoutSeconds: 9 } },
    { description: 'an amount as a string of msat', given: { amount_msat: '108690000', via: 'x' }, expected: { amountMsat: msat(108_690_000n), via: 'x', timeoutSeconds: 30 } },
    { description: 'an amount with a unit', given: { amount_msat: '102000sat', via: 'x' }, expected: { amountMsat: msat(102_000_000n), via: 'x', timeoutSeconds: 30 } },
    { description: 'an amount past 2^53 msat, parsed exactly', given: parseJson('{"amount_msat": 9007199254740993, "via": "x"}'), expected: { amountMsat: msat(9_007_199_254_740_993n), via: 'x', timeoutSeconds: 30 } },
    { description: 'nulls for the optional ones, by position', given: [1, 'x', null, null, null], expected: { amountMsat: msat(1n), via: 'x', timeoutSeconds: 30 } },
    { description: 'no amount', given: { via: 'x' }, expected: /amount_msat must be a positive whole number of msat/ },
    { description: 'a zero amount', given: [0, 'x'], expected: /amount_msat must be a positive/ },
    { description: 'a negative amount', given: [-5, 'x'], expected: /amount_msat must be a positive/ },
    { description: 'a fractional amount', given: [1.5, 'x'], expected: /amount_msat must be a positive/ },
    { description: 'more than 21 million BTC', given: ['2100000000000000001', 'x'], expected: /amount_msat must be a positive/ },
    { description: 'no via', given: [1_000], expected: /via must name a relay policy/ },
    { description: 'an empty via', given: [1_000, '  '], expected: /via must name a relay policy/ },
    { description: 'a description over 639 bytes', given: [1_000, 'x', 'é'.repeat(320)], expected: /description is over 639 bytes/ },
    { description: 'a description hash of 63 digits', given: [1_000, 'x', null, H.slice(1)], expected: /description_hash must be 64 hex digits/ },
    { description: 'a timeout of 4 s', given: [1_000, 'x', null, null, 4], expected: /timeout must be a whole number of seconds from 5 to 60/ },
    { description: 'a timeout of 61 s', given: { amount_msat: 1_000, via: 'x', timeout: 61 }, expected: /from 5 to 60/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      if (c.expected instanceof RegExp) {
        const re = c.expected;
        assert.throws(() => requestParams(c.given), (e: unknown) => e instanceof PluginMethodError && e.code === -32602 && re.test(e.message));
      } else assert.deepEqual(requestParams(c.given), c.expected);
    });
  }
});

describe('wrapParams', () => {
  const INV = 'lnbcrt1005u1pjexample0';
  const cases: Array<{ description: string; given: unknown; expected: WrapParams | RegExp }> = [
    { description: 'by position: invoice and policy', given: [INV, '77AA0C2B'], expected: { invoice: INV, policy: '77aa0c2b' } },
    { description: 'by name, as rdv serve sends them: routing_msat as a number', given: { invoice: INV, policy: '77aa0c2b', routing_msat: 1_005_003, description: 'order 42' }, expected: { invoice: INV, policy: '77aa0c2b', routingMsat: msat(1_005_003n), description: 'order 42' } },
    { description: 'routing_msat as a string (lnproxy sends one)', given: { invoice: INV, policy: '77aa0c2b', routing_msat: '1005003', description_hash: H.toUpperCase() }, expected: { invoice: INV, policy: '77aa0c2b', routingMsat: msat(1_005_003n), descriptionHash: H } },
    { description: 'nulls for the optional ones', given: [INV, '77aa0c2b', null, null, null], expected: { invoice: INV, policy: '77aa0c2b' } },
    { description: 'not an invoice', given: ['hello', '77aa0c2b'], expected: /invoice must be a BOLT 11 invoice/ },
    { description: 'a node id for a policy', given: [INV, `02${'c3'.repeat(32)}`], expected: /policy must be a relay policy id/ },
    { description: 'routing_msat 0', given: [INV, '77aa0c2b', 0], expected: /routing_msat must be a positive whole number/ },
    { description: 'routing_msat fractional', given: [INV, '77aa0c2b', '1.5'], expected: /routing_msat must be a positive whole number/ },
    { description: 'a description over 639 bytes', given: [INV, '77aa0c2b', null, 'é'.repeat(320)], expected: /description is over 639 bytes/ },
    { description: 'both a description and its hash', given: { invoice: INV, policy: '77aa0c2b', description: 'a', description_hash: H }, expected: /not both/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      if (c.expected instanceof RegExp) {
        const re = c.expected;
        assert.throws(() => wrapParams(c.given), (e: unknown) => e instanceof PluginMethodError && e.code === -32602 && re.test(e.message));
      } else assert.deepEqual(wrapParams(c.given), c.expected);
    });
  }
});
