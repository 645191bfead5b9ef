/**
 * `rdv demo --serve`: the marketplace story of the README, told with the same
 * commands its operators type. Each payee sets one policy (the last answers
 * the payee before it; each relay joins what the next one answers and answers
 * the one before); the first payee starts `rdv serve` as its own process; then,
 * per payment, nobody types anything: a wallet pays the shop's Lightning
 * Address (pay parameters, an invoice checked as wallets check it, xpay), every
 * payee is paid by that one payment, and LUD-21 verify gives the wallet its proof.
 */
import { formatAmount, msat, type Msat } from '../chain/amount.js';
import { shortHash } from '../chain/ids.js';
import { failedError } from '../errors.js';
import type { DemoNetwork, DemoNode } from './network.js';
import { startServe } from './serve.js';
import { payAndCheck, rdvJson, stopwatch, str, type StoryOptions, type StoryResult } from './story.js';
import { payParams, requestInvoice, verify } from './wallet.js';

/** What the wallet pays: DESIGN.md's 108,690 sat. */
export const WALLET_AMOUNT_MSAT = msat(108_690_000n);
const PAYOUTS = ['2000sat', '5000sat', '3000sat', '4000sat', '1000sat', '6000sat', '7000sat'];
/** How long the wallet asks LUD-21 verify before it gives up on seeing the payment settled. */
const VERIFY_FOR_MS = 30_000;

export interface ServeStoryResult extends StoryResult {
  lightningAddress: string;
  /** LUD-21 verify said settled, with the preimage the payer got. */
  verified: boolean;
}

/** Each payee's one policy: the last answers the payee before it; the relays join from the next one and answer the one before. */
async function setPolicies(net: DemoNetwork, o: StoryOptions, timed: ReturnType<typeof stopwatch>['timed']): Promise<string> {
  const payees = net.payees;
  const last = payees.at(-1) as DemoNode;
  const before = payees.at(-2) as DemoNode;
  o.say(`${last.name}, the last payee, sets a policy once: answer ${before.name}'s invoice requests with a normal invoice`);
  await timed(`${last.name} adds a policy`, () => rdvJson(o.rdvPath, last, ['policy', 'add', '--last', '--for', before.id, '--max-amount', '1000000sat', '--description', 'demo order'], o));
  let firstPolicy = '';
  for (let i = payees.length - 2; i >= 0; i--) {
    const relay = payees[i] as DemoNode;
    const next = payees[i + 1] as DemoNode;
    const asker = i === 0 ? undefined : (payees[i - 1] as DemoNode);
    const payout = PAYOUTS[i % PAYOUTS.length] ?? '1000sat';
    o.say(`${relay.name} sets a policy once: join what ${next.name} answers (payout ${payout}, fee budget 1000sat)${asker ? `, and answer ${asker.name}'s requests` : ", and let rdv serve ask through it"}`);
    const added = await timed(`${relay.name} adds a policy`, () =>
      rdvJson(o.rdvPath, relay, ['policy', 'add', '--from', next.id, '--payout', payout, '--fee-budget', '1000sat', '--delay-budget', '60', ...(asker ? ['--pass-to', `${asker.id}@127.0.0.1:${asker.port}`] : [])], o),
    );
    if (i === 0) firstPolicy = str(added.id);
  }
  return firstPolicy;
}

export async function tellServeStory(net: DemoNetwork, o: StoryOptions): Promise<ServeStoryResult> {
  const { steps, started, timed } = stopwatch();
  const first = net.payees[0];
  if (!first || net.payees.length < 2) throw failedError('rdv demo --serve needs at least two payees: a first one that serves, and a last one');
  const policy = await setPolicies(net, o, timed);

  o.say(`${first.name} starts rdv serve next to her node, as its own process (behind a TLS proxy in real life)`);
  const args = ['--address', `shop=${policy}`, '--public-url', 'http://127.0.0.1:0', '--listen', '127.0.0.1:0', '--description', 'demo: a coffee grinder'];
  o.command(`${first.name}$ rdv serve ${args.join(' ').replace('demo: a coffee grinder', '"demo: a coffee grinder"')}`);
  const serve = await timed(`${first.name} starts rdv serve`, () => startServe(o.rdvPath, first.dir, args));
  try {
    const addresses = Array.isArray(serve.started.addresses) ? serve.started.addresses : [];
    const address = str((addresses[0] as Record<string, unknown> | undefined)?.address);
    o.detail(`listening on ${serve.listening}; the shop's Lightning Address is ${address}`);

    o.say(`a wallet pays ${address}: it reads the pay parameters, as any LNURL wallet does`);
    o.command(`wallet: GET ${serve.listening}/.well-known/lnurlp/shop`);
    const params = await timed('wallet reads the pay parameters', () => payParams(address));
    if (!params.ok) throw failedError(`the wallet could not read ${address}: ${params.error}`);
    o.detail(`"${params.value.description}", ${formatAmount(params.value.minSendableMsat)} to ${formatAmount(params.value.maxSendableMsat)}`);

    o.say(`the wallet asks for an invoice of ${formatAmount(WALLET_AMOUNT_MSAT)}: the chain makes it now, ${net.payees.map((p) => p.name).reverse().join(' -> ')}, with nobody typing`);
    o.command(`wallet: GET ${params.value.callback}?amount=${WALLET_AMOUNT_MSAT}`);
    const invoice = await timed('wallet gets the invoice (the whole chain asked)', () => requestInvoice(params.value, WALLET_AMOUNT_MSAT, Math.floor(Date.now() / 1000)));
    if (!invoice.ok) throw failedError(`the wallet got no invoice: ${invoice.error}`);
    o.detail(`${shortHash(invoice.value.paymentHash)}…: exactly ${formatAmount(WALLET_AMOUNT_MSAT)}, description hash of the metadata: the wallet's checks pass`);

    o.say(`the payer pays ${first.name}'s invoice: it never sees anyone else's`);
    const end = await payAndCheck(net, o, { hash: invoice.value.paymentHash, bolt11: invoice.value.bolt11 }, timed);

    let verified = false;
    if (invoice.value.verify !== undefined) {
      const url = invoice.value.verify;
      o.say('the wallet asks LUD-21 verify whether it settled: the preimage is its proof');
      o.command(`wallet: GET ${url}`);
      const answer = await timed('wallet verifies (LUD-21)', async () => {
        const until = Date.now() + VERIFY_FOR_MS;
        for (;;) {
          const v = await verify(url);
          if (!v.ok || v.value.settled || Date.now() > until) return v;
          await new Promise((r) => setTimeout(r, 250));
        }
      });
      verified = answer.ok && answer.value.settled && answer.value.preimage === end.preimage;
      o.detail(answer.ok ? (verified ? `settled, with the preimage the payer got (${shortHash(end.preimage)}…)` : `settled: ${String(answer.value.settled)}`) : `no answer: ${answer.error}`);
    }
    return {
      network: net.kind,
      paymentHash: invoice.value.paymentHash,
      payerPaidMsat: end.payerPaidMsat as Msat,
      payeesSettled: end.payeesSettled && verified,
      outcomes: end.outcomes,
      steps,
      totalMs: Date.now() - started,
      lightningAddress: address,
      verified,
    };
  } finally {
    await serve.stop();
  }
}
