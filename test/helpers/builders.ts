/** Builders with defaults for domain tests: distinctive numbers so a failing case is obvious. */
import { createHash } from 'node:crypto';
import { msat } from '../../src/chain/amount.js';
import type { NodeId, PaymentHash, PaymentSecret, Preimage } from '../../src/chain/ids.js';
import type { RelayRecord } from '../../src/chain/record.js';
import { DEFAULT_RELAY_CONFIG, newRelay, type Ctx, type Effect, type IncomingPart, type Relay, type RelayEvent } from '../../src/chain/relay/types.js';
import { step } from '../../src/chain/relay/step.js';

export const PREIMAGE = 'a1'.repeat(32) as Preimage;
export const HASH = createHash('sha256').update(Buffer.from(PREIMAGE, 'hex')).digest('hex') as PaymentHash;
export const SECRET = 'b2'.repeat(32) as PaymentSecret;
export const CAROL = `02${'c3'.repeat(32)}` as NodeId;
export const NOW = 1_795_620_807;
export const HEIGHT = 1_231;

/** Bob's relay over Carol's 100,000 sat invoice: payout 5,000, fee budget 1,000, delay 60. */
export function makeRecord(over: Partial<RelayRecord> = {}): RelayRecord {
  return {
    version: 1,
    role: 'relay',
    paymentHash: HASH,
    bolt11: 'lnbcrt1060u1bob',
    downstreamInvoice: 'lnbcrt1m1carol',
    downstreamPayee: CAROL,
    downstreamAmountMsat: msat(100_000_000n),
    downstreamMinFinalCltv: 18,
    paymentSecret: SECRET,
    amountMsat: msat(106_000_000n),
    payoutMsat: msat(5_000_000n),
    feeBudgetMsat: msat(1_000_000n),
    delayBudget: 60,
    safetyMargin: 34,
    minFinalCltv: 78,
    expiresAt: NOW + 3_601,
    state: 'open',
    round: 0,
    parts: [],
    attempts: [],
    createdAt: NOW - 99,
    updatedAt: NOW - 99,
    ...over,
  };
}

let nextId = 7;
/** One final-hop part of `amount` msat, valid for makeRecord() at HEIGHT. */
export function makePart(over: Partial<IncomingPart> = {}): IncomingPart {
  const amountMsat = over.amountMsat ?? msat(106_000_000n);
  return {
    scid: '103x1x0',
    id: String(nextId++),
    amountMsat,
    cltvExpiry: HEIGHT + 81,
    height: HEIGHT,
    paymentSecret: SECRET,
    totalMsat: msat(106_000_000n),
    forwardMsat: amountMsat,
    outgoingCltv: HEIGHT + 81,
    paymentMetadata: undefined,
    ...over,
  };
}

export function makeCtx(over: Partial<Ctx> = {}): Ctx {
  return { now: NOW, height: HEIGHT, config: DEFAULT_RELAY_CONFIG, ...over };
}

export function makeRelay(over: Partial<RelayRecord> = {}, volatile: Partial<Relay> = {}): Relay {
  return { ...newRelay(makeRecord(over)), ...volatile };
}

/** The effects of one type, typed as that type. */
export const effectsOf = <T extends Effect['type']>(effects: Effect[], type: T): Array<Extract<Effect, { type: T }>> =>
  effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);

/** Step the relay through `events` in order: the last relay and every effect on the way. */
export function runSteps(relay: Relay, events: RelayEvent[], ctx: Ctx = makeCtx()): { relay: Relay; effects: Effect[] } {
  let r = relay;
  const all: Effect[] = [];
  for (const e of events) {
    const s = step(r, e, ctx);
    r = s.relay;
    all.push(...s.effects);
  }
  return { relay: r, effects: all };
}
