/**
 * The policy tests' network, payer --- alice --- bob --- carol (2,000,000 sat
 * channels), with Alice and Bob as relays (rdv, rdv-guard, important); the payer
 * and Carol load rdv or not as a test needs. And the payer's xpay of a first invoice.
 */
import { msat } from '../../src/chain/amount.js';
import { LightningNode } from '../../src/rpc/node.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';

export interface FourNodes {
  payer: SimNode;
  alice: SimNode;
  bob: SimNode;
  carol: SimNode;
}

export async function fourNodes(net: SimNetwork, o: { payerRdv?: boolean; carolRdv?: boolean } = {}): Promise<FourNodes> {
  const payer = await net.addNode('payer', o.payerRdv ? { plugin: true } : {});
  const alice = await net.addNode('alice', { plugin: true, guard: true, important: true });
  const bob = await net.addNode('bob', { plugin: true, guard: true, important: true });
  const carol = await net.addNode('carol', (o.carolRdv ?? true) ? { plugin: true } : {});
  net.openChannel(payer, alice, 2_000_000n);
  net.openChannel(alice, bob, 2_000_000n);
  net.openChannel(bob, carol, 2_000_000n);
  return { payer, alice, bob, carol };
}

/** `node` pays `bolt11` with xpay (fees up to 10,000 sat, 5 s of retries). */
export async function xpayFrom(node: SimNode, bolt11: string): Promise<void> {
  const client = await LightningNode.connect(node.socketPath);
  try {
    await client.xpay({ invstring: bolt11, maxfeeMsat: msat(10_000_000n), maxdelay: 2016, retryForSeconds: 5 });
  } finally {
    client.close();
  }
}
