/**
 * fetchinvoice and decode at the RPC edge (src/rpc/node/offers.ts): CLN's real
 * errors (test/fixtures/bolt12/) become typed problems, never exceptions.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import { RpcError, type Rpc } from '../../src/rpc/client.js';
import { decodeBolt12Invoice, fetchinvoice, type FetchInvoiceProblem } from '../../src/rpc/node/offers.js';
import { bolt12Fixture } from '../helpers/paths.js';

/** A connection whose every call gets this fixture: a reply, or (with `code`) CLN's error. */
function answering(name: string): Rpc & { calls: Array<{ method: string; params: Record<string, unknown> | undefined }> } {
  const reply = bolt12Fixture(name) as { code?: number; message?: string; data?: unknown };
  const calls: Array<{ method: string; params: Record<string, unknown> | undefined }> = [];
  return {
    socketPath: '/nowhere',
    calls,
    call: (method, params) => {
      calls.push({ method, params });
      return reply.code !== undefined ? Promise.reject(new RpcError(method, reply.code, String(reply.message), reply.data)) : Promise.resolve(reply);
    },
    close: () => undefined,
  };
}

describe('fetchinvoice: each real error becomes a typed problem', () => {
  const cases: Array<{ description: string; given: string; expected: Pick<FetchInvoiceProblem, 'kind' | 'code'>; message: RegExp }> = [
    { description: 'an expired offer', given: 'rpc-fetchinvoice-expired-error.json', expected: { kind: 'expired', code: 1002 }, message: /^Offer expired$/ },
    { description: 'an issuer nobody can reach', given: 'rpc-fetchinvoice-unreachable-error.json', expected: { kind: 'unreachable', code: 1003 }, message: /^Failed: could not route or connect directly to 03d5f27c/ },
    { description: 'a disabled offer (the issuer says so)', given: 'rpc-fetchinvoice-disabled-error.json', expected: { kind: 'refused', code: 1004 }, message: /^Remote node sent failure message$/ },
    { description: 'less than a fixed amount', given: 'rpc-fetchinvoice-fixed-less-error.json', expected: { kind: 'refused', code: 1004 }, message: /^Remote node sent failure message$/ },
    { description: 'no amount for an any-amount offer', given: 'rpc-fetchinvoice-no-amount-error.json', expected: { kind: 'input', code: -32602 }, message: /^amount_msat parameter required$/ },
  ];
  for (const c of cases) {
    test(c.description, async () => {
      const r = await fetchinvoice(answering(c.given), { offer: 'lno1x', amountMsat: msat(1_000_000n) });
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.deepEqual({ kind: r.error.kind, code: r.error.code }, c.expected);
      assert.match(r.error.message, c.message);
    });
  }

  test('an invoice: its string, asked for exactly the amount given', async () => {
    const rpc = answering('rpc-fetchinvoice-any.json');
    const r = await fetchinvoice(rpc, { offer: 'lno1x', amountMsat: msat(100_000_123n), timeoutSeconds: 20 });
    assert.deepEqual(r, { ok: true, value: (bolt12Fixture('rpc-fetchinvoice-any.json') as { invoice: string }).invoice });
    assert.deepEqual(rpc.calls, [{ method: 'fetchinvoice', params: { offer: 'lno1x', amount_msat: 100_000_123n, timeout: 20, payer_note: undefined } }]);
  });
});

test('decode of an invoice with a bad signature: one line, without the whole string CLN quotes', async () => {
  const r = await decodeBolt12Invoice(answering('rpc-decode-invoice-bad-signature.json'), 'lni1x');
  assert.deepEqual(r, { ok: false, error: 'lightningd cannot decode the BOLT 12 invoice: string: Invalid signature' });
});
