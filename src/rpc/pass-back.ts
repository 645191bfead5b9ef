/**
 * Handing our invoice to the previous payee's node over a peer message, and
 * waiting for its rdv to say it stored (or joined, or refused) it. Shared by
 * `rdv pass-back` and the plugin's policy joins (--pass-to).
 */
import { shortHash, type NodeId } from '../chain/ids.js';
import { encodePassback, MAX_PASSBACK_BYTES } from '../chain/passback.js';
import { ackKey, passedKey } from '../chain/record.js';
import { Reader } from '../chain/read.js';
import { err, ok, RdvError, type Result } from '../errors.js';
import type { LightningNode } from './node.js';

export interface PeerAddress {
  id: NodeId;
  host?: string | undefined;
  port?: number | undefined;
}

export interface Delivery {
  /** stored: in their inbox (or joined by their policy); refused: they said why; sent: no answer (yet). */
  status: 'stored' | 'refused' | 'sent';
  /** Their words: why they refused, or what they did with it (e.g. "joined by policy ab12cd34"). */
  reason?: string;
}

export type DeliveryStage = 'connecting' | 'sending' | 'waiting';

/** Their answer, as the inbox stored it. */
export interface AckHeard {
  accepted: boolean;
  reason?: string;
}

export interface DeliverOptions {
  note?: string | undefined;
  /** Wait this long for their answer; 0 or no plugin here to receive it: do not wait. */
  timeoutMs: number;
  /** The rdv plugin runs here, so their acknowledgement can arrive. */
  canHearBack: boolean;
  onStage?: (stage: DeliveryStage) => void;
  /** The option that takes the address, for the error when there is none (--to, --pass-to). */
  addressOption: string;
  /**
   * Inside the plugin: the answer as the inbox stores it, told at once (called
   * before the invoice is sent, so no answer can come first). Without it the
   * datastore is read every 150 ms (rdv pass-back, in its own process).
   */
  hearAck?: (paymentHash: string, timeoutMs: number) => Promise<AckHeard | undefined>;
}

/** The invoice as a pass-back message, or why it cannot be one. */
export function passbackMessage(bolt11: string, note: string | undefined): Result<string> {
  const msg = encodePassback(note === undefined ? { kind: 'invoice', bolt11 } : { kind: 'invoice', bolt11, note });
  if (msg.length / 2 > MAX_PASSBACK_BYTES) return err('the invoice is too large for a peer message: pass it by hand (rdv pass-back --print)');
  return ok(msg);
}

/**
 * Connect (if needed), note whom the invoice goes to (only that node's answer is
 * believed, src/relay/inbox.ts), send it, and wait for the answer. Errors: what the
 * operator can act on (cannot connect, message too large).
 */
export async function deliverInvoice(node: LightningNode, peer: PeerAddress, paymentHash: string, bolt11: string, o: DeliverOptions): Promise<Result<Delivery>> {
  const msg = passbackMessage(bolt11, o.note);
  if (!msg.ok) return msg;
  o.onStage?.('connecting');
  if (peer.host !== undefined || !(await node.isConnected(peer.id))) {
    try {
      await node.connect(peer.id, peer.host, peer.port);
    } catch (e) {
      const why = e instanceof RdvError ? e.message.replace(/^lightningd refused connect: /, '') : String(e);
      return err(`cannot connect to ${shortHash(peer.id)}…: ${why}${peer.host ? '' : `; give its address: ${o.addressOption} <id>@host:port`}`);
    }
  }
  await node.deldatastore(ackKey(paymentHash));
  const passed = await node.datastoreUpsert(passedKey(paymentHash), JSON.stringify({ version: 1, to: peer.id, at: Math.floor(Date.now() / 1000) }));
  if (!passed.ok) return err('could not record whom the invoice goes to: nothing was sent');
  o.onStage?.('sending');
  const listening = o.canHearBack && o.timeoutMs > 0;
  const heard = listening && o.hearAck ? o.hearAck(paymentHash, o.timeoutMs) : undefined;
  await node.sendcustommsg(peer.id, msg.value);
  if (!listening) return ok({ status: 'sent' });
  o.onStage?.('waiting');
  const ack = await (heard ?? waitForAck(node, paymentHash, o.timeoutMs));
  if (!ack) return ok({ status: 'sent' });
  const reason = ack.reason === undefined ? {} : { reason: ack.reason };
  return ok({ status: ack.accepted ? 'stored' : 'refused', ...reason });
}

async function waitForAck(node: LightningNode, hash: string, timeoutMs: number): Promise<AckHeard | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entry = (await node.listdatastore(ackKey(hash))).find((e) => e.key.length === 4 && e.string !== undefined);
    if (entry?.string) {
      try {
        const r = Reader.of(JSON.parse(entry.string), 'ack');
        const reason = r.optStr('reason');
        return reason === undefined ? { accepted: r.bool('accepted') } : { accepted: r.bool('accepted'), reason };
      } catch {
        return undefined;
      }
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
