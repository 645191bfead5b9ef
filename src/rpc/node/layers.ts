/**
 * askrene layers, rdv's handle on xpay's routing: each xpay rdv starts routes
 * over a fresh layer of its own, empty until the relay closes the route
 * (disables our node and our channels in it, so that xpay starts no new
 * attempt); the runner (src/relay/) decides when, and when a layer may go.
 */
import type { NodeId } from '../../chain/ids.js';
import { RpcError, type Rpc } from '../client.js';
import { call, read } from './call.js';

/** A fresh, non-persistent layer. Throws a `failed` RdvError if askrene refuses (e.g. it exists). */
export async function createLayer(rpc: Rpc, layer: string): Promise<void> {
  await call(rpc, 'askrene-create-layer', { layer });
}

/** Remove a layer; false if there was none. */
export async function removeLayer(rpc: Rpc, layer: string): Promise<boolean> {
  try {
    await rpc.call('askrene-remove-layer', { layer });
    return true;
  } catch (e) {
    if (e instanceof RpcError) return false;
    throw e;
  }
}

/** Routes using `layer` leave `node`'s channels in gossip out. */
export async function disableNode(rpc: Rpc, layer: string, node: NodeId): Promise<void> {
  await call(rpc, 'askrene-disable-node', { layer, node });
}

/** Routes using `layer` do not use this channel direction ("scid/dir", a real scid or an alias). */
export async function disableChannel(rpc: Rpc, layer: string, shortChannelIdDir: string): Promise<void> {
  await call(rpc, 'askrene-update-channel', { layer, short_channel_id_dir: shortChannelIdDir, enabled: false });
}

/** Names of askrene's layers. */
export function listLayers(rpc: Rpc): Promise<string[]> {
  return read(rpc, 'askrene-listlayers', {}, (r) => r.objects('layers').map((l) => l.str('layer')));
}
