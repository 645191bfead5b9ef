/**
 * The part of askrene (plugins/askrene/askrene.c, layer.c) that the simulated
 * xpay and getroutes use: named layers that can disable nodes, with askrene's
 * parameter errors. A layer disables a node by dropping the node's outgoing
 * channel directions each time routes are computed, so a channel gossiped
 * later is disabled too.
 */
import type { NodeId } from '../chain/ids.js';
import { SimRpcError } from './rpc-server.js';

interface Layer {
  name: string;
  persistent: boolean;
  disabledNodes: NodeId[];
}

/** Layer names askrene computes itself (param_layer_names). */
const AUTO_LAYERS = ['auto.localchans', 'auto.sourcefree', 'auto.include_fees'];
const NODE_RE = /^0[23][0-9a-f]{64}$/;

export class Askrene {
  private readonly layers = new Map<string, Layer>();

  /** `developer`: lightningd runs with --developer, so bad-parameter errors quote the token. */
  constructor(private readonly developer: () => boolean) {}

  /** askrene restarts with lightningd: only persistent layers (kept in the datastore) survive. */
  restart(): void {
    for (const [name, l] of this.layers) if (!l.persistent) this.layers.delete(name);
  }

  /**
   * command_fail_badparam (common/json_command.c): the token is quoted only in
   * developer mode; otherwise lightningd logs it and says so.
   */
  private badParam(name: string, msg: string, token: unknown): SimRpcError {
    const text = typeof token === 'string' ? JSON.stringify(token) : JSON.stringify(token ?? null);
    return new SimRpcError(-32602, this.developer() ? `${name}: ${msg}: invalid token '${text}'` : `${name}: ${msg}: invalid token (see logs for details)`);
  }

  private knownLayer(params: Record<string, unknown>): Layer {
    if (params.layer === undefined) throw new SimRpcError(-32602, "missing required parameter: layer");
    if (typeof params.layer !== 'string') throw this.badParam('layer', 'should be a string', params.layer);
    const l = this.layers.get(params.layer);
    if (!l) throw this.badParam('layer', 'Unknown layer', params.layer);
    return l;
  }

  /**
   * param_layer_names: an array of known layer names (or auto.*). Throws the
   * error askrene gives; `name` is the parameter's name in that message.
   */
  checkLayerNames(value: unknown, name = 'layers'): string[] {
    if (!Array.isArray(value)) throw this.badParam(name, 'should be an array', value);
    for (const v of value) {
      if (typeof v !== 'string') throw this.badParam(name, 'should be a string', v);
      if (AUTO_LAYERS.includes(v)) continue;
      if (!this.layers.has(v)) throw this.badParam(name, 'unknown layer', v);
    }
    return value as string[];
  }

  /** Nodes disabled by any of these layers (unknown names are ignored: check them first). */
  disabledNodes(names: readonly string[]): Set<NodeId> {
    const out = new Set<NodeId>();
    for (const n of names) for (const id of this.layers.get(n)?.disabledNodes ?? []) out.add(id);
    return out;
  }

  createLayer(params: Record<string, unknown>): Record<string, unknown> {
    if (typeof params.layer !== 'string') throw new SimRpcError(-32602, 'missing required parameter: layer');
    const persistent = params.persistent === true || params.persistent === 'true';
    if (params.layer.startsWith('auto.')) throw new SimRpcError(-32602, 'Cannot create auto layer');
    // askrene: creating an existing layer is a no-op only when asked for a persistent one.
    let layer = this.layers.get(params.layer);
    if (layer && !persistent) throw new SimRpcError(-32602, 'Layer already exists');
    if (!layer) {
      layer = { name: params.layer, persistent, disabledNodes: [] };
      this.layers.set(layer.name, layer);
    }
    return { layers: [layerJson(layer)] };
  }

  removeLayer(params: Record<string, unknown>): Record<string, unknown> {
    this.layers.delete(this.knownLayer(params).name);
    return {};
  }

  disableNode(params: Record<string, unknown>): Record<string, unknown> {
    const layer = this.knownLayer(params);
    if (typeof params.node !== 'string' || !NODE_RE.test(params.node)) throw this.badParam('node', 'should be a node id', params.node);
    layer.disabledNodes.push(params.node as NodeId);
    return {};
  }

  listLayers(params: Record<string, unknown>): Record<string, unknown> {
    if (params.layer !== undefined) return { layers: [layerJson(this.knownLayer(params))] };
    return { layers: [...this.layers.values()].map(layerJson) };
  }
}

/** json_add_layer's shape (doc/schemas/askrene-listlayers.json), with nothing but disabled nodes filled. */
function layerJson(l: Layer): Record<string, unknown> {
  return { layer: l.name, persistent: l.persistent, disabled_nodes: [...l.disabledNodes], created_channels: [], channel_updates: [], constraints: [], biases: [], node_biases: [] };
}
