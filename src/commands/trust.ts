/**
 * `rdv trust add|remove|list`: nodes allowed to pass invoices back to us besides
 * our channel peers (the plugin reads the list within 5 s; see rdv-inbox-from).
 */
import { asNodeId, shortHash, type NodeId } from '../chain/ids.js';
import { isObject } from '../chain/read.js';
import { KEY_ROOT, trustKey } from '../chain/record.js';
import { inputError } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';

export interface TrustOptions {
  note?: string;
}

interface Trusted {
  node: NodeId;
  addedAt: number | undefined;
  note: string | undefined;
}

function nodeArg(text: string | undefined): NodeId {
  const id = text === undefined ? undefined : asNodeId(text.trim());
  if (!id) throw inputError(`"${text ?? ''}" is not a node id (66 hex digits)`);
  return id;
}

async function list(node: LightningNode): Promise<Trusted[]> {
  const out: Trusted[] = [];
  for (const e of await node.listdatastore([...KEY_ROOT, 'trust'])) {
    const id = asNodeId(e.key[3] ?? '');
    if (!id) continue;
    let addedAt: number | undefined;
    let note: string | undefined;
    try {
      const v: unknown = JSON.parse(e.string ?? '');
      if (isObject(v)) {
        addedAt = typeof v.added_at === 'number' ? v.added_at : undefined;
        note = typeof v.note === 'string' ? v.note : undefined;
      }
    } catch {
      // a damaged value still trusts the node its key names
    }
    out.push({ node: id, addedAt, note });
  }
  return out;
}

export async function run(g: GlobalOptions, action: string, target: string | undefined, opts: TrustOptions): Promise<void> {
  const out = makeOutput(g);
  if (action !== 'add' && action !== 'remove' && action !== 'list') throw inputError(`rdv trust ${action}: say add, remove or list`);
  if (action !== 'list' && target === undefined) throw inputError(`rdv trust ${action} needs a node id`);
  if (action === 'list' && target !== undefined) throw inputError('rdv trust list takes no node id');
  if (opts.note !== undefined && Buffer.byteLength(opts.note) > 200) throw inputError('--note is longer than 200 bytes');
  const id = action === 'list' ? undefined : nodeArg(target);
  await withNode(g, async (node) => {
    if (action === 'list') {
      const trusted = await list(node);
      if (g.json) out.json({ trusted: trusted.map((t) => ({ node_id: t.node, added_at: t.addedAt, note: t.note })) });
      else if (trusted.length === 0) out.result('No trusted nodes: only channel peers may pass invoices back to you. Add one with: rdv trust add <node id>');
      else out.table(['NODE', 'ADDED', 'NOTE'], trusted.map((t) => [t.node, t.addedAt ? new Date(t.addedAt * 1000).toISOString().slice(0, 10) : '?', t.note ?? '']));
      return;
    }
    if (!id) return;
    if (action === 'add') {
      const info = await node.getinfo();
      if (id === info.id) throw inputError('that is this node itself');
      const value = JSON.stringify({ version: 1, added_at: Math.floor(Date.now() / 1000), ...(opts.note !== undefined ? { note: opts.note } : {}) });
      await node.datastoreUpsert(trustKey(id), value);
      out.json({ node_id: id, trusted: true });
      out.result(`${shortHash(id)}… may now pass invoices back to you (within 5 s)`);
      return;
    }
    const removed = await node.deldatastore(trustKey(id));
    out.json({ node_id: id, trusted: false, was_trusted: removed });
    out.result(removed ? `${shortHash(id)}… is no longer trusted (its inbox entries stay until joined or expired)` : `${shortHash(id)}… was not on the trust list`);
  });
}
