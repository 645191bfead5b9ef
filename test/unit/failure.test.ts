/** BOLT 4 failure messages rdv returns from htlc_accepted (src/chain/failure.ts), byte for byte. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { FAILURE_CODE, failureCodeOf, finalIncorrectCltvExpiry, finalIncorrectHtlcAmount, invalidOnionPayload, mppTimeout, temporaryNodeFailure, unknownPaymentDetails } from '../../src/chain/failure.js';

describe('failure messages', () => {
  const cases: Array<{ description: string; given: () => string; expected: string }> = [
    {
      description: 'incorrect_or_unknown_payment_details is PERM|15 (400f), u64 htlc_msat, u32 height',
      given: () => unknownPaymentDetails(msat(106_013_000n), 1_231),
      expected: '400f' + '000000000651a148' + '000004cf',
    },
    { description: 'htlc_msat of 1 msat at height 0', given: () => unknownPaymentDetails(msat(1n), 0), expected: '400f' + '0000000000000001' + '00000000' },
    {
      description: 'htlc_msat past 2^53 and the largest u32 height stay exact',
      given: () => unknownPaymentDetails(msat(2_100_000_000_000_000_000n), 4_294_967_295),
      expected: '400f' + '1d24b2dfac520000' + 'ffffffff',
    },
    { description: 'mpp_timeout is 0017 with no data', given: mppTimeout, expected: '0017' },
    { description: 'temporary_node_failure is NODE|2 (2002) with no data', given: temporaryNodeFailure, expected: '2002' },
    { description: 'final_incorrect_htlc_amount is 19 (0013), u64 incoming_htlc_amt', given: () => finalIncorrectHtlcAmount(msat(106_013_000n)), expected: '0013' + '000000000651a148' },
    { description: 'final_incorrect_cltv_expiry is 18 (0012), u32 cltv_expiry', given: () => finalIncorrectCltvExpiry(1_312), expected: '0012' + '00000520' },
    { description: 'invalid_onion_payload for payment_metadata is PERM|22 (4016), bigsize 16, u16 offset 0', given: () => invalidOnionPayload(16, 0), expected: '4016' + '10' + '0000' },
  ];
  for (const c of cases) test(`${c.description}: ${c.expected}`, () => assert.equal(c.given(), c.expected));

  const codes: Array<{ description: string; given: string; expected: number }> = [
    { description: 'incorrect_or_unknown_payment_details', given: unknownPaymentDetails(msat(106_013_000n), 1_231), expected: FAILURE_CODE.incorrectOrUnknownPaymentDetails },
    { description: 'mpp_timeout', given: mppTimeout(), expected: 23 },
    { description: 'temporary_node_failure', given: temporaryNodeFailure(), expected: 0x2002 },
    { description: 'upper-case hex', given: '400F', expected: 0x400f },
  ];
  for (const c of codes) test(`failureCodeOf reads the code of ${c.description}: ${c.expected}`, () => assert.equal(failureCodeOf(c.given), c.expected));

  test('the codes are the BOLT 4 values', () => {
    assert.deepEqual(FAILURE_CODE, {
      incorrectOrUnknownPaymentDetails: 0x400f,
      mppTimeout: 0x0017,
      temporaryNodeFailure: 0x2002,
      finalIncorrectCltvExpiry: 0x0012,
      finalIncorrectHtlcAmount: 0x0013,
      invalidOnionPayload: 0x4016,
    });
  });
});
