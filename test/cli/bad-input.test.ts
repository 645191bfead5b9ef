/**
 * Bad input gets a clear one-line error, the right exit code, and changes
 * nothing on the node. Bob's node (simulated lightningd) runs each command;
 * Carol's node makes the invoices he would relay to.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { SimNode } from '../../src/simnet/node.js';
import { SimRpcError } from '../../src/simnet/rpc-server.js';
import { corrupt, invoiceWithoutSecret, makeInvoice } from '../helpers/invoices.js';
import { at, runRdv } from '../helpers/rdv.js';
import { simNetFor } from '../helpers/sim.js';

let bob: SimNode;
let carol: SimNode;
let oldNode: SimNode;
let joinedHash = '';
let fresh = '';

const BUDGETS = ['--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '60'];
const carolInvoice = (over: Parameters<SimNode['invoices']['create']>[0] extends infer P ? Partial<P> : never = {}): string =>
  carol.invoices.create({
    amountMsat: msat(100_000_000n),
    label: `l${Math.random()}`,
    description: 'order 42',
    expiry: 86_400,
    cltv: 18,
    now: Math.floor(Date.now() / 1000),
    routeHints: [],
    ...over,
  }).bolt11;

simNetFor(async (net) => {
  carol = await net.addNode('carol');
  bob = await net.addNode('bob');
  oldNode = await net.addNode('old', { version: 'v24.11.2' });
  net.openChannel(bob, carol, 2_000_000n);
  const joined = carolInvoice();
  const r = await runRdv([...at(bob), '--json', 'join', '--invoice', joined, ...BUDGETS]);
  assert.equal(r.code, 0, r.stderr);
  joinedHash = (JSON.parse(r.stdout) as { payment_hash: string }).payment_hash;
  fresh = carolInvoice();
});

interface Case {
  description: string;
  args: () => string[];
  code: number;
  says: RegExp;
  node?: () => SimNode;
  setup?: () => void;
}

const join = (...extra: string[]): string[] => ['join', ...extra];
const withInvoice = (inv: () => string, ...extra: string[]) => (): string[] => join('--invoice', inv(), ...extra);

const cases: Case[] = [
  // --- the downstream invoice ---------------------------------------------------
  { description: 'garbage instead of an invoice', args: () => join('--invoice', 'hello', ...BUDGETS), code: 2, says: /not a BOLT 11 invoice/ },
  { description: 'a truncated invoice', args: () => join('--invoice', fresh.slice(0, -30), ...BUDGETS), code: 2, says: /not a valid BOLT 11 invoice|malformed or truncated/ },
  { description: 'a bad checksum', args: () => join('--invoice', corrupt(fresh), ...BUDGETS), code: 2, says: /checksum|signature/ },
  { description: 'an invoice for mainnet on a regtest node', args: withInvoice(() => makeInvoice('carol', { currency: 'bc' }), ...BUDGETS), code: 2, says: /runs on regtest: use an invoice from the same network/ },
  { description: 'an expired invoice', args: withInvoice(() => makeInvoice('carol', { createdAt: Math.floor(Date.now() / 1000) - 7_200, expirySeconds: 3_600 }), ...BUDGETS), code: 2, says: /expired .*ask .* for a new one/ },
  { description: 'an invoice that expires in 5 minutes', args: withInvoice(() => makeInvoice('carol', { expirySeconds: 300 }), ...BUDGETS), code: 2, says: /too soon to relay/ },
  { description: 'an invoice without an amount', args: withInvoice(() => makeInvoice('carol', { amountMsat: msat(0n) }), ...BUDGETS), code: 2, says: /no amount|0 msat/ },
  { description: 'an invoice without a payment secret', args: withInvoice(() => invoiceWithoutSecret('carol'), ...BUDGETS), code: 2, says: /no payment secret/ },
  { description: 'an invoice payable to this node itself', args: withInvoice(() => makeInvoice('bob'), ...BUDGETS), code: 2, says: /payable to this node itself/ },
  { description: 'a payment hash this node already has', args: () => join('--invoice', bob.datastore.get(['rdv', 'v1', 'relay', joinedHash]) ? downstreamOf(joinedHash) : '', ...BUDGETS), code: 2, says: /already has a record or invoice for payment hash/ },
  // --- amounts and budgets ----------------------------------------------------------
  { description: 'a zero payout', args: withInvoice(() => fresh, '--payout', '0sat', '--fee-budget', '1000sat', '--delay-budget', '60'), code: 2, says: /--payout: .*zero/ },
  { description: 'a negative payout', args: withInvoice(() => fresh, '--payout=-5sat', '--fee-budget', '1000sat', '--delay-budget', '60'), code: 2, says: /negative/ },
  { description: 'an overflowing payout', args: withInvoice(() => fresh, '--payout', '99999999999999999999sat', '--fee-budget', '1000sat', '--delay-budget', '60'), code: 2, says: /larger than 21 million BTC/ },
  { description: 'a unit-less decimal payout', args: withInvoice(() => fresh, '--payout', '1.5', '--fee-budget', '1000sat', '--delay-budget', '60'), code: 2, says: /ambiguous: add a unit/ },
  { description: 'a payout in an unknown unit', args: withInvoice(() => fresh, '--payout', '5k', '--fee-budget', '1000sat', '--delay-budget', '60'), code: 2, says: /not understood: use e.g. 5000sat/ },
  { description: 'a fraction of a msat', args: withInvoice(() => fresh, '--payout', '5.5msat', '--fee-budget', '1000sat', '--delay-budget', '60'), code: 2, says: /fraction of a msat/ },
  { description: 'a fee budget above the downstream amount', args: withInvoice(() => fresh, '--payout', '5000sat', '--fee-budget', '100001sat', '--delay-budget', '60'), code: 2, says: /fee budget .* is more than the downstream amount .*: lower it/ },
  { description: 'a delay budget not above the safety margin', args: withInvoice(() => fresh, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '34'), code: 2, says: /does not exceed the safety margin \(34\).*raise it to at least 38/ },
  { description: 'a delay budget past what CLN accepts', args: withInvoice(() => fresh, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '1900'), code: 2, says: /over the limit of 1872.*lower your delay budget to at most 1854/ },
  { description: 'a downstream that already asks for nearly all the delay', args: withInvoice(() => makeInvoice('carol', { minFinalCltv: 1860 }), ...BUDGETS), code: 2, says: /already asks for min_final_cltv 1860 blocks.*ask them to lower their delay budget/ },
  { description: 'a delay budget that is not a number', args: withInvoice(() => fresh, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', 'soon'), code: 2, says: /not a whole number of blocks/ },
  { description: 'a delay budget over 2016 blocks', args: withInvoice(() => fresh, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '5000'), code: 2, says: /more than 2016/ },
  { description: 'a safety margin that is too small', args: withInvoice(() => fresh, ...BUDGETS, '--safety-margin', '2'), code: 2, says: /safety margin must be a whole number of blocks from 6/ },
  // --- missing or conflicting options -------------------------------------------------
  { description: 'no payout and no terminal to ask on', args: withInvoice(() => fresh, '--fee-budget', '1000sat', '--delay-budget', '60'), code: 2, says: /missing --payout .*give them as options/ },
  { description: 'no invoice at all and no terminal', args: () => join(...BUDGETS), code: 2, says: /--invoice <bolt11> or --from-inbox <hash>/ },
  { description: 'both --invoice and --from-inbox', args: () => join('--invoice', fresh, '--from-inbox', 'abcd', ...BUDGETS), code: 2, says: /give one of --invoice, --from-inbox, --offer and --address/ },
  { description: '--from-inbox with a hash nobody sent', args: () => join('--from-inbox', 'abcdef12', ...BUDGETS), code: 2, says: /no invoice in the inbox matches abcdef12/ },
  { description: '--from-inbox with something that is not hex', args: () => join('--from-inbox', 'zz', ...BUDGETS), code: 2, says: /not a payment hash or a prefix/ },
  { description: '--amount on a relay', args: withInvoice(() => fresh, ...BUDGETS, '--amount', '5sat'), code: 2, says: /--amount is for --last/ },
  { description: '--last without --amount and no terminal', args: () => join('--last'), code: 2, says: /--amount is required/ },
  { description: '--last with a zero amount', args: () => join('--last', '--amount', '0'), code: 2, says: /zero/ },
  { description: '--last with --invoice', args: () => join('--last', '--amount', '5sat', '--invoice', fresh), code: 2, says: /--last makes your own invoice/ },
  { description: 'a description too long for an invoice', args: () => join('--last', '--amount', '5sat', '--description', 'd'.repeat(640)), code: 2, says: /--description is 640 bytes; an invoice description holds at most 639/ },
  { description: 'an expiry that is not a duration', args: () => join('--last', '--amount', '5sat', '--expiry', 'tomorrow'), code: 2, says: /not a duration/ },
  { description: 'an unknown flag', args: () => ['join', '--bogus'], code: 2, says: /unknown option '--bogus'/ },
  { description: 'an unknown subcommand', args: () => ['frobnicate'], code: 2, says: /unknown command 'frobnicate'/ },
  { description: 'an unknown network', args: () => ['--network', 'foonet', 'status'], code: 2, says: /unknown network "foonet"/ },
  // --- the node -----------------------------------------------------------------------
  { description: 'no lightningd at the given directory', args: () => ['--lightning-dir', '/nonexistent/rdv', 'status'], code: 3, says: /no lightningd RPC socket at \/nonexistent\/rdv\/regtest\/lightning-rpc: is lightningd running\?/ },
  { description: 'a node too old for rdv', node: () => oldNode, args: withInvoice(() => fresh, ...BUDGETS), code: 1, says: /runs Core Lightning v24.11.2; rdv needs v25.02 or newer.*upgrade lightningd/ },
  {
    description: 'the node refusing to sign',
    setup: () => bob.overrides.set('signinvoice', async () => Promise.reject(new SimRpcError(-1, 'hsmd refused'))),
    args: withInvoice(() => fresh, ...BUDGETS),
    code: 1,
    says: /lightningd refused signinvoice: hsmd refused/,
  },
  // --- pass-back, status, inbox -------------------------------------------------------
  { description: 'pass-back of something that is not a hash', args: () => ['pass-back', 'xyz', '--print'], code: 2, says: /"xyz" is not a payment hash/ },
  { description: 'pass-back of a hash with no record', args: () => ['pass-back', '00000000', '--print'], code: 2, says: /no rdv record on this node matches 00000000/ },
  { description: 'pass-back without saying where to', args: () => ['pass-back', joinedHash], code: 2, says: /--to <node_id>\[@host:port\], --print, --qr or --out FILE/ },
  { description: 'pass-back to something that is not a node id', args: () => ['pass-back', joinedHash, '--to', 'carol'], code: 2, says: /not a node id \(66 hex digits\)/ },
  { description: 'pass-back to a port out of range', args: () => ['pass-back', joinedHash, '--to', `${carol.id}@127.0.0.1:99999`], code: 2, says: /port 99999 is out of range/ },
  { description: 'pass-back to this node itself', args: () => ['pass-back', joinedHash, '--to', bob.id], code: 2, says: /--to is this node itself/ },
  { description: 'pass-back with a note over 200 bytes', args: () => ['pass-back', joinedHash, '--print', '--note', 'x'.repeat(201)], code: 2, says: /--note is longer than 200 bytes/ },
  { description: 'status of an unknown hash', args: () => ['status', 'ffffffff'], code: 2, says: /no rdv record on this node matches ffffffff/ },
  { description: 'status --state of no such state', args: () => ['status', '--state', 'pending'], code: 2, says: /--state "pending" is not a state: use open, gathered, paying, settled, failed, expired/ },
  { description: 'status --since that is neither a duration nor a date', args: () => ['status', '--since', 'last week'], code: 2, says: /--since "last week" is neither a duration/ },
  { description: 'status --limit 0', args: () => ['status', '--limit', '0'], code: 2, says: /--limit "0" is not a whole number of rows/ },
  { description: 'inbox --wait with a bad timeout', args: () => ['inbox', '--wait', '--timeout', 'later'], code: 2, says: /--timeout "later" is not a duration/ },
];

function downstreamOf(hash: string): string {
  const text = bob.datastore.get(['rdv', 'v1', 'relay', hash]) ?? '{}';
  return (JSON.parse(text) as { downstream_bolt11: string }).downstream_bolt11;
}

describe('bad input: exit code, one line that says what to do, nothing written', () => {
  test(`there are at least 30 cases (${cases.length})`, () => assert.ok(cases.length >= 30));
  for (const c of cases) {
    test(c.description, async () => {
      const node = c.node?.() ?? bob;
      c.setup?.();
      try {
        const datastoreBefore = node.datastore.snapshot();
        const invoicesBefore = node.invoices.all().length;
        const r = await runRdv([...at(node), ...c.args()]);
        assert.equal(r.code, c.code, `exit code; stderr: ${r.stderr}`);
        const lines = r.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
        assert.match(lines[0] ?? '', /^rdv: /);
        assert.match(lines[0] ?? '', c.says);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.equal(r.stdout, '', 'nothing on stdout');
        assert.equal(node.datastore.snapshot(), datastoreBefore, 'datastore untouched');
        assert.equal(node.invoices.all().length, invoicesBefore, 'no invoice left behind');
      } finally {
        node.overrides.clear();
      }
    });
  }
});
