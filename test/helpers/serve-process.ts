/**
 * `rdv serve` as its own process (src/demo/serve.ts), run from this package's
 * bin/rdv against a node, with its first line typed as `rdv serve --json` writes it.
 */
import { startServe, type ServeProcess as Started } from '../../src/demo/serve.js';
import { RDV_BIN } from './paths.js';

/** What `rdv serve --json` says first. */
export interface ServeStarted {
  listening: string;
  public_url: string;
  node_id: string;
  addresses: Array<{ name: string; via: string; policy: string; min_sendable_msat: number; max_sendable_msat: number; address: string }>;
  wrap: string | null;
}

export type ServeProcess = Omit<Started, 'started'> & { started: ServeStarted };

/** Start bin/rdv serve against `node` with `args` (after `serve`); resolves once it listens. */
export async function startServeProcess(node: { dir: string }, args: string[], ms = 30_000): Promise<ServeProcess> {
  const p = await startServe(RDV_BIN, node.dir, args, ms);
  return { ...p, started: p.started as unknown as ServeStarted };
}
