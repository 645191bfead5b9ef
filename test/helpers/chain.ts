/**
 * The story of DESIGN.md on a simulated network: payer -> Alice -> Bob -> Carol.
 * Carol makes her invoice, each relay joins over the next one's with the CLI.
 */
import assert from 'node:assert/strict';
import type { SimNetwork, SimChannel } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { LightningNode } from '../../src/rpc/node.js';
import { parseRecord, relayKey, type RelayRecord } from '../../src/chain/record.js';
import type { PayResult } from '../../src/chain/relay/types.js';
import type { Msat } from '../../src/chain/amount.js';
import { auditPayment, type PaymentVerdict } from '../../src/simnet/soak/audit.js';
import { at, runRdv } from './rdv.js';

export interface Chain {
  payer: SimNode;
  alice: SimNode;
  bob: SimNode;
  carol: SimNode;
  channels: SimChannel[];
  hash: string;
  /** The invoice the payer sees (Alice's). */
  bolt11: string;
  carolBolt11: string;
}

export interface ChainOptions {
  /** Channels from the payer to Alice (several small ones force multi-part payments). */
  payerChannelsSat?: bigint[];
  /** Open the payer's channels to Alice zero-conf: no real scid until `channel.confirm()`. */
  payerZeroConf?: boolean;
  amount?: string;
  aliceImportant?: boolean;
  bobImportant?: boolean;
  /** Load rdv-guard on Bob's node (default true). */
  bobGuard?: boolean;
  delayBudget?: string;
}

async function rdvJson<T>(node: SimNode, args: string[]): Promise<T> {
  const r = await runRdv([...at(node), '--json', ...args]);
  assert.equal(r.code, 0, `rdv ${args.join(' ')} on ${node.name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export async function buildChain(net: SimNetwork, o: ChainOptions = {}): Promise<Chain> {
  const payer = await net.addNode('payer');
  const alice = await net.addNode('alice', { plugin: true, important: o.aliceImportant ?? true });
  const bob = await net.addNode('bob', { plugin: true, important: o.bobImportant ?? true, guard: o.bobGuard ?? true });
  const carol = await net.addNode('carol', { plugin: true });
  const channels = [
    ...(o.payerChannelsSat ?? [2_000_000n]).map((sat) => net.openChannel(payer, alice, sat, { zeroConf: o.payerZeroConf ?? false })),
    net.openChannel(alice, bob, 2_000_000n),
    net.openChannel(bob, carol, 2_000_000n),
  ];
  const delay = o.delayBudget ?? '60';
  const c = await rdvJson<{ payment_hash: string; bolt11: string }>(carol, ['join', '--last', '--amount', o.amount ?? '100000sat', '--description', 'order 42']);
  const b = await rdvJson<{ bolt11: string }>(bob, ['join', '--invoice', c.bolt11, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', delay]);
  const a = await rdvJson<{ bolt11: string }>(alice, ['join', '--invoice', b.bolt11, '--payout', '2000sat', '--fee-budget', '1000sat', '--delay-budget', delay]);
  return { payer, alice, bob, carol, channels, hash: c.payment_hash, bolt11: a.bolt11, carolBolt11: c.bolt11 };
}

/** The payer pays Alice's invoice with xpay (through its own RPC socket, like lightning-cli). */
export async function pay(chain: Chain, opts: { retryFor?: number } = {}): Promise<PayResult> {
  const client = await LightningNode.connect(chain.payer.socketPath);
  try {
    return await client.xpay({ invstring: chain.bolt11, maxfeeMsat: 10_000_000n as Msat, maxdelay: 2016, retryForSeconds: opts.retryFor ?? 5 });
  } finally {
    client.close();
  }
}

/**
 * The soak's audit (money lost, expiries, each node's net) of the payment of a
 * chain built with buildChain's default terms: Carol 100 000 sat, Bob 5 000 sat
 * payout + 1 000 fee budget, Alice 2 000 + 1 000.
 */
export function auditChain(net: SimNetwork, chain: Chain): PaymentVerdict {
  return auditPayment(
    {
      paymentHash: chain.hash,
      names: { payer: chain.payer.name, alice: chain.alice.name, bob: chain.bob.name, carol: chain.carol.name },
      aliceAmountMsat: 109_000_000n,
      bobAmountMsat: 106_000_000n,
      carolAmountMsat: 100_000_000n,
      payoutMsat: { alice: 2_000_000n, bob: 5_000_000n },
      feeBudgetMsat: { alice: 1_000_000n, bob: 1_000_000n },
    },
    net.ledger.entries,
  );
}

export function relayRecord(node: SimNode, hash: string): RelayRecord {
  return parseRecord(node.datastore.get(relayKey(hash)) ?? '{}') as RelayRecord;
}

/**
 * The record once it reaches `state`: relays write "settled" just after resolving
 * (and "paying" just after xpay starts), so a test may look a moment too early.
 * After `timeoutMs` (a generous deadline for a busy machine, not a pace) it returns
 * the record as it is, for the test's assertion to say what the state was.
 */
export async function recordIn(node: SimNode, hash: string, state: RelayRecord['state'], timeoutMs = 30_000): Promise<RelayRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = relayRecord(node, hash);
    if (r.state === state || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}
