/**
 * `rdv policy add|list|remove` against a simulated lightningd (no plugin loaded):
 * Bob, a marketplace, joins the invoices Carol (a seller) passes back, taking 2%,
 * and passes his own on to Alice (the payer's node). What is written is read back
 * from the node's datastore; bad input writes nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeId } from '../../src/chain/ids.js';
import { POLICY_KEY } from '../../src/chain/policy/policy.js';
import { parseBook } from '../../src/chain/policy/book.js';
import type { SimNode } from '../../src/simnet/node.js';
import { SimRpcError } from '../../src/simnet/rpc-server.js';
import { CAROL } from '../helpers/builders.js';
import { at, runRdv } from '../helpers/rdv.js';
import { simNetFor } from '../helpers/sim.js';

const ALICE = `03${'a1'.repeat(32)}` as NodeId;
const DAVE = `02${'d4'.repeat(32)}` as NodeId;

let bob: SimNode;

simNetFor(
  async (net) => {
    bob = await net.addNode('bob');
  },
  { each: true },
);

const stored = (): string | undefined => bob.datastore.get([...POLICY_KEY]);
/** Delete the book, if there is one. */
const clear = (): void => void (stored() !== undefined && bob.datastore.deldatastore({ key: [...POLICY_KEY] }));
const policy = (...args: string[]): Promise<Awaited<ReturnType<typeof runRdv>>> => runRdv([...at(bob), 'policy', ...args]);
const marketplace = ['add', '--from', CAROL, '--payout', '2%', '--fee-budget', '0.5%', '--delay-budget', '80', '--pass-to', `${ALICE}@203.0.113.7:9735`];

interface PolicyJson {
  kind: string;
  id: string;
  from: string;
  payout: { percent?: string; ppm?: number; amount_msat?: number };
  fee_budget: { percent?: string; ppm?: number; amount_msat?: number };
  delay_budget: number;
  pass_to?: { id: string; host?: string; port?: number };
  min_amount_msat?: number;
  max_amount_msat?: number;
  expires_at?: number;
  active: boolean;
  note?: string;
  created_at: number;
  max_open: number;
  max_per_minute: number;
  max_invoice_life_seconds: number;
  max_description_bytes: number;
}

