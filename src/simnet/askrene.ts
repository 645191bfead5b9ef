/**
 * The part of askrene (plugins/askrene/askrene.c, layer.c) that the simulated
 * xpay and getroutes use: named layers that can disable nodes and channel
 * directions, with askrene's parameter errors. A layer disables a node by
 * dropping the node's outgoing directions of channels in gossip each time routes
 * are computed (so a channel gossiped later is disabled too, and a private one
 * never is), and a channel direction by any of its names.
 */
import type { NodeId } from '../chain/ids.js';
import { SimRpcError } from './rpc-server.js';

interface Layer {
  name: string;
  persistent: boolean;
  disabledNodes: NodeId[];
  /** Channel directions disabled with askrene-update-channel enabled=false ("scid/dir", a real scid or an alias). */
  disabledChannels: string[];
}

/** What askrene knows of one channel direction when it applies layers. */
export interface DirectedChannel {
  from: NodeId;
  /** In gossip (announced, with a real scid): only such channels are in the gossmap that askrene-disable-node walks. */
  announced: boolean;
  /** Every name the channel has (real scid, aliases). */
  names: string[];
  /** 0 when `from` is the lesser node id. */
  dir: 0 | 1;
}

/** Layer names askrene computes itself (param_layer_names). */
const AUTO_LAYERS = ['auto.localchans', 'auto.sourcefree', 'auto.include_fees'];
const NODE_RE = /^0[23][0-9a-f]{64}$/;

/** How long xpay keeps what it learned: it ages its layer every 60 s with a cutoff of an hour ago (xpay.c age_layer). */
export const XPAY_LEARNED_S = 3600;

export class Askrene {
  private readonly layers = new Map<string, Layer>();
  /**
   * What xpay told its own persistent layer `xpay` (askrene-inform-channel
   * constrained, after a temporary_channel_failure): by "scid/from node", the
   * most the direction can carry and when it was learned (Unix seconds). Every
   * xpay of this node routes with it, until it ages out or askrene-age drops it.
   */
  private readonly learned = new Map<string, { maxMsat: bigint; at: number }>();

  /** `developer`: lightningd runs with --developer, so bad-parameter errors quote the token. */
  constructor(private readonly developer: () => boolean) {
    // xpay creates its own persistent layer at startup (xpay.c: askrene-create-layer xpay persistent).
    this.layers.set('xpay', { name: 'xpay', persistent: true, disabledNodes: [], disabledChannels: [] });
  }

  /** askrene restarts with lightningd: only persistent layers (kept in the datastore) survive, xpay's among them. */
  restart(): void {
    for (const [name, l] of this.layers) if (!l.persistent) this.layers.delete(name);
  }

  /** xpay's channel_capacity: `scid` from `from` cannot carry `failedMsat` (it can carry at most one msat less). */
  learnCapacity(scid: string, from: NodeId, failedMsat: bigint, nowS: number): void {
    const key = `${scid}/${from}`;
    const maxMsat = failedMsat - 1n;
    const had = this.learned.get(key);
    if (!had || maxMsat < had.maxMsat || had.at < nowS - XPAY_LEARNED_S) this.learned.set(key, { maxMsat, at: nowS });
    else this.learned.set(key, { maxMsat: had.maxMsat, at: nowS });
  }

  /** The most xpay's layer says `scid` from `from` can carry now, if it says anything. */
  learnedMax(scid: string, from: NodeId, nowS: number): bigint | undefined {
    const l = this.learned.get(`${scid}/${from}`);
    return l && l.at >= nowS - XPAY_LEARNED_S ? l.maxMsat : undefined;
  }

  /** askrene-age: drop what `layer` learned before `cutoff` (only xpay's learned capacities are kept here). */
  age(params: Record<string, unknown>): Record<string, unknown> {
    const layer = this.knownLayer(params);
    const cutoff = Number(params.cutoff);
    if (!Number.isSafeInteger(cutoff) || cutoff < 0) throw this.badParam('cutoff', 'should be an unsigned 64 bit integer', params.cutoff);
    let removed = 0;
    if (layer.name === 'xpay') {
      for (const [k, v] of this.learned) {
        if (v.at < cutoff) {
          this.learned.delete(k);
          removed++;
        }
      }
    }
    return { layer: layer.name, num_removed: removed };
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


  /**
   * Is this channel direction disabled by these layers? layer_add_localmods disables
   * the gossmap channels out of a disabled node (so not a private or unconfirmed
   * channel, which only auto.localchans knows), and any direction named in an
   * askrene-update-channel with enabled=false.
   */
  isDisabled(names: readonly string[], c: DirectedChannel): boolean {
    for (const n of names) {
      const l = this.layers.get(n);
      if (!l) continue;
      if (c.announced && l.disabledNodes.includes(c.from)) return true;
      if (c.names.some((name) => l.disabledChannels.includes(`${name}/${c.dir}`))) return true;
    }
    return false;
  }

  updateChannel(params: Record<string, unknown>): Record<string, unknown> {
    const layer = this.knownLayer(params);
    const scidd = params.short_channel_id_dir;
    if (typeof scidd !== 'string' || !/^\d+x\d+x\d+\/[01]$/.test(scidd)) throw this.badParam('short_channel_id_dir', 'should be a short_channel_id_dir', scidd);
    if (params.enabled === false && !layer.disabledChannels.includes(scidd)) layer.disabledChannels.push(scidd);
    if (params.enabled === true) layer.disabledChannels = layer.disabledChannels.filter((x) => x !== scidd);
    return {};
  }

  createLayer(params: Record<string, unknown>): Record<string, unknown> {
    if (typeof params.layer !== 'string') throw new SimRpcError(-32602, 'missing required parameter: layer');
    const persistent = params.persistent === true || params.persistent === 'true';
    if (params.layer.startsWith('auto.')) throw new SimRpcError(-32602, 'Cannot create auto layer');
    // askrene: creating an existing layer is a no-op only when asked for a persistent one.
    let layer = this.layers.get(params.layer);
    if (layer && !persistent) throw new SimRpcError(-32602, 'Layer already exists');
    if (!layer) {
      layer = { name: params.layer, persistent, disabledNodes: [], disabledChannels: [] };
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
  return {
    layer: l.name,
    persistent: l.persistent,
    disabled_nodes: [...l.disabledNodes],
    created_channels: [],
    channel_updates: l.disabledChannels.map((scidd) => ({ short_channel_id_dir: scidd, enabled: false })),
    constraints: [],
    biases: [],
    node_biases: [],
  };
}
