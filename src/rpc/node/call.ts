/**
 * How every wrapper of src/rpc/node/ calls lightningd and reads its reply: a CLN
 * error becomes a `failed` RdvError naming the call, a reply of the wrong shape
 * one naming the field; `readIfAnswered` for facts rdv can do without.
 */
import { Reader, ShapeError } from '../../chain/read.js';
import { RdvError } from '../../errors.js';
import { RpcError, type Rpc } from '../client.js';

export const HASH_RE = /^[0-9a-f]{64}$/;
export const NODE_RE = /^0[23][0-9a-f]{64}$/;

/** Call and turn any CLN error into a `failed` RdvError naming the call. */
export async function call(rpc: Rpc, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  try {
    return await rpc.call(method, params);
  } catch (e) {
    if (e instanceof RpcError) {
      throw new RdvError('failed', `lightningd refused ${method}: ${e.rpcMessage}`, { cause: e });
    }
    throw e;
  }
}

/** Call, then parse the reply with `parse`; a ShapeError becomes a `failed` RdvError. */
export async function read<T>(rpc: Rpc, method: string, params: Record<string, unknown>, parse: (r: Reader) => T): Promise<T> {
  const result = await call(rpc, method, params);
  try {
    return parse(Reader.of(result, method));
  } catch (e) {
    if (e instanceof ShapeError) throw new RdvError('failed', `unexpected reply from lightningd: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Like read, but undefined when lightningd refuses the call or answers in an unexpected shape: for facts rdv can do without. */
export async function readIfAnswered<T>(rpc: Rpc, method: string, params: Record<string, unknown>, parse: (r: Reader) => T | undefined): Promise<T | undefined> {
  try {
    return parse(Reader.of(await rpc.call(method, params), method));
  } catch (e) {
    if (e instanceof RpcError || e instanceof ShapeError) return undefined;
    throw e;
  }
}
