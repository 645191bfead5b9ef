/**
 * The RPC methods about our invoices and invoices in general: invoice (with
 * route hints made as CLN's are, and deschashonly), listinvoices, delinvoice, signinvoice, decode
 * (BOLT 11, and the simulator's own BOLT 12 strings), and decodepay (gone from
 * CLN v26). The invoice book itself is ../invoices.ts.
 */
import { resignInvoice, type RouteHintHop } from '../../chain/bolt11.js';
import { badSignature, decodeJson as decodeBolt12Json, decodeSimBolt12, unparsable } from '../bolt12.js';
import { decodeJson, invoiceJson, msatParam } from '../invoices.js';
import { SimRpcError } from '../rpc-server.js';
import type { Method, Methods, NodeCore } from './core.js';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** CLN's common/bolt11.h: the most bytes a tagged field (here `d`) can hold, ((1 << 10) * 5 / 8) - 1. */
const BOLT11_FIELD_BYTE_LIMIT = 639;

/** invoice, listinvoices, delinvoice, signinvoice, decode and decodepay, answered for `node`. */
export function invoiceMethods(node: NodeCore): Methods {
  return new Map<string, Method>([
    [
      'invoice',
      (params) => {
        const now = nowSeconds();
        if (typeof params.label !== 'string' && typeof params.label !== 'number') throw new SimRpcError(-32602, 'label: missing');
        if (typeof params.description !== 'string') throw new SimRpcError(-32602, 'description: missing');
        const hashOnly = params.deschashonly ?? false;
        if (typeof hashOnly !== 'boolean') throw new SimRpcError(-32602, `deschashonly: should be 'true' or 'false': invalid token '${JSON.stringify(hashOnly)}'`);
        // lightningd/invoice.c: a `d` field holds at most 639 bytes; a hash of any description fits.
        const descriptionBytes = Buffer.byteLength(params.description, 'utf8');
        if (descriptionBytes > BOLT11_FIELD_BYTE_LIMIT && !hashOnly) {
          throw new SimRpcError(-32602, `Description greater than ${BOLT11_FIELD_BYTE_LIMIT} bytes invalid (description length ${descriptionBytes})`);
        }
        const inv = node.invoices.create({
          amountMsat: msatParam(params.amount_msat, 'amount_msat'),
          label: String(params.label),
          description: params.description,
          descriptionHashOnly: hashOnly,
          expiry: typeof params.expiry === 'number' ? params.expiry : 604_800,
          cltv: typeof params.cltv === 'number' ? params.cltv : node.cltvFinal,
          now,
          routeHints: routeHints(node),
        });
        return { payment_hash: inv.paymentHash, expires_at: inv.expiresAt, bolt11: inv.bolt11, payment_secret: inv.paymentSecret, created_index: inv.createdIndex };
      },
    ],
    [
      'listinvoices',
      (params) => {
        node.invoices.refreshExpiry(nowSeconds());
        const list = node.invoices.all().filter(
          (i) => (params.label === undefined || i.label === String(params.label)) && (params.payment_hash === undefined || i.paymentHash === params.payment_hash),
        );
        return { invoices: list.map(invoiceJson) };
      },
    ],
    ['delinvoice', (params) => invoiceJson(node.invoices.delete(String(params.label), String(params.status)))],
    [
      'signinvoice',
      (params) => {
        if (typeof params.invstring !== 'string') throw new SimRpcError(-32602, 'invstring: missing');
        try {
          return { bolt11: resignInvoice(params.invstring, node.privateKey) };
        } catch (e) {
          throw new SimRpcError(-32602, `invstring: Unparsable invoice: ${(e as Error).message}`);
        }
      },
    ],
    [
      'decode',
      (params) => {
        if (typeof params.string !== 'string') throw new SimRpcError(-32602, 'string: missing');
        // BOLT 12 strings are the simulator's own (../bolt12.ts); rdv reads them only through this decode.
        if (/^(lightning:)?ln[oi]1/i.test(params.string)) {
          const d = decodeSimBolt12(params.string);
          if (!d) throw unparsable(params.string);
          if (d.kind === 'invoice' && !d.valid) throw badSignature(params.string);
          return decodeBolt12Json(d);
        }
        return decodeJson(params.string);
      },
    ],
    [
      'decodepay',
      () => {
        throw new SimRpcError(-32601, "Unknown command 'decodepay'");
      },
    ],
  ]);
}

/**
 * Route hints as CLN's invoice makes them (lightningd/routehint.c), for the
 * channels a payer cannot find in gossip: unannounced ones and announced
 * ones still without a real scid (zero-conf). The hint names the channel as
 * the peer knows it: our remote alias (the peer's local alias) for those,
 * the real scid otherwise. Only channels that can take HTLCs, with the peer
 * online.
 */
function routeHints(node: NodeCore): RouteHintHop[][] {
  return node.net.channels
    .filter((c) => c.has(node) && c.enabled && c.canAddHtlc() && c.other(node).up && (c.isPrivate || c.scid === undefined))
    .map((c) => {
      const peer = c.other(node);
      const policy = c.policy.get(peer.id);
      return [
        {
          pubkey: peer.id,
          shortChannelId: c.isPrivate || c.scid === undefined ? c.remoteAlias(node) : c.scid,
          feeBaseMsat: Number(policy?.feeBaseMsat ?? 1000n),
          feeProportionalMillionths: Number(policy?.feePpm ?? 10n),
          cltvExpiryDelta: policy?.cltvDelta ?? 34,
        },
      ];
    });
}
