import { createECDH, createHash } from 'node:crypto';
import type { NodeId } from '../chain/ids.js';

/** A simulated node's key pair, derived from a name so runs are reproducible. */
export interface NodeKey {
  privateKey: Buffer;
  id: NodeId;
}

export function nodeKeyFromSeed(seed: string): NodeKey {
  for (let i = 0; ; i++) {
    const privateKey = createHash('sha256').update(`rdv-simnet:${seed}:${i}`).digest();
    try {
      const ecdh = createECDH('secp256k1');
      ecdh.setPrivateKey(privateKey);
      return { privateKey, id: ecdh.getPublicKey('hex', 'compressed') as NodeId };
    } catch {
      // out of range for secp256k1 (astronomically unlikely): try the next one
    }
  }
}
