/**
 * lightningd's listchannelmoves for the simulated node (lightningd/coin_mvts.c
 * json_listchannelmoves, v26.06): the whole table, or with `index=created` the
 * moves whose created_index is at least `start`, at most `limit` of them.
 */
import { SimRpcError } from './rpc-server.js';

/** One row of the channel_moves table, with the fields listchannelmoves writes. */
export interface ChannelMove {
  created_index: number;
  account_id: string;
  credit_msat: bigint;
  debit_msat: bigint;
  timestamp: number;
  primary_tag: string;
  payment_hash?: string;
  part_id?: number;
  group_id?: bigint;
  fees_msat: bigint;
}

/** A move as it is added: created_index is the next one; timestamp (now) and fees_msat (0) may be given. */
export type NewChannelMove = Omit<ChannelMove, 'created_index' | 'timestamp' | 'fees_msat'> & { timestamp?: number; fees_msat?: bigint };

/** u64/u32 parameters as lightningd's param_u64/param_u32 take them: a JSON integer or a string of digits. */
function unsigned(params: Record<string, unknown>, name: string, max: bigint): number | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  const text = typeof v === 'number' || typeof v === 'bigint' ? String(v) : typeof v === 'string' ? v : '';
  if (!/^\d+$/.test(text) || BigInt(text) > max) {
    throw new SimRpcError(-32602, `${name}: should be an unsigned ${max > 2n ** 32n ? 64 : 32} bit integer: invalid token '${JSON.stringify(v)}'`);
  }
  return Number(text);
}

/** The reply's `channelmoves`, or lightningd's error for parameters it refuses. */
export function listChannelMoves(moves: readonly ChannelMove[], params: Record<string, unknown>): Array<Record<string, unknown>> {
  const index = params.index;
  if (index !== undefined && index !== 'created' && index !== 'updated' && index !== 'deleted') {
    throw new SimRpcError(-32602, `index: unknown index: invalid token '${JSON.stringify(index)}'`);
  }
  const start = unsigned(params, 'start', 2n ** 64n - 1n) ?? 0;
  const limit = unsigned(params, 'limit', 2n ** 32n - 1n);
  if (start !== 0 && index === undefined) throw new SimRpcError(-32602, 'Can only specify {start} with {index}');
  if (limit !== undefined && index === undefined) throw new SimRpcError(-32602, 'Can only specify {limit} with {index}');
  if (index !== undefined && index !== 'created') throw new SimRpcError(-32602, "index must be 'created', since channelmoves are never updated");
  // WHERE channel_moves.id >= ? ORDER BY channel_moves.id LIMIT ?
  // created_index grows along the table: the first row at or past `start` by bisection.
  let lo = 0;
  let hi = moves.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((moves[mid]?.created_index ?? Infinity) < start) lo = mid + 1;
    else hi = mid;
  }
  const rows = moves.slice(lo, limit === undefined ? undefined : lo + limit);
  return rows.map((m) => {
    const row: Record<string, unknown> = { created_index: m.created_index, account_id: m.account_id, credit_msat: m.credit_msat, debit_msat: m.debit_msat, timestamp: m.timestamp, primary_tag: m.primary_tag };
    if (m.payment_hash !== undefined) row.payment_hash = m.payment_hash;
    if (m.part_id !== undefined) row.part_id = m.part_id;
    if (m.group_id !== undefined) row.group_id = m.group_id;
    row.fees_msat = m.fees_msat;
    return row;
  });
}