describe('rdv policy', () => {
  test('add shows the policy and its id; list shows it; --json gives integers; remove takes it; list is empty again', async () => {
    const added = await policy(...marketplace, '--max-amount', '1000000sat', '--note', 'Carol, seller');
    assert.equal(added.code, 0, added.stderr);
    const id = /^policy ([0-9a-f]{8}) added: the rdv plugin now joins by itself every invoice 02c3c3c3… passes back to you \(no restart needed\)$/m.exec(added.stdout)?.[1];
    assert.ok(id, added.stdout);
    assert.match(added.stdout, /^ {2}payout {13}2% of the downstream amount$/m);
    assert.match(added.stdout, /^ {2}fee budget {9}0\.5% of the downstream amount$/m);
    assert.match(added.stdout, new RegExp(`^ {2}pass to {12}${ALICE}@203\\.0\\.113\\.7:9735$`, 'm'));
    assert.match(added.stdout, /^ {2}downstream amount {2}at most 1,000,000 sat$/m);
    assert.match(added.stdout, new RegExp(`Remove it with: rdv policy remove ${id}$`, 'm'));
    assert.deepEqual(parseBook(stored() ?? '').policies.map((p) => [p.id, p.from, p.passTo]), [[id, CAROL, { id: ALICE, host: '203.0.113.7', port: 9735 }]]);

    const listed = await policy('list');
    assert.equal(listed.code, 0, listed.stderr);
    const [header, row, ...rest] = listed.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^ID +FROM +PAYOUT +FEE BUDGET +DELAY +PASS TO +LIMITS +EXPIRES +BOUNDS +NOTE$/);
    assert.match(row ?? '', new RegExp(`^${id} +02c3c3c3… +2% +0\\.5% +80 +03a1a1a1…@203\\.0\\.113\\.7:9735 +at most 1,000,000 sat +active +100 open, 30/min, 1h, 200 B +Carol, seller$`));
    assert.deepEqual(rest, []);

    const json = await runRdv([...at(bob), '--json', 'policy', 'list']);
    assert.equal(json.code, 0, json.stderr);
    // Integers, as lightningd writes them: no quotes around msat or ppm.
    assert.match(json.stdout, /"max_amount_msat":1000000000\b/);
    assert.match(json.stdout, /"ppm":20000\b/);
    const { policies } = JSON.parse(json.stdout) as { policies: PolicyJson[] };
    assert.equal(policies.length, 1);
    const [p] = policies;
    assert.deepEqual(
      { ...p, created_at: typeof p?.created_at },
      {
        kind: 'relay', id, from: CAROL, payout: { percent: '2', ppm: 20_000 }, fee_budget: { percent: '0.5', ppm: 5_000 }, delay_budget: 80,
        pass_to: { id: ALICE, host: '203.0.113.7', port: 9735 }, max_amount_msat: 1_000_000_000, active: true, note: 'Carol, seller', created_at: 'number',
        max_open: 100, max_per_minute: 30, max_invoice_life_seconds: 3_600, max_description_bytes: 200,
      },
    );

    const removed = await runRdv([...at(bob), '--json', 'policy', 'remove', id]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((JSON.parse(removed.stdout) as { removed: PolicyJson }).removed.id, id);
    assert.deepEqual(parseBook(stored() ?? '').policies, []);

    const empty = await policy('list');
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /^No policies: .* Add one with: rdv policy add --from <node id>/);
    assert.equal((await runRdv([...at(bob), '--json', 'policy', 'list'])).stdout, '{"policies":[]}\n');
  });

  test('add --json prints the policy as list --json does; fixed amounts as _msat, an expiry as expires_at', async () => {
    const r = await runRdv([...at(bob), 'policy', 'add', '--json', '--from', DAVE, '--payout', '5000sat', '--fee-budget', '0', '--delay-budget', '38', '--min-amount', '21sat', '--expires', '30d']);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as PolicyJson;
    assert.match(p.id, /^[0-9a-f]{8}$/);
    assert.deepEqual([p.payout, p.fee_budget, p.min_amount_msat, p.pass_to, p.active], [{ amount_msat: 5_000_000 }, { amount_msat: 0 }, 21_000, undefined, true]);
    assert.equal(p.expires_at, p.created_at + 30 * 86_400);
    const list = JSON.parse((await runRdv([...at(bob), '--json', 'policy', 'list'])).stdout) as { policies: PolicyJson[] };
    assert.deepEqual(list.policies, [p]);
    // Without --pass-to, the table says nobody gets our invoice.
    assert.match((await policy('list')).stdout, /^[0-9a-f]{8} +02d4d4d4… +5,000 sat +0 sat +38 +- +at least 21 sat +in 30d 0h +100 open, 30\/min, 1h, 200 B$/m);
  });

  test('the bounds of its joins: shown by add, stored as given, listed; the ones not given are the defaults', async () => {
    const r = await policy(...marketplace, '--max-open', '500', '--max-per-minute', '120', '--max-invoice-life', '15m', '--max-description', '64');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}open relays {8}at most 500 unpaid at once$/m);
    assert.match(r.stdout, /^ {2}joins {14}at most 120 a minute$/m);
    assert.match(r.stdout, /^ {2}invoice life {7}at most 15m$/m);
    assert.match(r.stdout, /^ {2}description {8}at most 64 bytes$/m);
    assert.deepEqual(parseBook(stored() ?? '').policies[0]?.bounds, { maxOpen: 500, maxPerMinute: 120, maxInvoiceLifeSeconds: 900, maxDescriptionBytes: 64 });
    assert.match((await policy('list')).stdout, / 500 open, 120\/min, 15m, 64 B$/m);
    const dave = await runRdv([...at(bob), '--json', 'policy', 'add', '--from', DAVE, '--payout', '1%', '--fee-budget', '0', '--delay-budget', '60', '--max-per-minute', '7']);
    const p = JSON.parse(dave.stdout) as PolicyJson;
    assert.deepEqual([p.max_open, p.max_per_minute, p.max_invoice_life_seconds, p.max_description_bytes], [100, 7, 3_600, 200]);
    assert.deepEqual(parseBook(stored() ?? '').policies[1]?.bounds, { maxPerMinute: 7 }, 'only what was given is stored');
  });

  test('two policies, one per node: a second for the same --from is refused (exit 2) and the first stays as it was', async () => {
    assert.equal((await policy(...marketplace)).code, 0);
    const before = stored();
    const second = await policy('add', '--from', CAROL, '--payout', '1%', '--fee-budget', '0', '--delay-budget', '60');
    assert.equal(second.code, 2);
    const first = parseBook(before ?? '').policies[0];
    assert.equal(second.stderr, `rdv: policy ${first?.id} already joins pass-backs from ${CAROL}: remove it first (rdv policy remove ${first?.id})\n`);
    assert.equal(stored(), before);
    assert.equal((await policy('add', '--from', DAVE, '--payout', '1%', '--fee-budget', '0', '--delay-budget', '60')).code, 0);
    assert.deepEqual(parseBook(stored() ?? '').policies.map((p) => p.from), [CAROL, DAVE]);
  });

  const bad: Array<{ description: string; args: string[]; stderr: RegExp }> = [
    { description: 'no --from', args: ['add', '--payout', '2%', '--fee-budget', '0.5%', '--delay-budget', '80'], stderr: /^rdv: rdv policy add needs --from \(or --address, --offer\): e\.g\. rdv policy add --from/ },
    { description: 'nothing at all', args: ['add'], stderr: /^rdv: rdv policy add needs --from \(or --address, --offer\), --payout, --fee-budget, --delay-budget: / },
    { description: 'a --from that is no node id', args: ['add', '--from', 'carol', '--payout', '2%', '--fee-budget', '0', '--delay-budget', '80'], stderr: /^rdv: --from "carol" is not a node id \(66 hex digits\)$/ },
    { description: 'a payout over 100%', args: ['add', '--from', CAROL, '--payout', '101%', '--fee-budget', '0', '--delay-budget', '80'], stderr: /^rdv: --payout 101% is more than 100%$/ },
    { description: 'a payout of 0%', args: ['add', '--from', CAROL, '--payout', '0%', '--fee-budget', '0', '--delay-budget', '80'], stderr: /^rdv: --payout 0% is zero$/ },
    { description: 'a delay budget that can never be met', args: ['add', '--from', CAROL, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '37'], stderr: /^rdv: --delay-budget 37 can never be met: .*give at least 38$/ },
    { description: '--min-amount over --max-amount', args: ['add', '--from', CAROL, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '80', '--min-amount', '2sat', '--max-amount', '1sat'], stderr: /^rdv: --min-amount 2 sat is more than --max-amount 1 sat/ },
    { description: '--pass-to the --from node', args: ['add', '--from', CAROL, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '80', '--pass-to', CAROL], stderr: /^rdv: --pass-to is the --from node/ },
    { description: 'a bad --expires', args: ['add', '--from', CAROL, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '80', '--expires', 'tomorrow'], stderr: /^rdv: --expires "tomorrow" is not a duration/ },
    { description: 'a note over 200 bytes', args: ['add', '--from', CAROL, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '80', '--note', 'x'.repeat(201)], stderr: /^rdv: --note is longer than 200 bytes$/ },
    { description: '--max-open 0', args: ['add', '--from', CAROL, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '80', '--max-open', '0'], stderr: /^rdv: --max-open 0 is out of range: give 1 to 10000$/ },
    { description: 'a --max-invoice-life of a year', args: ['add', '--from', CAROL, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '80', '--max-invoice-life', '365d'], stderr: /^rdv: --max-invoice-life 365d is out of range: give 60 s to 30d$/ },
    { description: 'an unknown option', args: ['add', '--from', CAROL, '--percent', '2'], stderr: /^rdv: unknown option '--percent' \(see rdv --help\)$/ },
    { description: 'no subcommand', args: [], stderr: /^Usage: rdv policy \[options\] \[command\]/ },
    { description: 'an unknown subcommand', args: ['edit'], stderr: /^rdv: unknown command 'edit' \(see rdv --help\)$/ },
  ];
  for (const c of bad) {
    test(`bad input, exit 2, nothing written, the node not asked: ${c.description}`, async () => {
      const calls = bob.server.calls.length;
      const r = await policy(...c.args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.trimEnd(), c.stderr);
      // One line that says what to do (the help, for no subcommand at all).
      if (c.args.length > 0) assert.doesNotMatch(r.stderr.trimEnd(), /\n/);
      assert.equal(r.stdout, '');
      assert.equal(stored(), undefined);
      assert.deepEqual(bob.server.calls.slice(calls).map((x) => x.method), []);
    });
  }

  test('this node itself as --from or --pass-to: exit 2 once the node says who it is, nothing written', async () => {
    for (const [args, message] of [
      [['--from', bob.id], '--from is this node itself'],
      [['--from', CAROL, '--pass-to', `${bob.id}@127.0.0.1:9735`], '--pass-to is this node itself'],
    ] as const) {
      const r = await policy('add', ...args, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '80');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^rdv: ${message}`));
      assert.equal(stored(), undefined);
    }
  });

  test('remove of an unknown id: exit 2, the book as it was', async () => {
    assert.equal((await policy(...marketplace)).code, 0);
    const before = stored();
    const r = await policy('remove', 'deadbeef');
    assert.deepEqual([r.code, r.stderr], [2, 'rdv: no policy deadbeef: see rdv policy list\n']);
    assert.equal(stored(), before);
    // With no book at all, the same answer.
    clear();
    assert.equal((await policy('remove', 'deadbeef')).code, 2);
  });

  test('another change between the read and the write is kept: rdv reads the book again and adds to that (compare-and-swap)', async () => {
    let raced = false;
    bob.overrides.set('datastore', async (params) => {
      if (!raced && (params.key as string[]).join('/') === POLICY_KEY.join('/')) {
        raced = true;
        // Someone else's rdv policy add lands first.
        const other = await runRdv([...at(bob), 'policy', 'add', '--from', DAVE, '--payout', '1%', '--fee-budget', '0', '--delay-budget', '60']);
        assert.equal(other.code, 0, other.stderr);
      }
      return bob.datastore.datastore(params);
    });
    const r = await policy(...marketplace);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(raced);
    assert.deepEqual(parseBook(stored() ?? '').policies.map((p) => p.from), [DAVE, CAROL]);
  });

  test('a book that changes at every write: exit 1 after a few tries, not 2 (the input was fine)', async () => {
    assert.equal((await policy('add', '--from', DAVE, '--payout', '1%', '--fee-budget', '0', '--delay-budget', '60')).code, 0);
    const before = stored();
    bob.overrides.set('datastore', async () => {
      throw new SimRpcError(1204, 'generation is different');
    });
    const r = await policy(...marketplace);
    assert.deepEqual([r.code, r.stderr], [1, 'rdv: the policies kept changing while rdv wrote them: try again\n']);
    assert.equal(stored(), before);
  });

  test('a stored book this rdv cannot read: exit 1 naming rdv/v1/policies and the ways out, for list, add and remove; nothing written', async () => {
    for (const value of [{ string: '{"version":2,"policies":[]}' }, { string: `{"version":1,"policies":[{"id":"1","from":"carol"}]}` }, { hex: 'c3ff00' }]) {
      clear();
      bob.datastore.datastore({ key: [...POLICY_KEY], ...value, mode: 'must-create' });
      const before = bob.datastore.snapshot();
      for (const args of [['list'], marketplace, ['remove', 'deadbeef']]) {
        const r = await policy(...args);
        assert.equal(r.code, 1, `${args[0]} ${JSON.stringify(value)}: ${r.stderr}`);
        assert.match(r.stderr, /^rdv: the policy book rdv\/v1\/policies is unreadable \(.+\): if a newer rdv wrote it, upgrade rdv; otherwise delete it, every policy in it, with lightning-cli deldatastore '\["rdv","v1","policies"\]' and add them again\n$/);
        assert.equal(bob.datastore.snapshot(), before);
      }
    }
  });
});

describe('rdv policy add --last: answer a node\'s invoice requests as the last payee', () => {
  const BOB_ID = (): string => bob.id;

  test('add shows it; list shows it under the relay policies; --json; remove takes it', async () => {
    assert.equal((await policy(...marketplace)).code, 0);
    const added = await policy('add', '--last', '--for', DAVE, '--max-amount', '1000000sat', '--description', 'order from the shop', '--expiry', '15m', '--max-unpaid', '7', '--max-per-minute', '13', '--note', 'shop');
    assert.equal(added.code, 0, added.stderr);
    const id = /^policy ([0-9a-f]{8}) added: the rdv plugin now answers every invoice request from 02d4d4d4… with an invoice of this node for the amount asked \(no restart needed\)$/m.exec(added.stdout)?.[1];
    assert.ok(id, added.stdout);
    assert.match(added.stdout, /^ {2}amount asked {5}at most 1,000,000 sat$/m);
    assert.match(added.stdout, /^ {2}invoice life {5}15m$/m);
    assert.match(added.stdout, /^ {2}unpaid invoices {2}at most 7 at once$/m);
    const book = parseBook(stored() ?? '');
    assert.deepEqual(book.lastPolicies.map((p) => [p.id, p.for, p.description, p.invoiceExpirySeconds, p.maxUnpaid, p.maxPerMinute]), [[id, DAVE, 'order from the shop', 900, 7, 13]]);
    assert.equal(book.policies.length, 1, 'the relay policy stays');

    const listed = await policy('list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /Last-payee policies \(answer invoice requests with an invoice of this node\):\n/);
    assert.match(listed.stdout, new RegExp(`^${id} +02d4d4d4… +at most 1,000,000 sat +order from the shop +15m +7 unpaid, 13/min +active +shop$`, 'm'));

    const json = JSON.parse((await runRdv([...at(bob), '--json', 'policy', 'list'])).stdout) as { policies: Array<Record<string, unknown>> };
    assert.deepEqual(json.policies.map((p) => p.kind), ['relay', 'last']);
    assert.deepEqual({ ...json.policies[1], created_at: typeof json.policies[1]?.created_at }, {
      kind: 'last', id, for: DAVE, max_amount_msat: 1_000_000_000, description: 'order from the shop', invoice_expiry: 900, max_unpaid: 7, max_per_minute: 13, active: true, note: 'shop', created_at: 'number',
    });

    const removed = await policy('remove', id);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^removed policy [0-9a-f]{8}: requests from 02d4d4d4… are refused again/m);
    assert.deepEqual(parseBook(stored() ?? '').lastPolicies, []);
  });

  const refusals: Array<{ description: string; args: () => string[]; code: number; stderr: RegExp }> = [
    { description: 'without --for', args: () => ['--last', '--max-amount', '1000sat'], code: 2, stderr: /rdv policy add --last needs --for/ },
    { description: 'with a relay policy\'s options', args: () => ['--last', '--for', DAVE, '--payout', '2%', '--pass-to', ALICE], code: 2, stderr: /--payout, --pass-to are a relay policy's, not --last's options/ },
    { description: 'a relay policy with --last\'s options', args: () => ['--from', CAROL, '--payout', '2%', '--fee-budget', '0', '--delay-budget', '60', '--expiry', '1h'], code: 2, stderr: /--expiry is --last's \(a last-payee policy's\) option/ },
    { description: 'a bad --for', args: () => ['--last', '--for', 'dave'], code: 2, stderr: /--for "dave" is not a node id/ },
    { description: 'this node as --for', args: () => ['--last', '--for', BOB_ID()], code: 2, stderr: /--for is this node itself/ },
    { description: '--max-unpaid 0', args: () => ['--last', '--for', DAVE, '--max-unpaid', '0'], code: 2, stderr: /--max-unpaid 0 is out of range/ },
    { description: 'for the node a relay policy passes to', args: () => ['--last', '--for', ALICE], code: 2, stderr: /policy [0-9a-f]{8} passes to 03a1a1a1\w+ and answers its invoice requests/ },
  ];
  for (const c of refusals) {
    test(`${c.description}: exit ${c.code}, nothing written`, async () => {
      assert.equal((await policy(...marketplace)).code, 0);
      const before = stored();
      const r = await policy('add', ...c.args());
      assert.equal(r.code, c.code, r.stdout);
      assert.match(r.stderr, c.stderr);
      assert.equal(stored(), before);
    });
  }

  test('a second --last policy for the same node is refused (exit 2)', async () => {
    clear();
    assert.equal((await policy('add', '--last', '--for', DAVE)).code, 0);
    const again = await policy('add', '--last', '--for', DAVE, '--description', 'other');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already answers 02d4d4\w+'s invoice requests: remove it first/);
  });
});
