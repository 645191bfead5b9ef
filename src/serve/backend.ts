/**
 * What rdv serve asks of the node, over lightningd's RPC socket like the CLI
 * (never from inside the plugin): an invoice from the chain and a wrap (the
 * plugin's rdv-request and rdv-wrap, through src/rpc/request.ts, the one client
 * of both), the policy an address asks through (found as rdv-request finds it),
 * verify tokens in the datastore, and a payment's settlement from the first
 * payee's own record. CLN errors become outcomes here; nothing above reads an RpcError.
 */
import { preimageMatches, type PaymentHash, type Preimage } from '../chain/ids.js';
import { viaPolicy } from '../chain/policy/book.js';
import type { Policy } from '../chain/policy/policy.js';
import { ShapeError } from '../chain/read.js';
import { RdvError, err, type Result } from '../errors.js';
import type { LightningNode } from '../rpc/node.js';
import { loadBook } from '../rpc/policies.js';
import { loadRecord } from '../rpc/records.js';
import { entryExpired, parseEntry, serializeEntry, SERVE_KEY, tokenKey, type VerifyEntry } from './tokens.js';

/**
 * Why an address's policy cannot be used: `none`, the book has no relay policy
 * for it that applies now (the reason says which); `unreadable`, the book cannot
 * be read; `unreachable`, lightningd is not answering.
 */
export interface PolicyProblem {
  kind: 'none' | 'unreadable' | 'unreachable';
  reason: string;
}

/**
 * The relay policy `via` names now, as the plugin's rdv-request finds it
 * (src/chain/policy/book.ts viaPolicy: by id or by its --from node, and not expired).
 */
export async function loadPolicy(node: LightningNode, via: string, now: number): Promise<Result<Policy, PolicyProblem>> {
  try {
    const found = viaPolicy((await loadBook(node)).book, via, now);
    return found.ok ? found : err({ kind: 'none', reason: found.error });
  } catch (e) {
    if (e instanceof ShapeError) return err({ kind: 'unreadable', reason: `the policy book is unreadable (${e.message}): see rdv policy list` });
    if (e instanceof RdvError && e.kind === 'unreachable') return err({ kind: 'unreachable', reason: e.message });
    throw e;
  }
}

/** Store a new token; false if one with that key exists (16 random bytes: never, in practice). */
export async function storeToken(node: LightningNode, token: string, entry: VerifyEntry): Promise<boolean> {
  return (await node.datastoreCreate(tokenKey(token), serializeEntry(entry))).ok;
}

/** The token's entry, if it exists and has not expired. An unreadable one counts as absent. */
export async function loadToken(node: LightningNode, token: string, now: number): Promise<VerifyEntry | undefined> {
  const key = tokenKey(token);
  const e = (await node.listdatastore(key)).find((x) => x.key.length === key.length && x.key.at(-1) === token);
  if (e?.string === undefined) return undefined;
  try {
    const entry = parseEntry(e.string);
    return entryExpired(entry, now) ? undefined : entry;
  } catch (x) {
    if (x instanceof ShapeError) return undefined;
    throw x;
  }
}

/**
 * The preimage, if this node's record says the payment settled: the first
 * payee's relay record, settled, with a preimage that hashes to the hash.
 * Anything else (no record, unpaid, a last payee's record) is "not settled".
 */
export async function settledPreimage(node: LightningNode, hash: PaymentHash): Promise<Preimage | undefined> {
  let stored;
  try {
    stored = await loadRecord(node, hash);
  } catch (e) {
    if (e instanceof ShapeError) return undefined;
    throw e;
  }
  const r = stored?.record;
  if (r?.role !== 'relay' || r.state !== 'settled' || r.preimage === undefined) return undefined;
  return preimageMatches(r.preimage, hash) ? r.preimage : undefined;
}

/** Remove expired verify tokens (deleted at the generation read, so a rewrite in between wins). */
export async function pruneTokens(node: LightningNode, now: number): Promise<{ removed: number; unreadable: number }> {
  let removed = 0;
  let unreadable = 0;
  for (const e of await node.listdatastore([...SERVE_KEY])) {
    if (e.key.length !== SERVE_KEY.length + 1 || e.generation === undefined) continue;
    let entry: VerifyEntry;
    try {
      entry = parseEntry(e.string ?? '');
    } catch (x) {
      if (!(x instanceof ShapeError)) throw x;
      unreadable++;
      continue;
    }
    if (entryExpired(entry, now) && (await node.deldatastoreAt(e.key, e.generation)) === 'deleted') removed++;
  }
  return { removed, unreadable };
}
