/**
 * `rdv pass-back <hash>`: hand our invoice to the previous payee. Over a peer
 * message (their rdv stores it in their inbox and acknowledges), or by hand
 * (--print, --qr, --out).
 */
import { writeFileSync } from 'node:fs';
import { shortHash } from '../chain/ids.js';
import { parsePassTo } from '../chain/policy/input.js';
import { failedError, inputError, usageError } from '../errors.js';
import { deliverInvoice, passbackMessage, type Delivery, type PeerAddress } from '../rpc/pass-back.js';
import type { LightningNode } from '../rpc/node.js';
import { makeOutput, withNode, type GlobalOptions } from './context.js';
import { pluginState } from './plugin-check.js';
import { checkHashPrefix, findRecord } from './records.js';

export interface PassBackOptions {
  to?: string;
  note?: string;
  print?: boolean;
  qr?: boolean;
  out?: string;
  timeout?: string;
}

/** "id", "id@host", "id@host:port", "id@[::1]:port" (the parser rdv policy's --pass-to uses too). */
export function parsePeerAddress(text: string): PeerAddress {
  const r = parsePassTo(text, '--to');
  if (!r.ok) throw inputError(r.error);
  return r.value;
}

export async function run(g: GlobalOptions, hashArg: string, opts: PassBackOptions): Promise<void> {
  const out = makeOutput(g);
  const prefix = checkHashPrefix(hashArg);
  const peer = opts.to !== undefined ? parsePeerAddress(opts.to) : undefined;
  const timeoutSeconds = Number(opts.timeout ?? '10');
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0 || timeoutSeconds > 600) throw inputError('--timeout must be a whole number of seconds from 0 to 600');
  if (opts.note !== undefined && Buffer.byteLength(opts.note) > 200) throw inputError('--note is longer than 200 bytes');
  if (!peer && !opts.print && !opts.qr && !opts.out) {
    throw usageError('say how to pass it: --to <node_id>[@host:port], --print, --qr or --out FILE');
  }

  await withNode(g, async (node) => {
    const record = await findRecord(node, prefix);
    const now = Math.floor(Date.now() / 1000);
    if (record.expiresAt <= now) throw inputError(`your invoice ${shortHash(record.paymentHash)} has expired: join again with a fresh invoice`);
    const bolt11 = record.bolt11;
    if (opts.out) {
      try {
        writeFileSync(opts.out, `${bolt11}\n`);
      } catch (e) {
        throw inputError(`cannot write ${opts.out}: ${(e as Error).message}`);
      }
      out.info(`wrote the invoice to ${opts.out}`);
    }
    if (opts.print) out.result(bolt11);
    if (opts.qr) await out.qr(bolt11, true);
    let delivery: Delivery | undefined;
    if (peer) delivery = await sendToPeer(node, peer, record.paymentHash, bolt11, opts.note, timeoutSeconds, out);
    out.json({ payment_hash: record.paymentHash, bolt11, ...(peer ? { to: peer.id, delivery } : {}), ...(opts.out ? { file: opts.out } : {}) });
    if (delivery?.status === 'refused') throw failedError(`${shortHash(peer?.id ?? '')}… refused the invoice: ${delivery.reason ?? 'no reason given'}`);
  });
}

async function sendToPeer(
  node: LightningNode,
  peer: PeerAddress,
  hash: string,
  bolt11: string,
  note: string | undefined,
  timeoutSeconds: number,
  out: ReturnType<typeof makeOutput>,
): Promise<Delivery> {
  const info = await node.getinfo();
  if (peer.id === info.id) throw inputError('--to is this node itself: give the previous payee\'s node id');
  const message = passbackMessage(bolt11, note);
  if (!message.ok) throw inputError(message.error);
  const plugin = await pluginState(node);
  const spinner = await out.spinner(`Connecting to ${shortHash(peer.id)}…`);
  try {
    const sent = await deliverInvoice(node, peer, hash, bolt11, {
      note,
      timeoutMs: timeoutSeconds * 1000,
      canHearBack: plugin?.loaded === true,
      addressOption: '--to',
      onStage: (stage) => {
        if (stage === 'sending') spinner.update(`Sending the invoice to ${shortHash(peer.id)}…`);
        if (stage === 'waiting') spinner.update(`Waiting for ${shortHash(peer.id)}… to confirm`);
      },
    });
    if (!sent.ok) throw failedError(sent.error);
    const delivery = sent.value;
    if (delivery.status === 'sent') {
      spinner.stop();
      if (!plugin?.loaded) {
        out.warn('sent, but the rdv plugin is not loaded here, so no delivery confirmation can arrive');
        out.result(`sent invoice ${shortHash(hash)} to ${peer.id}`);
      } else {
        out.warn(`sent, but ${shortHash(peer.id)}… did not confirm within ${timeoutSeconds} s: is rdv loaded on their node? (or use --print to pass it by hand)`);
        out.result(`sent invoice ${shortHash(hash)} to ${peer.id} (unconfirmed)`);
      }
      return delivery;
    }
    if (delivery.status === 'refused') {
      spinner.fail(`${shortHash(peer.id)}… refused it`);
      return delivery;
    }
    if (delivery.reason !== undefined) {
      // Their rdv joined it by itself (rdv policy): nothing for them to type.
      spinner.succeed(`${shortHash(peer.id)}… ${delivery.reason}`);
      out.result(`delivered invoice ${shortHash(hash)} to ${peer.id}: ${delivery.reason}`);
      return delivery;
    }
    spinner.succeed(`${shortHash(peer.id)}… stored it in its rdv inbox`);
    out.result(`delivered invoice ${shortHash(hash)} to ${peer.id}`);
    out.info(`They join with: rdv join --from-inbox ${shortHash(hash)}`);
    return delivery;
  } finally {
    spinner.stop();
  }
}
