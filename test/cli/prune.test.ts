/**
 * `rdv prune` and `rdv forget` against a fake lightningd (no plugin loaded):
 * Bob's node after months of relaying, with records settled, failed and
 * expired long ago, a young one, an open one, and a last payee's invoices.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { msat } from '../../src/chain/amount.js';
import { archiveKey, parseArchived } from '../../src/chain/archive.js';
import type { PaymentHash } from '../../src/chain/ids.js';
import { ackKey, guardClaimKey, inboxKey, passedKey, relayKey, serializeRecord, type LastRecord, type RelayRecord } from '../../src/chain/record.js';
import type { SimNode } from '../../src/simnet/node.js';
import { CAROL, makeRecord } from '../helpers/builders.js';
import { seedRecord } from '../helpers/fake-lightningd.js';
import { makeInvoice } from '../helpers/invoices.js';
import { runInPty } from '../helpers/pty.js';
import { at, runRdv, startRdv } from '../helpers/rdv.js';
import { simNetFor } from '../helpers/sim.js';

const DAY = 86_400;
const now = (): number => Math.floor(Date.now() / 1000);
const hashOf = (name: string): PaymentHash => createHash('sha256').update(name).digest('hex') as PaymentHash;

/** A relay of Bob's over Carol's invoice that came to `state` `daysAgo` days ago. */
function relay(name: string, state: RelayRecord['state'], daysAgo: number, over: Partial<RelayRecord> = {}): RelayRecord {
  const ended = now() - daysAgo * DAY;
  const base = makeRecord({ paymentHash: hashOf(name), state, createdAt: ended - 3_000, updatedAt: ended, expiresAt: ended - 7 });
  if (state === 'settled') return { ...base, expiresAt: ended + 3_000, settledAt: ended, preimage: 'a1'.repeat(32) as never, receivedMsat: msat(106_000_000n), sentMsat: msat(100_000_011n), earnedMsat: msat(5_999_989n), ...over };
  return { ...base, ...over };
}

let bob: SimNode;

simNetFor(
  async (net) => {
    bob = await net.addNode('bob');
  },
  { each: true },
);

const json = <T>(stdout: string): T => JSON.parse(stdout) as T;
interface PruneJson {
  dry_run: boolean;
  pruned: Array<{ payment_hash: string; state: string; role: string; ended_at: number; earned_msat?: number }>;
  kept: Array<{ payment_hash: string; kind: string; reason: string }>;
}

/** Carol's own invoice (Bob as the last payee), paid or left to expire `daysAgo` days ago. */
function lastPayee(name: string, daysAgo: number, paid: boolean): LastRecord {
  const made = now() - daysAgo * DAY - 3_600;
  const inv = bob.invoices.create({ amountMsat: msat(100_000_000n), label: `rdv-${name}`, description: name, expiry: 3_600, cltv: 18, now: made, routeHints: [] });
  if (paid) bob.invoices.markPaid(inv, msat(100_000_000n), made + 600);
  const record: LastRecord = { version: 1, role: 'last', paymentHash: inv.paymentHash as PaymentHash, bolt11: inv.bolt11, label: `rdv-${name}`, amountMsat: msat(100_000_000n), description: name, expiresAt: made + 3_600, createdAt: made, updatedAt: made };
  seedRecord(bob, record);
  return record;
}

/** Months of Bob's relaying: three finished long ago, one young, one open, with satellites. */
function seedMonths(): { old: RelayRecord[]; young: RelayRecord; open: RelayRecord } {
  const old = [relay('settled-45d', 'settled', 45), relay('failed-40d', 'failed', 40), relay('expired-50d', 'expired', 50)];
  const young = relay('settled-2d', 'settled', 2);
  const open = makeRecord({ paymentHash: hashOf('open'), state: 'open', expiresAt: now() + 7_200, createdAt: now() - 100, updatedAt: now() - 100 });
  for (const r of [...old, young, open]) seedRecord(bob, r);
  const settled = old[0] as RelayRecord;
  bob.datastore.datastore({ key: inboxKey(settled.paymentHash, CAROL), string: '{"version":1}', mode: 'must-create' });
  bob.datastore.datastore({ key: passedKey(settled.paymentHash), string: '{"to":"x"}', mode: 'must-create' });
  bob.datastore.datastore({ key: ackKey(settled.paymentHash), string: '{}', mode: 'must-create' });
  bob.datastore.datastore({ key: guardClaimKey(settled.paymentHash), string: '{"version":1,"parts":[]}', mode: 'must-create' });
  bob.datastore.datastore({ key: passedKey(young.paymentHash), string: '{"to":"x"}', mode: 'must-create' });
  return { old, young, open };
}

