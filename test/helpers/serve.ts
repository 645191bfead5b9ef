/**
 * rdv serve over real HTTP on 127.0.0.1, in front of Alice's simulated
 * lightningd (the first payee). Her rdv-request is answered by a fake chain,
 * as the plugin would: an invoice signed by Alice's node for exactly the asked
 * amount, with `h` = the description hash asked for, and Alice's relay record
 * for it stored in her datastore (what LUD-21 verify reads). A test can hold
 * the chain's answers, refuse, or answer wrongly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { msat } from '../../src/chain/amount.js';
import type { PaymentHash, Preimage } from '../../src/chain/ids.js';
import type { PolicyInput } from '../../src/chain/policy/input.js';
import { parseRecord, relayKey, serializeRecord, type RelayRecord } from '../../src/chain/record.js';
import { LightningNode } from '../../src/rpc/node.js';
import { REQUEST_REFUSED } from '../../src/rpc/request.js';
import { parseServeInput, type ServeConfig, type ServeInput, type ServeLimits } from '../../src/serve/config.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import type { SimNetwork } from '../../src/simnet/network.js';
import type { SimNode } from '../../src/simnet/node.js';
import { SimRpcError } from '../../src/simnet/rpc-server.js';
import { nodeKeyFromSeed } from '../../src/simnet/keys.js';
import { makeRecord } from './builders.js';
import { makeInvoice } from './invoices.js';
import { setPolicies } from './policies.js';
import { withSimNet } from './sim.js';

export const POLICY_ID = '5e1f0c2a';
/** Bob, the next payee Alice's policy asks (only his node id is needed). */
export const BOB_ID = nodeKeyFromSeed('bob').id;

export interface Answered {
  bolt11: string;
  payment_hash: PaymentHash;
  amount_msat: bigint;
  expires_at: number;
  policy: string;
}

/** What the fake chain does with one rdv-request. */
export type ChainAnswer = (params: Record<string, unknown>) => Promise<unknown>;

export interface FakeChain {
  /** Every rdv-request Alice's node was asked, in order. */
  calls: Array<Record<string, unknown>>;
  /** How the next requests are answered (default: `invoiceFor`). */
  answer: ChainAnswer;
  /** The preimage of each hash the fake chain made an invoice for. */
  preimages: Map<string, Preimage>;
  /** The invoice the plugin would return for these params, with Alice's relay record stored. */
  invoiceFor: (params: Record<string, unknown>, over?: { amountMsat?: bigint; descriptionHash?: string | undefined; expirySeconds?: number }) => Answered;
  /** Make the payment of `hash` settled in Alice's record (as her plugin would once paid). */
  settle: (hash: string) => void;
}

export interface ServeWorld {
  net: SimNetwork;
  alice: SimNode;
  node: LightningNode;
  server: RunningServer;
  /** The config it runs with (to start another server on the same node). */
  config: ServeConfig;
  chain: FakeChain;
  /** rdv serve's log lines. */
  logs: string[];
  /** The server's base URL (http://127.0.0.1:<port>). */
  base: string;
}

const asBigint = (v: unknown): bigint => (typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : typeof v === 'string' ? BigInt(v) : -1n);

function fakeChain(alice: SimNode): FakeChain {
  const chain: FakeChain = {
    calls: [],
    preimages: new Map(),
    answer: async (params) => chain.invoiceFor(params),
    invoiceFor: (params, over = {}) => {
      const preimage = randomBytes(32).toString('hex') as Preimage;
      const paymentHash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') as PaymentHash;
      const amountMsat = over.amountMsat ?? asBigint(params.amount_msat);
      const descriptionHash = 'descriptionHash' in over ? over.descriptionHash : String(params.description_hash);
      const createdAt = Math.floor(Date.now() / 1000);
      const expirySeconds = over.expirySeconds ?? 3_600;
      const bolt11 = makeInvoice('alice', { amountMsat: msat(amountMsat), paymentHash, descriptionHash, description: descriptionHash === undefined ? 'no hash' : undefined, createdAt, expirySeconds });
      chain.preimages.set(paymentHash, preimage);
      const record = makeRecord({ paymentHash, bolt11, amountMsat: msat(amountMsat), expiresAt: createdAt + expirySeconds, createdAt, updatedAt: createdAt, policy: POLICY_ID });
      alice.datastore.datastore({ key: relayKey(paymentHash), string: serializeRecord(record), mode: 'must-create' });
      return { bolt11, payment_hash: paymentHash, amount_msat: amountMsat, expires_at: createdAt + expirySeconds, policy: POLICY_ID };
    },
    settle: (hash) => {
      const preimage = chain.preimages.get(hash);
      if (!preimage) throw new Error(`no invoice for ${hash}`);
      const text = alice.datastore.get(relayKey(hash));
      if (text === undefined) throw new Error(`no record for ${hash}`);
      const record: RelayRecord = { ...(parseRecord(text) as RelayRecord), state: 'settled', preimage, settledAt: Math.floor(Date.now() / 1000) };
      alice.datastore.datastore({ key: relayKey(hash), string: serializeRecord(record), mode: 'create-or-replace' });
    },
  };
  alice.overrides.set('rdv-request', (params) => {
    chain.calls.push(params);
    return chain.answer(params);
  });
  return chain;
}

