/**
 * lightningd's datastore, where rdv keeps its records: writes that say why they
 * did not happen (an entry already there, another writer's generation, nothing
 * to replace) instead of throwing, so that callers can compare and swap.
 */
import { Reader, ShapeError } from '../../chain/read.js';
import { RdvError } from '../../errors.js';
import { RpcError, type Rpc } from '../client.js';
import { read } from './call.js';

export interface DatastoreEntry {
  key: string[];
  generation: number | undefined;
  string: string | undefined;
}

export type DatastoreWrite = { ok: true; generation: number } | { ok: false; reason: 'exists' | 'wrong-generation' | 'missing' };

async function datastoreWrite(rpc: Rpc, params: Record<string, unknown>): Promise<DatastoreWrite> {
  try {
    const result = await rpc.call('datastore', params);
    return { ok: true, generation: Reader.of(result, 'datastore').int('generation') };
  } catch (e) {
    if (e instanceof RpcError) {
      if (e.code === 1202) return { ok: false, reason: 'exists' };
      if (e.code === 1204) return { ok: false, reason: 'wrong-generation' };
      if (e.code === 1200 || e.code === 1203) return { ok: false, reason: 'missing' };
      throw new RdvError('failed', `lightningd refused datastore: ${e.rpcMessage}`, { cause: e });
    }
    if (e instanceof ShapeError) throw new RdvError('failed', `unexpected reply from lightningd: ${e.message}`, { cause: e });
    throw e;
  }
}

export function datastoreCreate(rpc: Rpc, key: string[], value: string): Promise<DatastoreWrite> {
  return datastoreWrite(rpc, { key, string: value, mode: 'must-create' });
}

export function datastoreReplace(rpc: Rpc, key: string[], value: string, generation: number): Promise<DatastoreWrite> {
  return datastoreWrite(rpc, { key, string: value, mode: 'must-replace', generation });
}

export function datastoreUpsert(rpc: Rpc, key: string[], value: string): Promise<DatastoreWrite> {
  return datastoreWrite(rpc, { key, string: value, mode: 'create-or-replace' });
}

/** Entries one level below `key` (or the entry at `key`). */
export function listdatastore(rpc: Rpc, key: string[]): Promise<DatastoreEntry[]> {
  return read(rpc, 'listdatastore', { key }, (r) =>
    r.objects('datastore').map((d) => ({ key: d.strings('key'), generation: d.optInt('generation'), string: d.optStr('string') })),
  );
}

export async function deldatastore(rpc: Rpc, key: string[]): Promise<boolean> {
  try {
    await rpc.call('deldatastore', { key });
    return true;
  } catch (e) {
    if (e instanceof RpcError && e.code === 1200) return false;
    if (e instanceof RpcError) throw new RdvError('failed', `lightningd refused deldatastore: ${e.rpcMessage}`, { cause: e });
    throw e;
  }
}

/**
 * Delete `key` only if it is still at `generation` (lightningd's deldatastore
 * checks it): 'changed' when someone wrote it meanwhile, 'missing' when it is gone.
 */
export async function deldatastoreAt(rpc: Rpc, key: string[], generation: number): Promise<'deleted' | 'changed' | 'missing'> {
  try {
    await rpc.call('deldatastore', { key, generation });
    return 'deleted';
  } catch (e) {
    if (e instanceof RpcError && e.code === 1200) return 'missing';
    if (e instanceof RpcError && e.code === 1201) return 'changed';
    if (e instanceof RpcError) throw new RdvError('failed', `lightningd refused deldatastore: ${e.rpcMessage}`, { cause: e });
    throw e;
  }
}
