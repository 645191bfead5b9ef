/**
 * lightningd's `help` (lightningd/jsonrpc.c json_help): `{help:[{command:
 * "<name> <usage>"}], "format-hint":"simple"}`, and for an unknown command
 * error -32601 "Unknown command <name>". The usage lines are those of CLN
 * v26.06's request schemas (doc/schemas/*.json), for the commands this fake serves.
 */
import { SimRpcError } from './rpc-server.js';

const USAGE: Record<string, string> = {
  getinfo: '',
  invoice: 'amount_msat label description [expiry] [fallbacks] [preimage] [exposeprivatechannels] [cltv] [deschashonly]',
  listinvoices: '[label] [invstring] [payment_hash] [offer_id] [index] [start] [limit]',
  delinvoice: 'label status [desconly]',
  signinvoice: 'invstring',
  decode: 'string',
  datastore: 'key [string] [hex] [mode] [generation]',
  listdatastore: '[key]',
  deldatastore: 'key [generation]',
  xpay: 'invstring [amount_msat] [maxfee] [layers] [retry_for] [partial_msat] [maxdelay] [payer_note] [label] [localinvreqid]',
  listsendpays: '[bolt11] [payment_hash] [status] [index] [start] [limit]',
  getroutes: 'source destination amount_msat layers maxfee_msat final_cltv [maxdelay] [maxparts]',
  'askrene-create-layer': 'layer [persistent]',
  'askrene-remove-layer': 'layer',
  'askrene-disable-node': 'layer node',
  'askrene-update-channel': 'layer short_channel_id_dir [enabled] [htlc_minimum_msat] [htlc_maximum_msat] [fee_base_msat] [fee_proportional_millionths] [cltv_expiry_delta]',
  'askrene-listlayers': '[layer]',
  listpeerchannels: '[id] [short_channel_id] [channel_id]',
  connect: 'id [host] [port]',
  listpeers: '[id] [level]',
  sendcustommsg: 'node_id msg',
  listchannelmoves: '[index] [start] [limit]',
  getchaininfo: 'last_height',
  listnodes: '[id]',
  waitblockheight: 'blockheight [timeout]',
  plugin: 'subcommand [plugin] [directory] [options]',
  listconfigs: '[config]',
  help: '[command]',
};

/**
 * The reply to `help`, for the built-in commands above less `missing` (a
 * lightningd started with e.g. disable-plugin=cln-xpay), plus `pluginMethods`
 * (name -> usage) of the plugins loaded now.
 */
export function helpReply(params: Record<string, unknown>, pluginMethods: Map<string, string>, missing: ReadonlySet<string>): Record<string, unknown> {
  const all = new Map<string, string>([...Object.entries(USAGE).filter(([name]) => !missing.has(name)), ...pluginMethods]);
  const line = (name: string, usage: string): Record<string, unknown> => ({ command: `${name} ${usage}` });
  const wanted = params.command;
  if (wanted === undefined) return { help: [...all].map(([name, usage]) => line(name, usage)), 'format-hint': 'simple' };
  if (typeof wanted !== 'string') throw new SimRpcError(-32602, 'command: should be a string: invalid token');
  const usage = all.get(wanted);
  if (usage === undefined) throw new SimRpcError(-32601, `Unknown command ${wanted}`);
  return { help: [line(wanted, usage)], 'format-hint': 'simple' };
}
