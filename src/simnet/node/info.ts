/**
 * The RPC methods about lightningd itself and the chain it follows: getinfo,
 * getchaininfo (bcli's answer) and waitblockheight.
 */
import { SimRpcError } from '../rpc-server.js';
import { sleep } from '../sleep.js';
import type { Method, Methods, NodeCore } from './core.js';

/** getinfo, getchaininfo and waitblockheight, answered for `node`. */
export function infoMethods(node: NodeCore): Methods {
  return new Map<string, Method>([
    [
      'getinfo',
      () => ({
        id: node.id,
        alias: node.name,
        color: node.id.slice(2, 8),
        num_peers: node.peers.size,
        num_pending_channels: 0,
        num_active_channels: node.net.channels.filter((c) => c.has(node)).length,
        num_inactive_channels: 0,
        address: [],
        binding: [{ type: 'ipv4', address: '127.0.0.1', port: node.port }],
        version: node.version,
        blockheight: node.net.height,
        network: 'regtest',
        fees_collected_msat: 0,
        'lightning-dir': node.netDir,
        our_features: { init: '800898880a8a59a1', node: '808898880a8a59a1', channel: '', invoice: '02000002024100' },
      }),
    ],
    // bcli's answer: what bitcoind knows, even while lightningd catches up.
    ['getchaininfo', () => ({ chain: 'regtest', headercount: node.net.height, blockcount: node.net.height, ibd: false })],
    [
      'waitblockheight',
      async (params) => {
        const target = Number(params.blockheight);
        const deadline = Date.now() + Number(params.timeout ?? 60) * 1000;
        while (node.net.height < target) {
          if (Date.now() >= deadline) throw new SimRpcError(2000, 'Timed out.');
          await sleep(20);
        }
        return { blockheight: node.net.height };
      },
    ],
  ]);
}
