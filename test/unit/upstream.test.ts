/** closingUpstreamWarnings: what rdv status says about held parts whose channel is closing (src/chain/upstream.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { closingUpstreamWarnings, type ChannelState } from '../../src/chain/upstream.js';
import { makeRecord } from '../helpers/builders.js';

const part = { scid: '110x1x0', id: '7', channelId: 'c4'.repeat(32), amountMsat: msat(106_000_000n), cltvExpiry: 1_312 };
const paying = makeRecord({ state: 'paying', parts: [part] });
const channel = (state: string, over: Partial<ChannelState> = {}): ChannelState => ({ channelId: 'c4'.repeat(32), scid: '118x1x0', localAlias: '10503233x174532x55000', state, ...over });

describe('closingUpstreamWarnings', () => {
  const cases: Array<{ description: string; channels: ChannelState[]; warns: RegExp | undefined }> = [
    { description: 'a normal channel (found by channel_id after its scid changed): no warning', channels: [channel('CHANNELD_NORMAL')], warns: undefined },
    { description: 'a channel awaiting a splice still replays: no warning', channels: [channel('CHANNELD_AWAITING_SPLICE')], warns: undefined },
    { description: 'a unilateral close in progress', channels: [channel('AWAITING_UNILATERAL')], warns: /incoming part c4c4.*\/7 is AWAITING_UNILATERAL: do not restart lightningd/ },
    { description: 'onchain', channels: [channel('ONCHAIN')], warns: /is ONCHAIN/ },
    { description: 'a channel lightningd no longer lists', channels: [], warns: /is gone/ },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const w = closingUpstreamWarnings([paying], c.channels);
      if (c.warns) {
        assert.equal(w.length, 1);
        assert.match(w[0] ?? '', c.warns);
      } else assert.deepEqual(w, []);
    });
  }
  test('settled and open relays hold nothing to warn about', () => {
    assert.deepEqual(closingUpstreamWarnings([makeRecord({ state: 'settled', parts: [part] }), makeRecord({ state: 'open' })], []), []);
  });
});
