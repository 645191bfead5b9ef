/**
 * Find lightningd's RPC socket the way lightning-cli does (common/configdir.c):
 * base dir = --lightning-dir, else $LIGHTNING_DIR (an rdv convenience), else
 * $HOME/.lightning; the network comes from --network, else a `network=` (or
 * `regtest`, `testnet`, ...) line in <base>/config, else bitcoin; then
 * <base>/<network>/config may set rpc-file; an absolute --rpc-file wins over all.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { isNetworkName, type NetworkName } from '../chain/network.js';
import { usageError } from '../errors.js';

export interface DiscoverOptions {
  lightningDir?: string | undefined;
  network?: string | undefined;
  rpcFile?: string | undefined;
  /** --conf: a config file to read instead of the default ones. */
  conf?: string | undefined;
}

export interface SocketLocation {
  socketPath: string;
  network: NetworkName;
  baseDir: string;
  netDir: string;
}

const NETWORK_FLAGS: Record<string, NetworkName> = {
  mainnet: 'bitcoin',
  testnet: 'testnet',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
};

/** The settings a CLN config file may give that matter for finding the socket. */
export function readConfigSettings(text: string): { network?: NetworkName; rpcFile?: string; lightningDir?: string } {
  const out: { network?: NetworkName; rpcFile?: string; lightningDir?: string } = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim();
    const value = eq === -1 ? '' : line.slice(eq + 1).trim();
    if (key === 'network' && isNetworkName(value)) out.network = value;
    else if (eq === -1 && NETWORK_FLAGS[key]) out.network = NETWORK_FLAGS[key];
    else if (key === 'rpc-file' && value) out.rpcFile = value;
    else if (key === 'lightning-dir' && value) out.lightningDir = value;
  }
  return out;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function discoverSocket(options: DiscoverOptions, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): SocketLocation {
  if (options.network !== undefined && !isNetworkName(options.network)) {
    throw usageError(`unknown network "${options.network}": use bitcoin, testnet, testnet4, signet or regtest`);
  }
  let baseDir = options.lightningDir ?? env.LIGHTNING_DIR ?? join(env.HOME ?? homedir(), '.lightning');
  let network: NetworkName | undefined = options.network as NetworkName | undefined;
  let rpcFile = options.rpcFile;

  if (options.conf !== undefined) {
    const text = readOptional(resolve(cwd, options.conf));
    if (text === undefined) throw usageError(`cannot read config file ${options.conf}`);
    const s = readConfigSettings(text);
    if (options.lightningDir === undefined && s.lightningDir) baseDir = s.lightningDir;
    network ??= s.network;
    rpcFile ??= s.rpcFile;
  } else {
    const base = readConfigSettings(readOptional(join(resolve(cwd, baseDir), 'config')) ?? '');
    network ??= base.network;
    const resolvedNetwork = network ?? 'bitcoin';
    const net = readConfigSettings(readOptional(join(resolve(cwd, baseDir), resolvedNetwork, 'config')) ?? '');
    rpcFile ??= net.rpcFile ?? base.rpcFile;
  }
  const finalNetwork = network ?? 'bitcoin';
  const netDir = resolve(cwd, baseDir, finalNetwork);
  const file = rpcFile ?? 'lightning-rpc';
  const socketPath = isAbsolute(file) ? file : join(netDir, file);
  return { socketPath, network: finalNetwork, baseDir: resolve(cwd, baseDir), netDir };
}
