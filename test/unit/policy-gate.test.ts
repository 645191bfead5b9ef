/**
 * The plugin's counts behind the policies' bounds (src/relay/policy-gate.ts): joins
 * under way count as open, the rate window slides with the time passed in, and a
 * delivery is reserved for a policy with --pass-to until it ends. The decision
 * itself is admitJoin's (test/unit/policy.test.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { NodeId } from '../../src/chain/ids.js';
import { MAX_DELIVERIES, type Policy } from '../../src/chain/policy/policy.js';
import { PolicyGate, type JoinTicket } from '../../src/relay/policy-gate.js';
import { CAROL, NOW } from '../helpers/builders.js';

const ALICE = `02${'a1'.repeat(32)}` as NodeId;
const makePolicy = (over: Partial<Policy> = {}): Policy => ({
  id: '5e1f0c2a', from: CAROL, payout: { kind: 'percent', ppm: 20_000n }, feeBudget: { kind: 'fixed', msat: msat(1_234n) }, delayBudget: 80, createdAt: NOW - 77, ...over,
});

/** A gate at a time the test moves, with `open` relays the runner holds per policy. */
function gateAt(open: Record<string, number> = {}): { gate: PolicyGate; clock: { ms: number } } {
  const clock = { ms: NOW * 1000 };
  return { gate: new PolicyGate({ nowMs: () => clock.ms, openJoinedBy: (id) => open[id] ?? 0 }), clock };
}

function admitted(gate: PolicyGate, p: Policy): JoinTicket {
  const t = gate.admit(p);
  assert.ok(t.ok, t.ok ? '' : t.error);
  return t.value;
}

describe('PolicyGate', () => {
  test('joins under way count as open: 3 under way and 2 open reach --max-open 5; one ending lets the next through', () => {
    const p = makePolicy({ bounds: { maxOpen: 5 } });
    const { gate } = gateAt({ '5e1f0c2a': 2 });
    const tickets = [admitted(gate, p), admitted(gate, p), admitted(gate, p)];
    const sixth = gate.admit(p);
    assert.equal(sixth.ok, false);
    if (!sixth.ok) assert.match(sixth.error, /^5 relays it joined are open and unpaid, its limit \(--max-open 5\)/);
    tickets[0]?.end();
    tickets[0]?.end(); // twice: counted once
    admitted(gate, p);
    assert.equal(gate.admit(p).ok, false);
    assert.equal(gate.stats().joins_under_way, 3);
  });

  test('--max-per-minute 3: the 4th in the minute is refused, and let through once the first is a minute old; a refusal uses no token', () => {
    const p = makePolicy({ bounds: { maxPerMinute: 3 } });
    const { gate, clock } = gateAt();
    for (let i = 0; i < 3; i++) {
      admitted(gate, p).end();
      clock.ms += 7_000;
    }
    const fourth = gate.admit(p);
    assert.equal(fourth.ok, false);
    if (!fourth.ok) assert.match(fourth.error, /^3 joins began in the last minute, its limit \(--max-per-minute 3\): try again in 39 s$/);
    clock.ms = NOW * 1000 + 60_000;
    admitted(gate, p).end();
    assert.equal(gate.admit(p).ok, false, 'the 2nd and 3rd are still in the window, with the one just let through');
  });

  test('each policy has its own window: Carol\'s flood does not stop Dave\'s pass-backs', () => {
    const carol = makePolicy({ bounds: { maxPerMinute: 1 } });
    const dave = makePolicy({ id: '0d4e9b17', from: `03${'d4'.repeat(32)}` as NodeId, bounds: { maxPerMinute: 1 } });
    const { gate } = gateAt();
    admitted(gate, carol).end();
    assert.equal(gate.admit(carol).ok, false);
    admitted(gate, dave).end();
  });

  test(`deliveries: ${MAX_DELIVERIES} reserved across policies with --pass-to refuse the next such join, not one without; ending one frees a place`, () => {
    const passing = makePolicy({ passTo: { id: ALICE } });
    const keeping = makePolicy({ id: '0d4e9b17', from: `03${'d4'.repeat(32)}` as NodeId });
    const { gate } = gateAt();
    const tickets = Array.from({ length: MAX_DELIVERIES }, () => admitted(gate, passing));
    for (const t of tickets) t.end();
    assert.equal(gate.stats().deliveries, MAX_DELIVERIES);
    const next = gate.admit(passing);
    assert.equal(next.ok, false);
    if (!next.ok) assert.match(next.error, /invoices are being passed on already/);
    admitted(gate, keeping).endDelivery(); // nothing reserved: nothing freed
    assert.equal(gate.stats().deliveries, MAX_DELIVERIES);
    tickets[3]?.endDelivery();
    tickets[3]?.endDelivery();
    assert.equal(gate.stats().deliveries, MAX_DELIVERIES - 1);
    admitted(gate, passing);
  });
});