describe('rdv prune', () => {
  test('--dry-run lists what would go and why the rest stays, and writes nothing', async () => {
    const { old, young, open } = seedMonths();
    const before = bob.datastore.snapshot();
    const r = await runRdv([...at(bob), '--json', 'prune', '--older-than', '30d', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    const out = json<PruneJson>(r.stdout);
    assert.equal(out.dry_run, true);
    assert.deepEqual(out.pruned.map((p) => [p.payment_hash, p.state]).sort(), old.map((o) => [o.paymentHash, o.state]).sort());
    assert.deepEqual(out.kept.map((k) => [k.payment_hash, k.kind]).sort(), [[young.paymentHash, 'recent'], [open.paymentHash, 'active']].sort());
    assert.equal(bob.datastore.snapshot(), before);
  });

  test('archives each finished record, then deletes it and its inbox, passed, ack and guard entries; the young and the open stay', async () => {
    const { old, young, open } = seedMonths();
    const paid = lastPayee('carol-paid', 35, true);
    const unpaid = lastPayee('carol-unpaid', 35, false);
    const order: string[] = [];
    bob.overrides.set('deldatastore', async (params) => {
      const key = params.key as string[];
      if (key[2] === 'relay') order.push(`delete record (archive ${bob.datastore.get(archiveKey(key[3] ?? '')) ? 'written' : 'missing'})`);
      return bob.datastore.deldatastore(params);
    });
    const r = await runRdv([...at(bob), 'prune', '--older-than', '30d']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pruned 5 records \(2 settled, 1 failed, 2 expired\), kept an archive of each under rdv\/v1\/archive; 2 kept: 1 ended too recently, 1 not finished$/m);
    assert.deepEqual(new Set(order), new Set(['delete record (archive written)']));
    for (const rec of [...old, paid, unpaid]) {
      assert.equal(bob.datastore.get(relayKey(rec.paymentHash)), undefined, `${rec.paymentHash.slice(0, 8)} still has its record`);
      const a = parseArchived(bob.datastore.get(archiveKey(rec.paymentHash)) ?? '');
      assert.equal(a.paymentHash, rec.paymentHash);
    }
    const settled = parseArchived(bob.datastore.get(archiveKey((old[0] as RelayRecord).paymentHash)) ?? '');
    assert.deepEqual([settled.state, settled.earnedMsat, settled.sentMsat], ['settled', 5_999_989n, 100_000_011n]);
    assert.deepEqual([parseArchived(bob.datastore.get(archiveKey(paid.paymentHash)) ?? '').state, parseArchived(bob.datastore.get(archiveKey(unpaid.paymentHash)) ?? '').state], ['settled', 'expired']);
    const hash = (old[0] as RelayRecord).paymentHash;
    for (const key of [inboxKey(hash, CAROL), passedKey(hash), ackKey(hash), guardClaimKey(hash)]) assert.equal(bob.datastore.get(key), undefined, `${key.join('/')} is left`);
    assert.ok(bob.datastore.get(relayKey(young.paymentHash)));
    assert.ok(bob.datastore.get(passedKey(young.paymentHash)), 'the young record\'s satellite went');
    assert.ok(bob.datastore.get(relayKey(open.paymentHash)));
  });

  test('a record written again between the read and the delete is kept, and its archive entry taken back', async () => {
    const rec = relay('settled-45d', 'settled', 45);
    seedRecord(bob, rec);
    bob.overrides.set('deldatastore', async (params) => {
      const key = params.key as string[];
      // The plugin checkpoints the record just before rdv deletes it.
      if (key[2] === 'relay') bob.datastore.datastore({ key, string: serializeRecord({ ...rec, lastError: 'checkpoint' }), mode: 'must-replace' });
      return bob.datastore.deldatastore(params);
    });
    const r = await runRdv([...at(bob), '--json', 'prune', '--older-than', '30d']);
    assert.equal(r.code, 0, r.stderr);
    const out = json<PruneJson>(r.stdout);
    assert.deepEqual(out.pruned, []);
    assert.deepEqual(out.kept.map((k) => k.kind), ['changed']);
    assert.match(bob.datastore.get(relayKey(rec.paymentHash)) ?? '', /checkpoint/);
    assert.equal(bob.datastore.get(archiveKey(rec.paymentHash)), undefined);
  });

  test('after a kill between the steps: an archive entry with its record still there is replaced and the record removed; an orphaned satellite goes', async () => {
    const rec = relay('settled-45d', 'settled', 45);
    seedRecord(bob, rec);
    bob.datastore.datastore({ key: archiveKey(rec.paymentHash), string: '{"left":"by a killed prune"}', mode: 'must-create' });
    const gone = hashOf('archived-earlier');
    bob.datastore.datastore({ key: archiveKey(gone), string: '{}', mode: 'must-create' });
    bob.datastore.datastore({ key: ackKey(gone), string: '{}', mode: 'must-create' });
    const r = await runRdv([...at(bob), '--json', 'prune', '--older-than', '30d']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<PruneJson>(r.stdout).pruned.length, 1);
    assert.equal(parseArchived(bob.datastore.get(archiveKey(rec.paymentHash)) ?? '').state, 'settled');
    assert.equal(bob.datastore.get(relayKey(rec.paymentHash)), undefined);
    assert.equal(bob.datastore.get(ackKey(gone)), undefined);
  });

  test('rdv prune killed -9 just before it deletes a record leaves the record and its archive entry; the next run finishes', async () => {
    const rec = relay('settled-45d', 'settled', 45);
    seedRecord(bob, rec);
    let reached: () => void = () => undefined;
    const atDelete = new Promise<void>((resolve) => (reached = resolve));
    bob.overrides.set('deldatastore', (params) => {
      if ((params.key as string[])[2] !== 'relay') return Promise.resolve(bob.datastore.deldatastore(params));
      reached();
      return new Promise(() => undefined);
    });
    const pruning = startRdv([...at(bob), 'prune', '--older-than', '30d']);
    await atDelete;
    pruning.child.kill('SIGKILL');
    await pruning.exited;
    assert.ok(bob.datastore.get(relayKey(rec.paymentHash)), 'the record is still there');
    assert.equal(parseArchived(bob.datastore.get(archiveKey(rec.paymentHash)) ?? '').paymentHash, rec.paymentHash);
    bob.overrides.delete('deldatastore');
    const r = await runRdv([...at(bob), 'prune', '--older-than', '30d']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pruned 1 record \(1 settled\)/);
    assert.equal(bob.datastore.get(relayKey(rec.paymentHash)), undefined);
    assert.equal(parseArchived(bob.datastore.get(archiveKey(rec.paymentHash)) ?? '').state, 'settled');
  });

  test('a record whose payment onward has a pending part is kept, with the reason', async () => {
    const rec = relay('failed-40d', 'failed', 40);
    seedRecord(bob, rec);
    bob.overrides.set('listsendpays', async () => ({ payments: [{ status: 'pending', payment_hash: rec.paymentHash, amount_sent_msat: 100_000_011, created_at: now() }] }));
    const r = await runRdv([...at(bob), 'prune', '--older-than', '30d']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pruned no records; 1 kept: 1 still in use\n {2}[0-9a-f]{8} {2}its payment onward has a part still pending/);
    assert.ok(bob.datastore.get(relayKey(rec.paymentHash)));
  });

  for (const [args, message] of [
    [['--older-than', 'soon'], /--older-than "soon" is not a duration/],
    [['--older-than', '0'], /--older-than must be more than 0 seconds/],
    [[], /--older-than is required/],
  ] as const) {
    test(`rdv prune ${args.join(' ') || '(no --older-than)'}: exit 2, nothing written`, async () => {
      seedMonths();
      const before = bob.datastore.snapshot();
      const r = await runRdv([...at(bob), 'prune', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(bob.datastore.snapshot(), before);
    });
  }
});

describe('rdv forget', () => {
  test('refuses an open record with exit 2 and says why; nothing is written', async () => {
    const { open } = seedMonths();
    const before = bob.datastore.snapshot();
    const r = await runRdv([...at(bob), 'forget', open.paymentHash.slice(0, 10)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^rdv: not forgetting ${open.paymentHash.slice(0, 8)}: still open: its invoice expires in (1h 59m|2h 0m); wait`));
    assert.equal(bob.datastore.snapshot(), before);
  });

  test('removes a record settled a minute ago (no age limit), keeping its archive entry', async () => {
    const rec = relay('settled-now', 'settled', 0);
    seedRecord(bob, rec);
    const r = await runRdv([...at(bob), '--yes', 'forget', rec.paymentHash.slice(0, 8)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^forgot ${rec.paymentHash.slice(0, 8)} \\(settled\\); its archive entry is under rdv/v1/archive/${rec.paymentHash}`));
    assert.equal(bob.datastore.get(relayKey(rec.paymentHash)), undefined);
    assert.equal(parseArchived(bob.datastore.get(archiveKey(rec.paymentHash)) ?? '').state, 'settled');
  });

  test('asks on a terminal; "no" keeps the record', async () => {
    const rec = relay('settled-now', 'settled', 0);
    seedRecord(bob, rec);
    const r = await runInPty([...at(bob), 'forget', rec.paymentHash.slice(0, 8)], [{ expect: /Remove record [0-9a-f]{8} \(relay, settled/, send: 'n\r' }]);
    assert.equal(r.code, 130, r.screen);
    assert.ok(bob.datastore.get(relayKey(rec.paymentHash)));
    assert.equal(bob.datastore.get(archiveKey(rec.paymentHash)), undefined);
  });

  test('a hash that matches no record: exit 2', async () => {
    const r = await runRdv([...at(bob), 'forget', 'abcdef12']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no rdv record on this node matches abcdef12/);
  });

  test('a forgotten hash cannot be joined again: its archive entry counts as having it', async () => {
    const rec = relay('settled-45d', 'settled', 45);
    seedRecord(bob, rec);
    assert.equal((await runRdv([...at(bob), '--yes', 'forget', rec.paymentHash])).code, 0);
    const again = makeInvoice('carol', { paymentHash: rec.paymentHash });
    const r = await runRdv([...at(bob), '--yes', 'join', '--invoice', again, '--payout', '5000sat', '--fee-budget', '1000sat', '--delay-budget', '60']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /already has a record or invoice for payment hash/);
    assert.equal(bob.datastore.get(relayKey(rec.paymentHash)), undefined);
  });
});
