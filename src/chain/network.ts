/** The Bitcoin networks CLN runs on, and their BOLT 11 prefixes. */
export type NetworkName = 'bitcoin' | 'testnet' | 'testnet4' | 'signet' | 'regtest';

export const NETWORKS: readonly NetworkName[] = ['bitcoin', 'testnet', 'testnet4', 'signet', 'regtest'];

/** BOLT 11 human-readable currency prefix per network (testnet4 shares testnet's). */
export const BOLT11_PREFIX: Record<NetworkName, string> = {
  bitcoin: 'bc',
  testnet: 'tb',
  testnet4: 'tb',
  signet: 'tbs',
  regtest: 'bcrt',
};

export function isNetworkName(s: string): s is NetworkName {
  return (NETWORKS as readonly string[]).includes(s);
}

/** Networks whose invoices carry this prefix. */
export function networksForPrefix(prefix: string): NetworkName[] {
  return NETWORKS.filter((n) => BOLT11_PREFIX[n] === prefix);
}