/** A refusal as the plugin answers one: a JSON-RPC error (rdv-request's code for it) whose message is the chain's reason. */
export const refuse = (reason: string): ChainAnswer => () => Promise.reject(new SimRpcError(REQUEST_REFUSED, reason));

/** An answer the test releases: `release()` lets it through (or `with` another answer). */
export function held(chain: FakeChain): { answer: ChainAnswer; release: () => void; waiting: () => number } {
  const gates: Array<() => void> = [];
  let open = false;
  return {
    answer: async (params) => {
      if (!open) await new Promise<void>((resolve) => gates.push(resolve));
      return chain.invoiceFor(params);
    },
    release: () => {
      open = true;
      for (const g of gates.splice(0)) g();
    },
    waiting: () => gates.length,
  };
}

export interface ServeOptions {
  input?: Partial<ServeInput>;
  limits?: Partial<ServeLimits>;
  policies?: Array<PolicyInput & { id: string }>;
  /** node:http's timeout checks (ms): short for the timeout tests. */
  checkIntervalMs?: number;
  /** Load the real rdv plugin into Alice's node (the wrap tests pay through it). */
  plugin?: boolean;
  /** More of the network before rdv serve starts (channels, other nodes). */
  setup?: (net: SimNetwork, alice: SimNode) => Promise<void>;
}

/** Run `fn` against rdv serve in front of Alice's fake lightningd; everything is stopped after. */
export function withServe<T>(fn: (w: ServeWorld) => Promise<T>, o: ServeOptions = {}): Promise<T> {
  return withSimNet(async (net) => {
    const alice = await net.addNode('alice', { plugin: o.plugin ?? false });
    setPolicies(alice, o.policies ?? [{ id: POLICY_ID, from: BOB_ID, payout: '2%', feeBudget: '0.5%', delayBudget: '80' }]);
    await o.setup?.(net, alice);
    const chain = fakeChain(alice);
    const parsed = parseServeInput({ address: [`shop=${POLICY_ID}`], publicUrl: 'http://127.0.0.1:0', listen: '127.0.0.1:0', ...o.input });
    if (!parsed.ok) throw new Error(parsed.error);
    const config = { ...parsed.value, limits: { ...parsed.value.limits, ...o.limits } };
    const node = await LightningNode.connect(alice.socketPath, 'rdv-serve', { reconnect: true });
    const logs: string[] = [];
    const server = await startServer(
      { node, info: await node.checkedInfo(), config, nowMs: () => Date.now(), random: randomBytes, log: (level, m) => logs.push(`${level}: ${m}`) },
      o.checkIntervalMs === undefined ? {} : { checkIntervalMs: o.checkIntervalMs },
    );
    try {
      return await fn({ net, alice, node, server, config, chain, logs, base: server.url });
    } catch (e) {
      if (process.env.RDV_TEST_LOGS) process.stderr.write(`${logs.join('\n')}\n`);
      throw e;
    } finally {
      await server.close();
      node.close();
    }
  });
}

export interface HttpReply {
  status: number;
  headers: Headers;
  body: string;
  /** The body as JSON (undefined if it is not). */
  json: Record<string, unknown> | undefined;
}

/** One request, answered (fetch: a new connection each time is not promised, but irrelevant here). */
export async function http(url: string, init: RequestInit = {}): Promise<HttpReply> {
  const res = await fetch(url, init);
  const body = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body, json };
}
