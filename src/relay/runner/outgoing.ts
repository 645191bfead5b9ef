/**
 * What lightningd says of our payment onward for a hash (rule 5): listsendpays per
 * part, with the parts lightningd lost in a crash marked (markLostParts).
 */
import type { PaymentHash } from '../../chain/ids.js';
import { markLostParts } from '../../chain/relay/outgoing.js';
import type { OutgoingPart } from '../../chain/relay/types.js';
import type { RunnerDeps } from './entry.js';

export class OutgoingParts {
  /**
   * lightningd's sendpays created index when this runner started: parts up to it
   * were registered before (rdv, an important plugin, starts with lightningd;
   * markLostParts). Undefined until lightningd says (asked at once; a query never
   * waits for it) or if it does not: then no part is judged lost.
   */
  private startIndex: number | undefined;

  constructor(private readonly deps: RunnerDeps) {
    deps.node.sendpaysCreatedIndex().then(
      (index) => (this.startIndex = index),
      (e: unknown) => deps.log('warn', `wait sendpays created: ${(e as Error).message}: parts lightningd lost in a crash will not be recognised`),
    );
  }

  /**
   * listsendpays for the hash. When it shows a part pending that lightningd
   * registered before this rdv started, ask which HTLCs lightningd has offered, THEN listsendpays
   * again, and mark the parts lightningd lost (markLostParts: the order matters).
   */
  async of(hash: PaymentHash): Promise<OutgoingPart[]> {
    const first = await this.deps.node.listsendpays(hash);
    const startIndex = this.startIndex;
    if (startIndex === undefined || !first.some((p) => p.status === 'pending' && p.createdIndex !== undefined && p.createdIndex <= startIndex)) return first;
    const offered = await this.deps.node.outgoingHtlcHashes();
    const parts = markLostParts(await this.deps.node.listsendpays(hash), { startIndex, outgoingHtlc: offered.has(hash) });
    const lost = parts.filter((p) => p.lost === true).length;
    if (lost > 0) this.deps.log('warn', `${hash.slice(0, 8)}: ${lost} outgoing part(s) pending since before lightningd restarted have no HTLC in any channel: lightningd lost them (killed before committing their HTLC)`);
    return parts;
  }
}
