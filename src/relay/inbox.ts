/**
 * The custommsg hook: pass-back messages from peers. Anything not ours gets
 * `continue` at once (peers send other custom messages, e.g. peer_storage).
 */
import { decodeBolt11 } from '../chain/bolt11.js';
import type { NodeId } from '../chain/ids.js';
import { judgePassedInvoice } from '../chain/inbox.js';
import type { NetworkName } from '../chain/network.js';
import { decodePassback, encodePassback, isPassbackPayload } from '../chain/passback.js';
import { ackKey, inboxKey, parseInbox, relayKey, serializeInbox } from '../chain/record.js';
import type { JsonObject } from '../chain/read.js';
import { parseCustomMsg } from '../rpc/hooks.js';
import type { LightningNode } from '../rpc/node.js';
import type { LogLevel } from '../rpc/plugin.js';

export interface InboxDeps {
  node: LightningNode;
  log: (level: LogLevel, message: string) => void;
  now: () => number;
  self: () => { id: NodeId; network: NetworkName } | undefined;
}

const CONTINUE: JsonObject = { result: 'continue' };

export async function onCustomMsg(params: JsonObject, deps: InboxDeps): Promise<JsonObject> {
  const payload = typeof params.payload === 'string' ? params.payload : '';
  if (!isPassbackPayload(payload)) return CONTINUE;
  let msg;
  try {
    msg = parseCustomMsg(params);
  } catch (e) {
    deps.log('warn', `pass-back message not understood: ${(e as Error).message}`);
    return CONTINUE;
  }
  const self = deps.self();
  if (!self) {
    deps.log('warn', `pass-back from ${msg.peerId.slice(0, 8)} ignored: not initialised yet`);
    return CONTINUE;
  }
  const decoded = decodePassback(msg.payload);
  if (!decoded.ok) {
    deps.log('warn', `bad pass-back message from ${msg.peerId}: ${decoded.error}`);
    return CONTINUE;
  }
  const m = decoded.value;
  // Answer lightningd at once; storing and acknowledging happen after.
  const work =
    m.kind === 'ack'
      ? storeAck(msg.peerId, m.paymentHash, m.accepted, m.reason, deps)
      : receiveInvoice(msg.peerId, m.bolt11, m.note, self, deps);
  work.catch((e: unknown) => deps.log('error', `pass-back from ${msg.peerId}: ${(e as Error).message}`));
  return CONTINUE;
}

async function receiveInvoice(
  from: NodeId,
  bolt11: string,
  note: string | undefined,
  self: { id: NodeId; network: NetworkName },
  deps: InboxDeps,
): Promise<void> {
  const { node, log } = deps;
  // Look up an existing entry only once we know the hash.
  const pre = decodeBolt11(bolt11);
  let existing;
  if (pre.ok) {
    const found = (await node.listdatastore(inboxKey(pre.value.paymentHash))).find((e) => e.key.length === 4);
    if (found?.string) {
      try {
        existing = parseInbox(found.string);
      } catch {
        existing = undefined;
      }
    }
  }
  const judged = judgePassedInvoice(bolt11, from, note, { network: self.network, ourNodeId: self.id, now: deps.now(), existing });
  const hash = pre.ok ? pre.value.paymentHash : undefined;
  if (!judged.ok) {
    log('warn', `refused an invoice passed back by ${from}: ${judged.error}`);
    if (hash) await sendAck(node, from, hash, false, judged.error, log);
    return;
  }
  const { entry } = judged.value;
  const w = await node.datastoreUpsert(inboxKey(entry.paymentHash), serializeInbox(entry));
  if (!w.ok) {
    log('error', `could not store the invoice from ${from} in the inbox`);
    await sendAck(node, from, entry.paymentHash, false, 'receiver could not store it', log);
    return;
  }
  log('info', `inbox: invoice ${entry.paymentHash.slice(0, 8)} from ${from} stored; join it with: rdv join --from-inbox ${entry.paymentHash.slice(0, 8)}`);
  await sendAck(node, from, entry.paymentHash, true, undefined, log);
}

async function sendAck(node: LightningNode, to: NodeId, paymentHash: string, accepted: boolean, reason: string | undefined, log: InboxDeps['log']): Promise<void> {
  const msg = encodePassback(reason === undefined ? { kind: 'ack', paymentHash, accepted } : { kind: 'ack', paymentHash, accepted, reason });
  try {
    await node.sendcustommsg(to, msg);
  } catch (e) {
    log('info', `could not acknowledge to ${to}: ${(e as Error).message}`);
  }
}

/** An ack for a hash we passed back. Acks for flows we do not know are ignored. */
async function storeAck(from: NodeId, paymentHash: string, accepted: boolean, reason: string | undefined, deps: InboxDeps): Promise<void> {
  const ours = (await deps.node.listdatastore(relayKey(paymentHash))).some((e) => e.key.length === 4);
  if (!ours) {
    deps.log('info', `ignored an acknowledgement from ${from} for unknown payment hash ${paymentHash.slice(0, 8)}`);
    return;
  }
  const value = JSON.stringify({ version: 1, from, accepted, reason, at: deps.now() });
  await deps.node.datastoreUpsert(ackKey(paymentHash), value);
  deps.log('info', `${from} ${accepted ? 'stored' : 'refused'} our invoice ${paymentHash.slice(0, 8)}${reason ? `: ${reason}` : ''}`);
}
