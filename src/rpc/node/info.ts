/**
 * What lightningd is and offers: who it is (getinfo, refusing a CLN too old for
 * rdv), a config value, the chain's tip as its bitcoin backend knows it, and
 * whether it has an RPC command.
 */
import { isSupportedVersion, MIN_CLN_VERSION_TEXT } from '../../chain/cln-version.js';
import type { NodeId } from '../../chain/ids.js';
import { isNetworkName, type NetworkName } from '../../chain/network.js';
import type { NodeAddress } from '../../chain/node-facts.js';
import { Reader, ShapeError } from '../../chain/read.js';
import { RdvError } from '../../errors.js';
import { RpcError, type Rpc } from '../client.js';
import { NODE_RE, read, readIfAnswered } from './call.js';

export interface NodeInfo {
  id: NodeId;
  alias: string;
  version: string;
  blockheight: number;
  network: NetworkName;
  /** What we announce to the world (getinfo `address`). */
  addresses: NodeAddress[];
  /** Where we listen (getinfo `binding`). */
  bindings: NodeAddress[];
}

function readAddress(a: Reader): NodeAddress {
  return { type: a.str('type'), address: a.optStr('address') ?? a.optStr('socket'), port: a.optInt('port') };
}

export function getinfo(rpc: Rpc): Promise<NodeInfo> {
  return read(rpc, 'getinfo', {}, (r) => {
    const network = r.str('network');
    if (!isNetworkName(network)) throw new ShapeError(`getinfo.network: unknown network ${network}`);
    return {
      id: r.match<NodeId>('id', NODE_RE, 'a node id'),
      alias: r.optStr('alias') ?? '',
      version: r.str('version'),
      blockheight: r.int('blockheight'),
      network,
      addresses: r.optObjects('address').map(readAddress),
      bindings: r.optObjects('binding').map(readAddress),
    };
  });
}

/** getinfo, refusing a CLN older than MIN_CLN_VERSION. */
export async function checkedInfo(rpc: Rpc): Promise<NodeInfo> {
  const info = await getinfo(rpc);
  if (!isSupportedVersion(info.version)) {
    throw new RdvError('failed', `this node runs Core Lightning ${info.version}; rdv needs ${MIN_CLN_VERSION_TEXT} or newer (signinvoice, xpay maxdelay, decode): upgrade lightningd`);
  }
  return info;
}

/**
 * The chain's tip as the bitcoin backend knows it (bcli's getchaininfo
 * headercount), or undefined. After a restart lightningd re-processes recent
 * blocks one by one, so its own blockheight (getinfo, block_added, hook
 * heights) lags the tip for a while; xpay counts from the headercount.
 */
export function chainTip(rpc: Rpc): Promise<number | undefined> {
  return readIfAnswered(rpc, 'getchaininfo', { last_height: 0 }, (r) => r.optInt('headercount'));
}

/** A numeric config value (e.g. cltv-final), or undefined if lightningd does not say. */
export function configInt(rpc: Rpc, name: string): Promise<number | undefined> {
  return readIfAnswered(rpc, 'listconfigs', { config: name }, (r) => r.optObj('configs')?.optObj(name)?.optInt('value_int'));
}

/** Does lightningd offer this RPC command (`help command=...`)? false for an unknown, deprecated or developer-only one. */
export async function hasCommand(rpc: Rpc, name: string): Promise<boolean> {
  try {
    Reader.of(await rpc.call('help', { command: name }), 'help').objects('help');
    return true;
  } catch (e) {
    if (e instanceof RpcError && e.code === -32601) return false;
    if (e instanceof RpcError) throw new RdvError('failed', `lightningd refused help: ${e.rpcMessage}`, { cause: e });
    if (e instanceof ShapeError) throw new RdvError('failed', `unexpected reply from lightningd: ${e.message}`, { cause: e });
    throw e;
  }
}
