/**
 * The RPC methods about paying: xpay, listsendpays and `wait sendpays` (the
 * simulated xpay is ../payer.ts), sendpay and waitsendpay (../sendpay-rpc.ts), askrene's getroutes and its layers
 * (../askrene.ts), and getroute (deprecated in CLN v26).
 */
import type { NodeId } from '../../chain/ids.js';
import { msatParam } from '../invoices.js';
import { cheapestRoute } from '../routing.js';
import { SimRpcError } from '../rpc-server.js';
import { SendpayCommands } from '../sendpay-rpc.js';
import type { Method, Methods, NodeCore } from './core.js';

/** xpay, listsendpays, wait, getroutes, askrene's layer commands and getroute, answered for `node`. */
export function paymentMethods(node: NodeCore): Methods {
  const sendpay = new SendpayCommands(node.payer, node, node.net);
  return new Map<string, Method>([
    ['xpay', (params) => node.payer.xpay(params)],
    ['sendpay', (params) => sendpay.sendpay(params)],
    ['waitsendpay', (params) => sendpay.waitsendpay(params)],
    ['listsendpays', (params) => node.payer.listsendpays(params)],
    ['wait', (params) => node.payer.wait(params)],
    ['getroutes', (params) => getroutes(node, params)],
    ['askrene-create-layer', (params) => node.askrene.createLayer(params)],
    ['askrene-remove-layer', (params) => node.askrene.removeLayer(params)],
    ['askrene-disable-node', (params) => node.askrene.disableNode(params)],
    ['askrene-update-channel', (params) => node.askrene.updateChannel(params)],
    ['askrene-listlayers', (params) => node.askrene.listLayers(params)],
    ['askrene-age', (params) => node.askrene.age(params)],
    [
      'getroute',
      () => {
        throw new SimRpcError(-32601, 'Command "getroute" is deprecated');
      },
    ],
  ]);
}

/** askrene's getroutes: the cheapest path through the layers given, priced as askrene prices it. */
function getroutes(node: NodeCore, params: Record<string, unknown>): Record<string, unknown> {
  const source = String(params.source);
  const destination = String(params.destination);
  const amount = msatParam(params.amount_msat, 'amount_msat');
  const finalCltv = Number(params.final_cltv ?? 18);
  if (params.layers === undefined) throw new SimRpcError(-32602, 'missing required parameter: layers');
  const layers = node.askrene.checkLayerNames(params.layers);
  const sourceFree = layers.includes('auto.sourcefree');
  const edges = node.net.edges(node.id, new Map(), (c) => node.askrene.isDisabled(layers, c)).map((e) => (sourceFree && e.from === source ? { ...e, feeBaseMsat: 0n, feePpm: 0n, cltvDelta: 0 } : e));
  const route = cheapestRoute(edges, source as NodeId, destination as NodeId, amount, finalCltv);
  const maxfee = params.maxfee_msat === undefined ? undefined : msatParam(params.maxfee_msat, 'maxfee_msat');
  if (!route || (maxfee !== undefined && route.sentMsat - route.deliveredMsat > maxfee)) {
    throw new SimRpcError(205, `We could not find a usable set of paths: no path from ${source.slice(0, 8)} to ${destination.slice(0, 8)}`);
  }
  // askrene (plugins/askrene/child/child.c): hop i's amount_out and cltv_out are the HTLC's
  // on channel i (what node_id_out receives); amount_in and cltv_in add channel i's own fee
  // and delay, charged by node_id_in (none for our own channel under auto.sourcefree).
  const path = route.hops.map((hop) => {
    const own = edges.find((e) => e.scid === hop.scid && e.from === hop.from);
    const feeIn = own ? own.feeBaseMsat + (hop.amountMsat * own.feePpm) / 1_000_000n : 0n;
    return {
      short_channel_id_dir: `${hop.scid}/${hop.from < hop.to ? 0 : 1}`,
      node_id_in: hop.from,
      node_id_out: hop.to,
      amount_in_msat: hop.amountMsat + feeIn,
      amount_out_msat: hop.amountMsat,
      cltv_in: hop.delay + (own?.cltvDelta ?? 0),
      cltv_out: hop.delay,
    };
  });
  return { probability_ppm: 998_333, routes: [{ probability_ppm: 998_333, amount_msat: amount, final_cltv: finalCltv, path }] };
}
