/**
 * Real CLN (regtest): the pass-back inbox under abuse. One network for the file:
 *
 *   carol --(channel)-- bob --(channel)-- mallet          mallory (connected only: to bob, to carol)
 *
 * Bob and Carol run rdv (+ rdv-guard) as important plugins; Mallory and Mallet do
 * not run rdv, only test/e2e/fixtures/custommsg-capture.mjs, which counts the
 * 0x8a01 messages they get back. Mallory is a stranger to Bob (no channel);
 * Mallet is a channel peer. Each floods Bob with `sendcustommsg`, wrapping
 * invoices of its own node in the pass-back TLV (src/chain/passback.ts), while
 * Carol makes a real `rdv pass-back` to Bob in the middle of the flood.
 *
 * Flood size: RDV_E2E_FLOOD messages (default 20,000), or as many as go in
 * RDV_E2E_FLOOD_MS (default 40 s), whichever is fewer. The numbers (rates,
 * rdv's inbox counters, getinfo latency and memory during the flood, refusal
 * acks) are printed as test diagnostics.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { msat } from '../../src/chain/amount.js';
import { decodePassback, encodePassback } from '../../src/chain/passback.js';
import { ackKey, KEY_ROOT, parseInbox } from '../../src/chain/record.js';
import { Reader } from '../../src/chain/read.js';
import type { RegtestNode } from '../../src/regtest/lightningd.js';
import { childProcesses, poll, rssKb } from '../../src/regtest/process.js';
import { listPeerChannels } from '../../src/regtest/queries.js';
import type { InboxStats } from '../../src/relay/inbox.js';
import { LightningNode } from '../../src/rpc/node.js';
import { CAPTURE_PLUGIN } from '../helpers/paths.js';
import { e2eBinaries, rdv, rdvJson, regtestNetwork } from './lib.js';

const { skip } = e2eBinaries();

/** Counts (and keeps) the 0x8a01 messages a node without rdv receives. */
const FLOOD_MESSAGES = Number(process.env.RDV_E2E_FLOOD ?? 20_000);
const FLOOD_MS = Number(process.env.RDV_E2E_FLOOD_MS ?? 40_000);
/** sendcustommsg calls in flight at once from the flooding node. */
const FLOOD_WINDOW = 32;
/** How far the flooding node may get ahead of what the target's rdv has received (RDV_E2E_FLOOD_BACKLOG=0: no limit). */
const FLOOD_BACKLOG = Number(process.env.RDV_E2E_FLOOD_BACKLOG ?? 2_000) || Infinity;
/** Distinct invoices each flooder cycles through (more than rdv-inbox-per-peer = 20). */
const FLOOD_INVOICES = 40;
const PER_PEER = 20;
const NOTICE_MS = 60_000;

type InboxCounters = Omit<InboxStats, 'entries'>;

async function inboxCounters(node: RegtestNode | LightningNode): Promise<InboxCounters> {
  const rpc = node instanceof LightningNode ? node : node.rpc;
  const r = Reader.of(await rpc.call('rdv-status', {}), 'rdv-status').obj('inbox');
  return {
    received: r.int('received'),
    dropped: r.int('dropped'),
    bad: r.int('bad'),
    repeated: r.int('repeated'),
    errors: r.int('errors'),
    working: r.int('working'),
    stored: r.int('stored'),
    refused: r.int('refused'),
    policy_joined: r.int('policy_joined'),
    policy_refused: r.int('policy_refused'),
    acks_stored: r.int('acks_stored'),
    acks_dropped: r.int('acks_dropped'),
    queued: r.int('queued'),
  };
}

function delta(a: InboxCounters, b: InboxCounters): InboxCounters {
  const out = { ...b };
  for (const k of Object.keys(out) as Array<keyof InboxCounters>) if (k !== 'queued' && k !== 'working') out[k] = b[k] - a[k];
  return out;
}

/** Bob's inbox entries in the datastore, counted by sender. */
async function inboxBySender(node: RegtestNode): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of await node.rpc.listdatastore([...KEY_ROOT, 'inbox'])) {
    if (e.string === undefined) continue;
    const from = parseInbox(e.string).from;
    counts.set(from, (counts.get(from) ?? 0) + 1);
  }
  return counts;
}

interface Captured {
  count: number;
  acks: Array<{ accepted: boolean; reason: string | undefined; paymentHash: string; peer: string; atMs: number }>;
}

