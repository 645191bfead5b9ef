/**
 * `rdv __complete hashes|inbox|policies` (hidden): what the shell completion scripts
 * ask the node for while the user presses Tab. It must never keep the shell
 * waiting or print into it: anything not known within DEADLINE_MS, and any
 * error (no node, bad config, an old lightningd), is printed as nothing, with
 * exit status 0.
 */
import { POLICY_KEY } from '../chain/policy/policy.js';
import { KEY_ROOT } from '../chain/record.js';
import { discoverSocket } from '../rpc/discover.js';
import { LightningNode } from '../rpc/node.js';
import { inboxLines, policyLines, recordLines } from '../ui/completion/node-lists.js';
import { NODE_LISTS, type NodeList } from '../ui/completion/spec.js';
import { assertNever } from '../errors.js';
import type { GlobalOptions } from './context.js';

/** How long a Tab may wait for the node, connecting included. */
export const DEADLINE_MS = 800;

const isNodeList = (s: string): s is NodeList => (NODE_LISTS as readonly string[]).includes(s);

export async function run(g: GlobalOptions, list: string): Promise<void> {
  // A list this rdv does not know (a newer script): nothing to offer.
  if (!isNodeList(list)) return;
  let node: LightningNode | undefined;
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => {
      expired = true;
      // Closing fails the pending call, so nothing keeps the process alive.
      node?.close();
      resolve([]);
    }, DEADLINE_MS);
  });
  const lines = (async (): Promise<string[]> => {
    const location = discoverSocket({ lightningDir: g.lightningDir, network: g.network, rpcFile: g.rpcFile, conf: g.conf });
    const connected = await LightningNode.connect(location.socketPath, 'rdv-complete', { connectTimeoutMs: DEADLINE_MS });
    node = connected;
    try {
      if (expired) return [];
      switch (list) {
        case 'hashes':
          return recordLines(await connected.listdatastore([...KEY_ROOT, 'relay']));
        case 'inbox':
          return inboxLines(await connected.listdatastore([...KEY_ROOT, 'inbox']));
        case 'policies':
          return policyLines(await connected.listdatastore([...POLICY_KEY]));
        default:
          return assertNever(list, 'completion list');
      }
    } finally {
      connected.close();
    }
  })().catch((): string[] => []);
  const out = await Promise.race([lines, deadline]);
  clearTimeout(timer);
  if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
}
