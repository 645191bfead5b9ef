/**
 * Removing finished records from the datastore, shared by `rdv prune`,
 * `rdv forget` and the plugin's rdv-prune-after: ask lightningd the facts,
 * decide (src/chain/prune.ts), then archive, delete, and clean up after.
 *
 * Order, so that a kill at any point leaves the record or its archive entry,
 * never neither: the archive entry is written first (created, or replaced if an
 * interrupted run left one), then the record is deleted at the generation it was
 * read at (a write by the plugin meanwhile makes the delete fail and the record
 * stays), then its satellite entries (inbox, passed, ack, guard) go.
 */
import { archiveKey, archiveOf, serializeArchived, type ArchivedRecord } from '../chain/archive.js';
import { pruneDecision, worthAsking, type KeepKind, type PruneDecision, type PruneFacts } from '../chain/prune.js';
import { KEY_ROOT, relayKey, type AnyRecord } from '../chain/record.js';
import { summariseOutgoing } from '../chain/relay/outgoing.js';
import { RdvError } from '../errors.js';
import type { LightningNode } from './node.js';
import { loadAllRecords, type LoadProblem, type Stored } from './records.js';

/** What the running rdv plugin says about a hash: undefined when no plugin runs. */
export type LiveView = (hash: string) => PruneFacts['plugin'];
export const NO_PLUGIN: LiveView = () => undefined;

/** Ask lightningd what became of a record's invoice or payment onward; a refused call leaves the fact unknown. */
export async function factsFor(node: LightningNode, record: AnyRecord, blockheight: number, live: LiveView): Promise<PruneFacts> {
  const facts: PruneFacts = { blockheight };
  const plugin = live(record.paymentHash);
  if (plugin) facts.plugin = plugin;
  try {
    if (record.role === 'last') {
      const inv = (await node.listinvoices({ label: record.label }))[0];
      facts.invoice = inv === undefined ? 'missing' : inv.paidAt === undefined ? { status: inv.status } : { status: inv.status, paidAt: inv.paidAt };
    } else {
      facts.outgoing = summariseOutgoing(await node.listsendpays(record.paymentHash), record.paymentHash).kind;
    }
  } catch (e) {
    if (!(e instanceof RdvError)) throw e;
  }
  return facts;
}

/** Satellite entries by payment hash: inbox (per sender), passed, ack, guard. */
export type Satellites = Map<string, string[][]>;

export async function loadSatellites(node: LightningNode): Promise<Satellites> {
  const out: Satellites = new Map();
  for (const level of ['inbox', 'passed', 'ack', 'guard']) {
    for (const e of await node.listdatastore([...KEY_ROOT, level])) {
      const name = e.key[3];
      if (e.key.length !== 4 || name === undefined) continue;
      // Inbox keys are <hash> (rdv 0.1.0) or <hash>-<sender>.
      const hash = name.slice(0, 64);
      out.set(hash, [...(out.get(hash) ?? []), e.key]);
    }
  }
  return out;
}

export type RemoveOutcome = { ok: true; archived: ArchivedRecord } | { ok: false; reason: string };

/** Archive, then delete at the generation read, then the satellites. `decision` must be a prune. */
export async function removeRecord(
  node: LightningNode,
  stored: Stored,
  decision: Extract<PruneDecision, { prune: true }>,
  now: number,
  satellites: readonly string[][],
): Promise<RemoveOutcome> {
  const hash = stored.record.paymentHash;
  const archived = archiveOf(stored.record, decision.state, decision.endedAt, now);
  const key = archiveKey(hash);
  const text = serializeArchived(archived);
  const created = await node.datastoreCreate(key, text);
  if (!created.ok) {
    // Left by an interrupted prune: the record is the newer truth.
    const replaced = created.reason === 'exists' ? await node.datastoreUpsert(key, text) : created;
    if (!replaced.ok) return { ok: false, reason: `could not write its archive entry (${replaced.reason}): kept` };
  }
  const deleted = await node.deldatastoreAt(relayKey(hash), stored.generation);
  if (deleted === 'changed') {
    // The record stays, so its archive entry goes again: one place counts it.
    await node.deldatastore(key).catch(() => false);
    return { ok: false, reason: 'it was written again (by the plugin) while rdv was removing it: kept' };
  }
  for (const k of satellites) await node.deldatastore(k).catch(() => false);
  return { ok: true, archived };
}

export interface Kept {
  paymentHash: string;
  kind: KeepKind | 'changed';
  reason: string;
}

export interface PruneReport {
  /** Archived and removed (with dryRun: what would be). */
  pruned: ArchivedRecord[];
  kept: Kept[];
  unreadable: LoadProblem[];
  dryRun: boolean;
  /** Satellite entries left by an interrupted prune (their record archived and gone), removed now. */
  orphansRemoved: number;
}

export interface PruneOptions {
  now: number;
  olderThanSeconds: number;
  dryRun: boolean;
  live: LiveView;
  /** Called after each record is removed: tell the plugin to let it go. */
  onRemoved?: (hash: string) => Promise<void>;
}

/** Every record that may go, archived and removed (nothing written with dryRun). */
export async function pruneRecords(node: LightningNode, options: PruneOptions): Promise<PruneReport> {
  const { now, olderThanSeconds, dryRun, live } = options;
  const [{ records, problems }, info] = await Promise.all([loadAllRecords(node), node.getinfo()]);
  const satellites = dryRun ? new Map<string, string[][]>() : await loadSatellites(node);
  const report: PruneReport = { pruned: [], kept: [], unreadable: problems, dryRun, orphansRemoved: 0 };
  for (const stored of records.sort((a, b) => a.record.createdAt - b.record.createdAt)) {
    const { record } = stored;
    const facts = worthAsking(record, now, olderThanSeconds) ? await factsFor(node, record, info.blockheight, live) : { blockheight: info.blockheight, plugin: live(record.paymentHash) };
    const decision = pruneDecision(record, facts, now, olderThanSeconds);
    if (!decision.prune) {
      report.kept.push({ paymentHash: record.paymentHash, kind: decision.kind, reason: decision.reason });
      continue;
    }
    if (dryRun) {
      report.pruned.push(archiveOf(record, decision.state, decision.endedAt, now));
      continue;
    }
    const outcome = await removeRecord(node, stored, decision, now, satellites.get(record.paymentHash) ?? []);
    if (!outcome.ok) {
      report.kept.push({ paymentHash: record.paymentHash, kind: 'changed', reason: outcome.reason });
      continue;
    }
    report.pruned.push(outcome.archived);
    satellites.delete(record.paymentHash);
    await options.onRemoved?.(record.paymentHash);
  }
  if (!dryRun) report.orphansRemoved = await removeOrphans(node, satellites, new Set(records.map((s) => s.record.paymentHash)), problems);
  return report;
}

/** Satellites of hashes that are archived and have no record: an earlier prune stopped before removing them. */
async function removeOrphans(node: LightningNode, satellites: Satellites, recorded: ReadonlySet<string>, unreadable: readonly LoadProblem[]): Promise<number> {
  const archived = new Set((await node.listdatastore([...KEY_ROOT, 'archive'])).map((e) => e.key[3]));
  const damaged = new Set(unreadable.map((p) => p.key[3]));
  let removed = 0;
  for (const [hash, keys] of satellites) {
    if (!archived.has(hash) || recorded.has(hash) || damaged.has(hash)) continue;
    for (const k of keys) if (await node.deldatastore(k).catch(() => false)) removed++;
  }
  return removed;
}
