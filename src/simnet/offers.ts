/** A simulated node's own BOLT 12 offers, as lightningd's offers table keeps them (what `offer` made). */
import type { SimOfferBody } from './bolt12.js';

export interface SimOffer {
  offerId: string;
  bolt12: string;
  body: SimOfferBody;
  label: string | undefined;
  singleUse: boolean;
  active: boolean;
  used: boolean;
}