/** What the capture plugin on `node` has seen (0x8a01 messages), decoded. */
async function captured(node: RegtestNode): Promise<Captured> {
  const r = Reader.of(await node.rpc.call('capture-custommsg', {}), 'capture-custommsg');
  const acks: Captured['acks'] = [];
  for (const m of r.objects('messages')) {
    const d = decodePassback(m.str('payload'));
    if (d.ok && d.value.kind === 'ack') acks.push({ accepted: d.value.accepted, reason: d.value.reason, paymentHash: d.value.paymentHash, peer: m.str('peer_id'), atMs: m.int('at_ms') });
  }
  return { count: r.int('count'), acks };
}

/** `n` invoices of `node`'s own (so payable to the sender, as rdv checks), wrapped as pass-back messages. */
async function ownInvoiceMessages(node: RegtestNode, n: number, tag: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const inv = await node.rpc.invoice({ amountMsat: msat(1_000_000n), label: `flood-${tag}-${i}-${Date.now()}`, description: `flood ${i}`, expiry: 3600 });
    out.push(encodePassback({ kind: 'invoice', bolt11: inv.bolt11 }));
  }
  return out;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

interface Flood {
  sent: number;
  errors: number;
  firstError: string | undefined;
  /** From the first sendcustommsg to the last one's reply. */
  sendMs: number;
  /** From the first sendcustommsg until Bob's rdv had received (and dealt with) every message. */
  deliverMs: number;
  /** Bob's rdv counters over the flood (the other message, Carol's, included). */
  counters: InboxCounters;
  /** getinfo on the target, sampled from the first message until the queue drained (ms). */
  latency: { samples: number; p50: number; p99: number; max: number };
  /** rdv-status on the target (lightningd and the rdv plugin), sampled likewise (ms). */
  statusLatency: { p50: number; p99: number };
  /** How many of the flood Bob's rdv had received when `during` was done (less than `sent`: it ran mid-flood). */
  receivedWhenDuringDone: number;
  /** Resident memory (MiB) of the target's (and the sender's) lightningd, connectd and rdv: at the start, and the most seen. */
  memory: Array<{ name: string; startMb: number; maxMb: number }>;
}

/**
 * `from` sends `messages` (cycled) to `to` with sendcustommsg, FLOOD_WINDOW calls
 * at a time, until FLOOD_MESSAGES are sent or FLOOD_MS is up, then waits until
 * `to`'s rdv has received every one (`extra` more are expected from others).
 * lightningd answers sendcustommsg as soon as its connectd has the message, far
 * faster than `to` takes them in (`to`'s connectd hands a peer's next custom
 * message to lightningd only when the hook has answered the last one), so the
 * sender keeps at most FLOOD_BACKLOG messages ahead of what `to`'s rdv has
 * received: the flood stays a flood (`to`'s hook always has the next message at
 * once) but drains within seconds of the end. Meanwhile `probe` (its own RPC
 * connection to `to`) times a getinfo every 100 ms, and `during` runs once
 * `to`'s rdv has received a tenth of the flood.
 */
