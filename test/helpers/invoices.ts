/** Invoices with chosen fields, signed by a chosen key, for CLI and domain tests. */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import type * as Bolt11Lib from 'bolt11';
import { msat } from '../../src/chain/amount.js';
import { encodeInvoice, type InvoiceFields } from '../../src/chain/bolt11.js';
import type { PaymentHash, PaymentSecret } from '../../src/chain/ids.js';
import { nodeKeyFromSeed } from '../../src/simnet/keys.js';

const require = createRequire(import.meta.url);

export function invoiceFields(over: Partial<InvoiceFields> = {}): InvoiceFields {
  return {
    currency: 'bcrt',
    amountMsat: msat(100_000_000n),
    paymentHash: randomBytes(32).toString('hex') as PaymentHash,
    paymentSecret: randomBytes(32).toString('hex') as PaymentSecret,
    description: 'order 42',
    descriptionHash: undefined,
    createdAt: Math.floor(Date.now() / 1000),
    expirySeconds: 86_400,
    minFinalCltv: 18,
    routeHints: [],
    ...over,
  };
}

/** An invoice from the simulated node named `signer` (its key), with these fields. */
export function makeInvoice(signer: string, over: Partial<InvoiceFields> = {}): string {
  return encodeInvoice(invoiceFields(over), nodeKeyFromSeed(signer).privateKey);
}

/** An invoice without a payment secret (old wallets), which rdv must refuse to relay. */
export function invoiceWithoutSecret(signer: string): string {
  const bolt11 = require('bolt11') as typeof Bolt11Lib;
  const unsigned = bolt11.encode(
    {
      network: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
      millisatoshis: '100000000',
      timestamp: Math.floor(Date.now() / 1000),
      tags: [
        { tagName: 'payment_hash', data: randomBytes(32).toString('hex') },
        { tagName: 'description', data: 'old wallet' },
        { tagName: 'expire_time', data: 86_400 },
        { tagName: 'min_final_cltv_expiry', data: 18 },
      ],
    },
    false,
  );
  const signed = bolt11.sign(unsigned, nodeKeyFromSeed(signer).privateKey);
  return signed.paymentRequest ?? '';
}

/** Change one bech32 character in the data part (the checksum then fails). */
export function corrupt(bolt11: string): string {
  const i = bolt11.length - 20;
  const c = bolt11[i] === 'q' ? 'p' : 'q';
  return bolt11.slice(0, i) + c + bolt11.slice(i + 1);
}
