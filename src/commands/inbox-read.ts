/**
 * The inbox as the CLI shows it: every invoice passed back to us, with who sent
 * it (alias from gossip, and whether it is a channel peer, a trusted node or a
 * stranger). Shared by `rdv inbox` and `rdv join --from-inbox`.
 */
import { decodeBolt11 } from '../chain/bolt11.js';
import { senderTrust, type SenderTrust } from '../chain/inbox.js';
import { isNodeId, shortHash, type NodeId } from '../chain/ids.js';
import { KEY_ROOT, parseInbox, type InboxEntry } from '../chain/record.js';
import type { LightningNode } from '../rpc/node.js';

export interface InboxItem {
  key: string[];
  entry: InboxEntry;
  amountMsat: bigint | undefined;
  description: string | undefined;
  expiresAt: number | undefined;
  trust: SenderTrust;
  alias: string | undefined;
}

/** Every readable entry, oldest first, with its sender's trust and alias. */
export async function readInbox(node: LightningNode): Promise<InboxItem[]> {
  const entries = await node.listdatastore([...KEY_ROOT, 'inbox']);
  const parsed: Array<{ key: string[]; entry: InboxEntry }> = [];
  for (const e of entries) {
    if (!e.string) continue;
    try {
      parsed.push({ key: e.key, entry: parseInbox(e.string) });
    } catch {
      // an unreadable entry is not shown (and never joined)
    }
  }
  if (parsed.length === 0) return [];
  const [channels, trustedEntries] = await Promise.all([node.listPeerChannels().catch(() => []), node.listdatastore([...KEY_ROOT, 'trust'])]);
  const channelPeers = new Set(channels.map((c) => c.peerId));
  const trusted = new Set(trustedEntries.map((e) => e.key[3]).filter((k): k is string => k !== undefined && isNodeId(k)));
  const senders = [...new Set(parsed.map((p) => p.entry.from))];
  const aliases = new Map(await Promise.all(senders.map(async (id) => [id, await node.nodeAlias(id)] as const)));
  return parsed
    .map(({ key, entry }) => {
      const d = decodeBolt11(entry.bolt11);
      return {
        key,
        entry,
        amountMsat: d.ok ? d.value.amountMsat : undefined,
        description: d.ok ? d.value.description : undefined,
        expiresAt: d.ok ? d.value.expiresAt : undefined,
        trust: senderTrust(entry.from, channelPeers, trusted),
        alias: aliases.get(entry.from),
      };
    })
    .sort((a, b) => a.entry.receivedAt - b.entry.receivedAt);
}

/** "alias (03c9b5ac…)" or "03c9b5ac…". */
export function senderName(id: NodeId, alias: string | undefined): string {
  return alias ? `${alias} (${shortHash(id)}…)` : `${shortHash(id)}…`;
}

export const TRUST_TEXT: Record<SenderTrust, string> = { channel: 'channel peer', trusted: 'trusted', stranger: 'STRANGER' };