async function flood<T>(from: RegtestNode, to: RegtestNode, messages: string[], probe: LightningNode, extra: number, during: () => Promise<T>): Promise<{ flood: Flood; during: T }> {
  const base = await inboxCounters(probe);
  let next = 0;
  let sent = 0;
  let errors = 0;
  let firstError: string | undefined;
  let received = 0;
  let statusMs: number[] = [];
  const t0 = performance.now();
  const deadline = t0 + FLOOD_MS;
  let sampling = true;
  const worker = async (): Promise<void> => {
    while (next < FLOOD_MESSAGES && performance.now() < deadline) {
      if (next - received > FLOOD_BACKLOG) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const i = next++;
      try {
        await from.rpc.sendcustommsg(to.id, messages[i % messages.length] ?? '');
        sent++;
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  const latencies: number[] = [];
  const procs = [...(await targetProcesses(to)), ...(await targetProcesses(from)).map((p) => ({ ...p, name: `${from.name}'s ${p.name}` }))];
  const memory = procs.map((p) => ({ name: p.name, startMb: (rssKb(p.pid) ?? NaN) / 1024, maxMb: 0 }));
  const sampler = (async () => {
    while (sampling) {
      const s = performance.now();
      await probe.getinfo();
      latencies.push(performance.now() - s);
      procs.forEach((p, i) => {
        const m = memory[i];
        if (m) m.maxMb = Math.max(m.maxMb, (rssKb(p.pid) ?? NaN) / 1024);
      });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const watcher = (async () => {
    while (sampling) {
      const s = performance.now();
      received = (await inboxCounters(probe)).received - base.received;
      statusMs.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const sending = Promise.all(Array.from({ length: FLOOD_WINDOW }, worker)).then(() => performance.now() - t0);
  let receivedWhenDuringDone = 0;
  const meanwhile = (async () => {
    await poll(`${to.name}'s rdv to receive a tenth of the flood`, () => (received >= FLOOD_MESSAGES / 10 || performance.now() > deadline ? true : undefined), FLOOD_MS + 30_000, 20);
    const r = await during();
    receivedWhenDuringDone = (await inboxCounters(probe)).received - base.received;
    return r;
  })();
  let duringResult: T;
  let sendMs: number;
  let counters: InboxCounters;
  try {
    [sendMs, duringResult] = await Promise.all([sending, meanwhile]);
    counters = delta(base, await drained(probe, to.name, base, sent + extra));
  } finally {
    sampling = false;
    await Promise.all([sampler.catch(() => undefined), watcher.catch(() => undefined)]);
  }
  const deliverMs = performance.now() - t0;
  const sorted = [...latencies].sort((a, b) => a - b);
  statusMs = statusMs.sort((a, b) => a - b);
  return {
    flood: {
      sent,
      errors,
      firstError,
      sendMs,
      deliverMs,
      counters,
      latency: { samples: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN },
      statusLatency: { p50: percentile(statusMs, 50), p99: percentile(statusMs, 99) },
      receivedWhenDuringDone,
      memory,
    },
    during: duringResult,
  };
}

/** The target's lightningd, its connectd and its rdv plugin (for memory samples). */
async function targetProcesses(node: RegtestNode): Promise<Array<{ name: string; pid: number }>> {
  const pid = node.pid;
  if (pid === undefined) return [];
  const children = await childProcesses(pid);
  const out = [{ name: 'lightningd', pid }];
  const connectd = children.find((c) => c.args.includes('lightning_connectd'));
  if (connectd) out.push({ name: 'connectd', pid: connectd.pid });
  const [plugin] = await node.rdvPluginProcesses();
  if (plugin) out.push({ name: 'rdv', pid: plugin.pid });
  return out;
}

/**
 * Wait until `node`'s rdv has received `expected` messages (or received stops
 * moving for 5 s) and dealt with each: nothing queued or being handled, and
 * every received one counted as dropped, refused, stored, repeated, bad, an
 * error or an ack (or nothing moves for 5 s).
 */
async function drained(node: LightningNode, name: string, base: InboxCounters, expected: number): Promise<InboxCounters> {
  let last = '';
  let stableSince = Date.now();
  return poll(
    `${name}'s inbox queue to drain`,
    async () => {
      const c = await inboxCounters(node);
      const d = delta(base, c);
      const key = JSON.stringify(d);
      if (key !== last) {
        last = key;
        stableSince = Date.now();
      }
      const stable = Date.now() - stableSince > 5_000;
      const accounted = d.dropped + d.refused + d.stored + d.repeated + d.bad + d.errors + d.acks_stored + d.acks_dropped === d.received;
      if ((c.queued !== 0 || c.working !== 0) && !stable) return undefined;
      if ((d.received >= expected && accounted) || stable) return c;
      return undefined;
    },
    90_000,
    100,
  );
}

const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : String(n));

describe('e2e: the pass-back inbox under abuse on real CLN', () => {
  let probe: LightningNode | undefined;
  const { net, node, withLogs } = regtestNetwork({
    nodes: [
      { name: 'bob' },
      { name: 'carol' },
      { name: 'mallory', rdv: 'none', extraArgs: [`--plugin=${CAPTURE_PLUGIN}`] },
      { name: 'mallet', rdv: 'none', extraArgs: [`--plugin=${CAPTURE_PLUGIN}`] },
    ],
    fund: { nodes: ['carol', 'mallet'], btc: 0.05, utxos: 1 },
    channels: [
      { from: 'carol', to: 'bob', amountSat: 1_000_000 },
      { from: 'mallet', to: 'bob', amountSat: 1_000_000 },
    ],
    then: async (rt) => {
      // Mallory: a peer connection only, no channel.
      await rt.connect('mallory', 'bob');
      await rt.connect('mallory', 'carol');
      probe = await LightningNode.connect(rt.node('bob').socketPath, 'probe');
    },
    tearDown: () => probe?.close(),
  });

  /** Carol: a fresh `join --last`, then `rdv pass-back --to bob`. */
  async function carolPassesBack(): Promise<{ hash: string; run: Awaited<ReturnType<typeof rdv>> }> {
    const carol = node('carol');
    const joined = await rdvJson(carol, ['join', '--last', '--amount', '100000sat', '--description', 'e2e inbox']);
    const hash = joined.str('payment_hash');
    const run = await rdv(carol, ['pass-back', hash, '--to', node('bob').address, '--timeout', '60'], 90_000);
    return { hash, run };
  }

  /** Carol's stored ack for `hash`. */
  async function carolsAck(hash: string): Promise<{ from: string; accepted: boolean; reason: string | undefined }> {
    const entry = (await node('carol').rpc.listdatastore(ackKey(hash))).find((e) => e.key.length === 4);
    assert.ok(entry?.string, `Carol has no ack for ${hash.slice(0, 8)}`);
    const r = Reader.of(JSON.parse(entry.string), 'ack');
    return { from: r.str('from'), accepted: r.bool('accepted'), reason: r.optStr('reason') };
  }

  /** The flood scenario shared by the stranger and the channel-peer variants. */
  async function floodScenario(t: TestContext, attackerName: string) {
    const [bob, carol, attacker] = [node('bob'), node('carol'), node(attackerName)];
    if (!(await attacker.rpc.isConnected(bob.id))) await net().connect(attacker, bob);
    const messages = await ownInvoiceMessages(attacker, FLOOD_INVOICES, attackerName);
    const baseline: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = performance.now();
      await probe?.getinfo();
      baseline.push(performance.now() - s);
    }
    const capturedBefore = await captured(attacker);
    const logBefore = bob.rdvLog().length;
    assert.ok(probe);
    const { flood: f, during } = await flood(attacker, bob, messages, probe, 1, async () => {
      const s = performance.now();
      const r = await carolPassesBack();
      return { ...r, ms: performance.now() - s };
    });
    const d = f.counters;
    // Bob's last acks land on the attacker a moment after his rdv took the last message.
    let seen = -1;
    const cap = await poll(
      `${attackerName}'s captured acks to settle`,
      async () => {
        const c = await captured(attacker);
        if (c.count === seen) return c;
        seen = c.count;
        return undefined;
      },
      30_000,
      1_500,
    );
    const acks = cap.acks.slice(capturedBefore.acks.length);
    const refusalAcks = acks.filter((a) => !a.accepted);
    const acceptedAcks = acks.filter((a) => a.accepted);
    const bobLog = bob.rdvLog().slice(logBefore);
    const refusalLines = bobLog.filter((l) => l.includes(`refused an invoice passed back by ${attacker.id}`));
    const dropLines = bobLog.filter((l) => l.includes(`dropping pass-back messages from ${attacker.id}`));
    const stored = (await inboxBySender(bob)).get(attacker.id) ?? 0;
    const sorted = [...baseline].sort((a, b) => a - b);
    t.diagnostic(
      `${attackerName}: sent ${f.sent} (${f.errors} errors${f.firstError ? `: ${f.firstError}` : ''}): sendcustommsg answered in ${fmt(f.sendMs / 1000)} s (${fmt(f.sent / (f.sendMs / 1000))} msg/s), ` +
        `all received by Bob's rdv after ${fmt(f.deliverMs / 1000)} s (${fmt(d.received / (f.deliverMs / 1000))} msg/s); ` +
        `Bob's rdv: received ${d.received}, dropped ${d.dropped}, refused ${d.refused}, stored ${d.stored}, bad ${d.bad}; ${attackerName} holds ${stored} inbox entries`,
    );
    t.diagnostic(
      `Bob getinfo: baseline p50 ${fmt(percentile(sorted, 50))} ms; during the flood p50 ${fmt(f.latency.p50)} ms, p99 ${fmt(f.latency.p99)} ms, max ${fmt(f.latency.max)} ms (${f.latency.samples} samples); ` +
        `rdv-status p50 ${fmt(f.statusLatency.p50)} ms, p99 ${fmt(f.statusLatency.p99)} ms; ` +
        `RSS MiB (start -> max): ${f.memory.map((m) => `${m.name} ${fmt(m.startMb)} -> ${fmt(m.maxMb)}`).join(', ')}`,
    );
    t.diagnostic(
      `acks to ${attackerName}: ${refusalAcks.length} refusals (${refusalAcks.map((a) => a.reason).join(' | ')}), ${acceptedAcks.length} accepted; ` +
        `Bob's log: ${refusalLines.length} refusal lines, ${dropLines.length} drop lines; Carol's pass-back took ${fmt(during.ms / 1000)} s, done when Bob's rdv had ${f.receivedWhenDuringDone} of the flood: ${during.run.stdout.trim().split('\n')[0] ?? ''}`,
    );

    // Every message got somewhere: lightningd handed each to rdv, which dropped, refused, stored, took as a repeat, or found it bad.
    assert.equal(f.errors, 0, `sendcustommsg failed: ${f.firstError}`);
    assert.ok(f.sent > 0);
    assert.equal(d.received, f.sent + 1, `Bob's rdv received ${d.received} of ${f.sent} + 1 (Carol's)`);
    const unusual = bobLog.filter((l) => !/ (INFO|DEBUG) /.test(l) && !l.includes('refused an invoice passed back by') && !l.includes('dropping pass-back messages from'));
    assert.equal(d.errors, 0, `Bob's rdv failed to handle some: ${JSON.stringify(d)}`);
    assert.equal(d.received, d.dropped + d.refused + d.stored + d.repeated + d.bad, `counters do not add up: ${JSON.stringify(d)}; Bob's rdv logged:\n${unusual.slice(0, 10).join('\n')}`);
    // Carol's real pass-back, sent in the middle of the flood, lands and is acknowledged.
    assert.ok(f.receivedWhenDuringDone < f.sent, `Carol's pass-back was done only after the flood (${f.receivedWhenDuringDone} of ${f.sent} received)`);
    assert.equal(during.run.code, 0, `Carol's pass-back failed:\n${during.run.stdout}\n${during.run.stderr}`);
    assert.match(during.run.stdout, /delivered invoice/);
    const ack = await carolsAck(during.hash);
    assert.deepEqual(ack, { from: bob.id, accepted: true, reason: undefined });
    const inbox = await rdvJson(bob, ['inbox']);
    assert.ok(
      inbox.objects('invoices').some((i) => i.str('payment_hash') === during.hash && i.str('from') === carol.id),
      "Carol's invoice is not in Bob's inbox",
    );
    // Bob stayed responsive.
    assert.ok(f.latency.samples >= 3, 'too few getinfo samples');
    assert.ok(f.latency.p99 < 5_000, `getinfo p99 ${fmt(f.latency.p99)} ms during the flood`);
    // One refusal log line and ack a minute, whatever the flood.
    const minutes = 1 + Math.floor((f.deliverMs + 5_000) / NOTICE_MS);
    assert.ok(refusalAcks.length <= minutes, `${refusalAcks.length} refusal acks in ${fmt(f.deliverMs / 1000)} s`);
    assert.ok(refusalLines.length <= minutes, `${refusalLines.length} refusal log lines`);
    assert.ok(dropLines.length <= minutes, `${dropLines.length} drop log lines`);
    return { flood: f, d, stored, refusalAcks, acceptedAcks, refusalLines, minutes };
  }

  test("a stranger floods Bob over sendcustommsg; the bound holds and Carol's real pass-back lands and is acknowledged", { skip, timeout: 120_000 }, async (t) => {
    await withLogs(async () => {
      const mallory = node('mallory');
      assert.deepEqual(await listPeerChannels(mallory.rpc), [], 'Mallory has a channel');
      const r = await floodScenario(t, 'mallory');
      // lightningd delivered a stranger's messages to the hook (no channel needed), and rdv stored none.
      assert.ok(r.d.received > 0, "no message from Mallory reached Bob's custommsg hook");
      assert.equal(r.stored, 0, `Mallory (a stranger) has ${r.stored} entries in Bob's inbox`);
      assert.equal(r.d.stored, 1, "Bob's rdv stored only Carol's invoice");
      assert.ok(r.d.refused > 0);
      assert.equal(r.acceptedAcks.length, 0);
      // The first refusal is answered (a stranger needs only a connection to get it).
      assert.ok(r.refusalAcks.length >= 1, 'no refusal ack reached Mallory');
      assert.match(r.refusalAcks[0]?.reason ?? '', /only take invoices from channel peers and trusted nodes/);
      assert.ok(r.refusalLines.length >= 1);
      assert.equal(r.refusalAcks[0]?.peer, node('bob').id);
    });
  });

  test("a channel peer floods Bob over sendcustommsg; at most 20 are stored and Carol's real pass-back lands and is acknowledged", { skip, timeout: 120_000 }, async (t) => {
    await withLogs(async () => {
      const mallet = node('mallet');
      assert.deepEqual((await listPeerChannels(mallet.rpc, node('bob').id)).map((c) => c.state), ['CHANNELD_NORMAL']);
      const r = await floodScenario(t, 'mallet');
      // The bound is reached (more than 20 of the 40 distinct invoices get past the queue) and holds.
      assert.equal(r.stored, PER_PEER, `Mallet holds ${r.stored} entries`);
      assert.ok(r.d.refused > 0);
      assert.ok(r.refusalAcks.length >= 1, 'no refusal ack reached Mallet');
      assert.match(r.refusalAcks[0]?.reason ?? '', /inbox full for your node \(20 unjoined invoices\)/);
      // Each store was acknowledged as stored (one was Carol's); a repeat of an invoice Mallet already
      // has there writes nothing and is acknowledged again at most every 5 s per invoice.
      assert.equal(r.d.stored, PER_PEER + 1, 'each of the 20 stored once, and Carol');
      assert.ok(r.d.repeated > 0, 'the flood cycles 40 invoices: repeats');
      const ackWindows = PER_PEER * (1 + Math.ceil(r.flood.deliverMs / 5_000));
      assert.ok(r.acceptedAcks.length <= PER_PEER + ackWindows, `${r.acceptedAcks.length} "stored" acks for ${r.d.repeated} repeats`);
    });
  });

  test('a forged ack is dropped', { skip, timeout: 120_000 }, async (t) => {
    await withLogs(async () => {
      const [bob, carol, mallory] = [node('bob'), node('carol'), node('mallory')];
      if (!(await mallory.rpc.isConnected(carol.id))) await net().connect(mallory, carol);
      const forged = (hash: string): string => encodePassback({ kind: 'ack', paymentHash: hash, accepted: false, reason: 'spoof' });
      const before = await inboxCounters(carol);
      const joined = await rdvJson(carol, ['join', '--last', '--amount', '100000sat', '--description', 'e2e forged ack']);
      const hash = joined.str('payment_hash');
      // Mallory knows the hash and floods Carol with forged refusals while Carol passes the invoice to Bob:
      // before Carol records whom she passed it to, and after.
      let spamming = true;
      let spam = 0;
      const spammer = Promise.all(
        Array.from({ length: 4 }, async () => {
          while (spamming) {
            await mallory.rpc.sendcustommsg(carol.id, forged(hash));
            spam++;
            await new Promise((r) => setTimeout(r, 5));
          }
        }),
      );
      let run: Awaited<ReturnType<typeof rdv>>;
      try {
        run = await rdv(carol, ['pass-back', hash, '--to', bob.address, '--timeout', '60'], 90_000);
      } finally {
        spamming = false;
        await spammer;
      }
      assert.equal(run.code, 0, `Carol's pass-back failed:\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /delivered invoice/);
      assert.deepEqual(await carolsAck(hash), { from: bob.id, accepted: true, reason: undefined });
      // And the one the brief names: after Bob's real ack is stored.
      const mid = await inboxCounters(carol);
      await mallory.rpc.sendcustommsg(carol.id, forged(hash));
      await poll("Carol's rdv to drop the forged ack", async () => ((await inboxCounters(carol)).acks_dropped > mid.acks_dropped ? true : undefined), 30_000, 100);
      assert.deepEqual(await carolsAck(hash), { from: bob.id, accepted: true, reason: undefined });
      const c = await drained(carol.rpc, 'carol', before, spam + 2);
      const d = delta(before, c);
      t.diagnostic(
        `Carol: ${spam} forged acks during her pass-back + 1 after; her rdv received ${d.received} (${d.dropped} dropped at the queue), acks dropped ${d.acks_dropped}, stored ${d.acks_stored} (Bob's)`,
      );
      assert.equal(d.acks_stored, 1, "only Bob's ack was stored");
      assert.equal(d.acks_dropped + d.dropped, spam + 1, 'every forged ack was dropped');
      assert.ok(d.acks_dropped >= 1);
      const logged = carol.rdvLog().filter((l) => l.includes(`dropped an acknowledgement from ${mallory.id}`));
      assert.ok(logged.length >= 1, `Carol's log has no "dropped an acknowledgement from ${mallory.id}"`);
      assert.ok(logged.length <= 2, `${logged.length} log lines for one peer's forgeries (once a minute)`);
    });
  });
});
