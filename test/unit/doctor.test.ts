/**
 * rdv doctor's checks (src/chain/doctor/): Bob's node relays Carol's 100,000 sat
 * invoice (his: 106,000 sat, fee budget 1,000 sat, delay 60, margin 34,
 * min_final_cltv 78). His one channel can receive 1,475,300 sat and send
 * 480,394 sat (rpc-listpeerchannels.json); the route to Carol costs 11 msat and
 * 6 blocks (rpc-getroutes.json). Each case changes one fact.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { msat } from '../../src/chain/amount.js';
import type { DoctorFacts, PluginFacts, RelayFacts } from '../../src/chain/doctor/facts.js';
import type { CheckResult, CheckStatus } from '../../src/chain/doctor/results.js';
import { checkClnVersion, checkCommands, checkReachable } from '../../src/chain/doctor/node.js';
import { checkGuardPlugin, checkHookOrder, checkRdvPlugin } from '../../src/chain/doctor/plugins.js';
import { checkRecords, checkStuck } from '../../src/chain/doctor/records.js';
import { checkCltv, checkLiquidity } from '../../src/chain/doctor/liquidity.js';
import { checkInbox } from '../../src/chain/doctor/inbox.js';
import { runChecks } from '../../src/chain/doctor/run.js';
import type { ChannelFunds } from '../../src/chain/node-facts.js';
import type { NodeId, PaymentHash } from '../../src/chain/ids.js';
import { err, ok } from '../../src/errors.js';
import { HASH, makeRecord, NOW } from '../helpers/builders.js';

const RDV = '/opt/rdv/bin/rdv';
const GUARD = '/opt/rdv/bin/rdv-guard';
const BUILTIN = { path: '/usr/local/libexec/c-lightning/plugins/cln-xpay', active: true };
const ALICE = `03${'a1'.repeat(32)}` as NodeId;
const OTHER_HASH = 'd4'.repeat(32) as PaymentHash;

const channel = (over: Partial<ChannelFunds> = {}): ChannelFunds => ({
  peerId: ALICE,
  state: 'CHANNELD_NORMAL',
  peerConnected: true,
  spendableMsat: msat(480_394_000n),
  receivableMsat: msat(1_475_300_000n),
  ...over,
});

const relay = (over: Partial<RelayFacts> = {}): RelayFacts => ({ record: makeRecord(), route: ok({ feeMsat: msat(11n), delayBlocks: 6 }), payInFlight: false, ...over });

const plugins = (over: Partial<PluginFacts> = {}): DoctorFacts['plugins'] => ok({ loaded: [BUILTIN, { path: RDV, active: true }, { path: GUARD, active: true }], important: [RDV, GUARD], ...over });

function healthy(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    now: NOW,
    rdv: { version: '0.1.0', executable: '/usr/lib/node_modules/rdv/bin/rdv', guardExecutable: '/usr/lib/node_modules/rdv/bin/rdv-guard' },
    cltvWarnBlocks: 432,
    node: ok({ version: 'v26.06.6', network: 'bitcoin', addresses: [{ type: 'ipv4', address: '203.0.113.7', port: 9735 }], bindings: [{ type: 'ipv4', address: '0.0.0.0', port: 9735 }] }),
    plugins: plugins(),
    rdvStatus: { relaying: true, reason: undefined, version: '0.1.0', inboxMax: 200, inboxProblem: undefined },
    guardStatus: { version: '0.1.0' },
    commands: { signinvoice: ok(true), xpay: ok(true), getroutes: ok(true) },
    channels: ok([channel()]),
    records: ok({ count: 1, relays: [relay()], unreadable: [] }),
    inboxExpiries: ok([NOW + 1_001, NOW + 2_003, NOW - 5]),
    pulls: ok([]),
    ...over,
  };
}

const withRelays = (relays: RelayFacts[], count = relays.length): Partial<DoctorFacts> => ({ records: ok({ count, relays, unreadable: [] }) });
const node = (over: Partial<{ version: string; network: 'bitcoin' | 'regtest' | 'signet'; addresses: unknown[]; bindings: unknown[] }>): Partial<DoctorFacts> => {
  const base = healthy().node;
  assert.ok(base.ok);
  return { node: ok({ ...base.value, ...over } as typeof base.value) };
};

interface Expected {
  status: CheckStatus;
  message: RegExp;
  fix?: RegExp;
  paymentHash?: string;
}
interface Case {
  description: string;
  given: Partial<DoctorFacts>;
  expected: Expected[];
}

function table(name: string, check: (f: DoctorFacts) => CheckResult | CheckResult[], cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) {
      test(c.description, () => {
        const got = [check(healthy(c.given))].flat();
        assert.equal(got.length, c.expected.length, `results: ${JSON.stringify(got)}`);
        c.expected.forEach((e, i) => {
          const r = got[i];
          assert.ok(r);
          assert.equal(r.status, e.status, r.message);
          assert.match(r.message, e.message);
          if (r.status !== 'ok') assert.ok(r.fix, 'a warning or failure says what to do');
          if (e.fix) assert.match(r.fix ?? '', e.fix);
          if (e.paymentHash) assert.equal(r.paymentHash, e.paymentHash);
        });
      });
    }
  });
}

table('1. CLN version', checkClnVersion, [
  { description: 'v26.06.6 is fine', given: {}, expected: [{ status: 'ok', message: /^CLN v26\.06\.6 \(>= v25\.02\)$/ }] },
  { description: 'v25.02 exactly is fine', given: node({ version: 'v25.02' }), expected: [{ status: 'ok', message: /CLN v25\.02 / }] },
  { description: 'v24.11.1 is too old', given: node({ version: 'v24.11.1' }), expected: [{ status: 'fail', message: /CLN v24\.11\.1 is older than v25\.02/, fix: /upgrade lightningd to v25\.02 or newer/ }] },
  { description: 'a version rdv cannot read fails', given: node({ version: 'custom-build' }), expected: [{ status: 'fail', message: /"custom-build" is not one rdv can read/ }] },
  { description: 'getinfo failing is a failure, not a crash', given: { node: err('connection reset 7') }, expected: [{ status: 'fail', message: /getinfo: connection reset 7/ }] },
]);

table('2a. the rdv plugin', checkRdvPlugin, [
  { description: 'loaded, important, relaying', given: {}, expected: [{ status: 'ok', message: /^rdv 0\.1\.0 loaded as an important plugin and relaying \(\/opt\/rdv\/bin\/rdv\)$/ }] },
  {
    description: 'not loaded: the config lines name the rdv next to the loaded rdv-guard, and that rdv-guard',
    given: { plugins: plugins({ loaded: [BUILTIN, { path: GUARD, active: true }], important: [GUARD] }), rdvStatus: undefined },
    expected: [{ status: 'fail', message: /rdv plugin is not loaded/, fix: /important-plugin=\/opt\/rdv\/bin\/rdv and important-plugin=\/opt\/rdv\/bin\/rdv-guard/ }],
  },
  {
    description: 'neither loaded: the config lines name this rdv and the rdv-guard next to it',
    given: { plugins: plugins({ loaded: [BUILTIN], important: [] }), rdvStatus: undefined },
    expected: [{ status: 'fail', message: /not loaded/, fix: /important-plugin=\/usr\/lib\/node_modules\/rdv\/bin\/rdv and important-plugin=\/usr\/lib\/node_modules\/rdv\/bin\/rdv-guard/ }],
  },
  {
    description: 'a plugin whose basename is not exactly rdv is not rdv (lightningd would not match its hook names either)',
    given: { plugins: plugins({ loaded: [{ path: '/opt/rdv-relay', active: true }, { path: GUARD, active: true }] }), rdvStatus: undefined },
    expected: [{ status: 'fail', message: /not loaded/ }],
  },
  {
    description: 'two plugins named rdv',
    given: { plugins: plugins({ loaded: [{ path: RDV, active: true }, { path: '/home/bob/rdv', active: true }, { path: GUARD, active: true }] }) },
    expected: [{ status: 'fail', message: /2 plugins named rdv are loaded \(\/opt\/rdv\/bin\/rdv, \/home\/bob\/rdv\)/, fix: /keep one/ }],
  },
  { description: 'loaded but still starting', given: { plugins: plugins({ loaded: [{ path: RDV, active: false }, { path: GUARD, active: true }] }), rdvStatus: undefined }, expected: [{ status: 'warn', message: /not finished starting/ }] },
  { description: 'loaded and active but rdv-status unanswered', given: { rdvStatus: undefined }, expected: [{ status: 'fail', message: /did not answer rdv-status/ }] },
  {
    description: 'loaded but not relaying says why',
    given: { rdvStatus: { relaying: false, reason: 'Core Lightning v24.11 is too old', version: '0.1.0', inboxMax: undefined, inboxProblem: undefined } },
    expected: [{ status: 'fail', message: /not relaying: Core Lightning v24\.11 is too old/ }],
  },
  { description: 'an ordinary plugin, not important', given: { plugins: plugins({ important: [GUARD] }) }, expected: [{ status: 'warn', message: /ordinary plugin/, fix: /important-plugin=\/opt\/rdv\/bin\/rdv so that/ }] },
  {
    description: 'lightningd runs another rdv version than this one',
    given: { rdvStatus: { relaying: true, reason: undefined, version: '0.0.9', inboxMax: 200, inboxProblem: undefined } },
    expected: [{ status: 'warn', message: /lightningd runs rdv 0\.0\.9, this is rdv 0\.1\.0/, fix: /restart lightningd/ }],
  },
  {
    description: 'two warnings on one line, both fixes',
    given: { plugins: plugins({ important: [] }), rdvStatus: { relaying: true, reason: undefined, version: '0.0.9', inboxMax: 200, inboxProblem: undefined } },
    expected: [{ status: 'warn', message: /ordinary plugin.*; lightningd runs rdv 0\.0\.9/, fix: /important-plugin=.*; restart lightningd/ }],
  },
  { description: 'plugin list failing', given: { plugins: err('timeout 13') }, expected: [{ status: 'fail', message: /did not list its plugins \(timeout 13\)/ }] },
]);

table('2b. rdv-guard', checkGuardPlugin, [
  { description: 'loaded and important', given: {}, expected: [{ status: 'ok', message: /^rdv-guard loaded as an important plugin \(\/opt\/rdv\/bin\/rdv-guard\)$/ }] },
  {
    description: 'missing: a crash of rdv could cost money; the guard to load is the one next to the loaded rdv',
    given: { plugins: plugins({ loaded: [{ path: RDV, active: true }], important: [RDV] }), guardStatus: undefined },
    expected: [{ status: 'fail', message: /rdv-guard is not loaded: .*you lose that money/, fix: /add important-plugin=\/opt\/rdv\/bin\/rdv-guard/ }],
  },
  { description: 'an ordinary plugin', given: { plugins: plugins({ important: [RDV] }) }, expected: [{ status: 'warn', message: /rdv-guard is loaded as an ordinary plugin/ }] },
  { description: 'loaded but not answering', given: { guardStatus: undefined }, expected: [{ status: 'warn', message: /did not answer rdv-guard-status/ }] },
  { description: 'another version than this rdv', given: { guardStatus: { version: '0.0.7' } }, expected: [{ status: 'warn', message: /rdv-guard 0\.0\.7, this is rdv 0\.1\.0/ }] },
  {
    description: 'two plugins named rdv-guard',
    given: { plugins: plugins({ loaded: [{ path: RDV, active: true }, { path: GUARD, active: true }, { path: '/srv/rdv-guard', active: true }] }) },
    expected: [{ status: 'fail', message: /2 plugins named rdv-guard/ }],
  },
]);

table('2c. hook order', checkHookOrder, [
  { description: 'rdv loaded first', given: {}, expected: [{ status: 'ok', message: /rdv comes before rdv-guard .*loaded first/ }] },
  {
    description: 'rdv-guard loaded first: the hooks\' before/after still put rdv first',
    given: { plugins: plugins({ loaded: [{ path: GUARD, active: true }, BUILTIN, { path: RDV, active: true }] }) },
    expected: [{ status: 'ok', message: /rdv-guard was loaded first, but lightningd orders the chain by the hooks' before\/after/ }],
  },
  { description: 'without rdv-guard it cannot be checked', given: { plugins: plugins({ loaded: [{ path: RDV, active: true }] }) }, expected: [{ status: 'warn', message: /not checked/ }] },
  { description: 'with two rdv it cannot be checked', given: { plugins: plugins({ loaded: [{ path: RDV, active: true }, { path: '/x/rdv', active: true }, { path: GUARD, active: true }] }) }, expected: [{ status: 'warn', message: /once each/ }] },
]);

table('3. RPC commands', checkCommands, [
  { description: 'all there', given: {}, expected: [{ status: 'ok', message: /^signinvoice, xpay, getroutes are available$/ }] },
  { description: 'no xpay', given: { commands: { signinvoice: ok(true), xpay: ok(false), getroutes: ok(true) } }, expected: [{ status: 'fail', message: /no xpay command/, fix: /disable-plugin=cln-xpay/ }] },
  {
    description: 'no xpay and no getroutes: both fixes',
    given: { commands: { signinvoice: ok(true), xpay: ok(false), getroutes: ok(false) } },
    expected: [{ status: 'fail', message: /no xpay, getroutes command/, fix: /cln-xpay.*; .*cln-askrene/ }],
  },
  { description: 'help failing for one command', given: { commands: { signinvoice: err('lost 17'), xpay: ok(true), getroutes: ok(true) } }, expected: [{ status: 'warn', message: /about signinvoice \(lost 17\)/ }] },
]);

table('4. reachable for pass-back', checkReachable, [
  { description: 'an announced address', given: {}, expected: [{ status: 'ok', message: /announced at 203\.0\.113\.7:9735/ }] },
  { description: 'an announced IPv6 address in brackets', given: node({ addresses: [{ type: 'ipv6', address: '2001:db8::7', port: 9737 }] }), expected: [{ status: 'ok', message: /\[2001:db8::7\]:9737/ }] },
  { description: 'listening on all interfaces, announcing nothing', given: node({ addresses: [] }), expected: [{ status: 'warn', message: /listening on 0\.0\.0\.0:9735 but announcing no address/, fix: /announce-addr=/ }] },
  { description: 'only 127.0.0.1 on mainnet', given: node({ addresses: [], bindings: [{ type: 'ipv4', address: '127.0.0.1', port: 9735 }] }), expected: [{ status: 'warn', message: /listening only on 127\.0\.0\.1:9735/, fix: /addr=/ }] },
  { description: 'only 127.0.0.1 on regtest is fine', given: node({ network: 'regtest', addresses: [], bindings: [{ type: 'ipv4', address: '127.0.0.1', port: 19847 }] }), expected: [{ status: 'ok', message: /127\.0\.0\.1:19847 only \(fine on regtest\)/ }] },
  { description: 'only ::1 on signet', given: node({ network: 'signet', addresses: [], bindings: [{ type: 'ipv6', address: '::1', port: 9739 }] }), expected: [{ status: 'warn', message: /only on \[::1\]:9739/ }] },
  { description: 'a local socket only: no peer connections', given: node({ addresses: [], bindings: [{ type: 'local socket', address: '/tmp/peers', port: undefined }] }), expected: [{ status: 'warn', message: /listens for no peer connections/ }] },
  { description: 'getinfo failing', given: { node: err('reset') }, expected: [{ status: 'warn', message: /not checked/ }] },
]);

table('records', checkRecords, [
  { description: 'counted', given: withRelays([relay(), relay({ record: makeRecord({ paymentHash: OTHER_HASH, state: 'paying' }), route: undefined, outgoing: ok('pending') })], 3), expected: [{ status: 'ok', message: /^3 rdv record\(s\): 1 open relay invoice\(s\), 1 relay\(s\) holding a payment$/ }] },
  { description: 'an unreadable record', given: { records: ok({ count: 1, relays: [relay()], unreadable: ['5d23c7e6: bad amount_msat'] }) }, expected: [{ status: 'warn', message: /1 of 2 rdv records cannot be read \(5d23c7e6: bad amount_msat\)/ }] },
  { description: 'listdatastore failing', given: { records: err('gone 19') }, expected: [{ status: 'fail', message: /\(gone 19\)/ }] },
]);

const h8 = HASH.slice(0, 8);
table('5. liquidity and route of each open relay invoice', checkLiquidity, [
  {
    description: 'enough both ways, a route within budget',
    given: {},
    expected: [{ status: 'ok', message: new RegExp(`^relay ${h8}: can receive 1,475,300 sat \\(needs 106,000 sat\\), send 480,394 sat \\(needs 100,000\\.011 sat\\); route fee 0\\.011 sat \\(budget 1,000 sat\\), 6 blocks of CLTV$`), paymentHash: HASH }],
  },
  { description: 'inbound 1 sat short', given: { channels: ok([channel({ receivableMsat: msat(105_999_000n) })]) }, expected: [{ status: 'fail', message: /can receive 105,999 sat, less than its 106,000 sat$/, fix: /inbound liquidity/ }] },
  {
    description: 'inbound short, with more in a channel whose peer is offline',
    given: { channels: ok([channel({ receivableMsat: msat(53_000_000n) }), channel({ peerConnected: false, receivableMsat: msat(53_003_000n) })]) },
    expected: [{ status: 'fail', message: /can receive 53,000 sat, less than its 106,000 sat \(53,003 sat more with peers offline now\)/ }],
  },
  { description: 'inbound summed over channels', given: { channels: ok([channel({ receivableMsat: msat(53_000_000n) }), channel({ receivableMsat: msat(53_000_000n) })]) }, expected: [{ status: 'ok', message: /can receive 106,000 sat \(needs 106,000 sat\)/ }] },
  { description: 'a closing channel counts for nothing', given: { channels: ok([channel({ receivableMsat: msat(5_000n) }), channel({ state: 'ONCHAIN' })]) }, expected: [{ status: 'fail', message: /can receive 5 sat/ }] },
  {
    description: 'outbound short of downstream plus route fee',
    given: { channels: ok([channel({ spendableMsat: msat(100_000_010n) })]) },
    expected: [{ status: 'fail', message: /can send 100,000\.010 sat, less than the 100,000\.011 sat it pays onward/, fix: /outbound liquidity/ }],
  },
  { description: 'no route to Carol', given: withRelays([relay({ route: ok(undefined) })]), expected: [{ status: 'fail', message: /askrene finds no route to the next payee 02c3c3c3… for 100,000 sat/ }] },
  { description: 'route fee 1 msat over the budget', given: withRelays([relay({ route: ok({ feeMsat: msat(1_000_001n), delayBlocks: 6 }) })]), expected: [{ status: 'fail', message: /route fee to 02c3c3c3… is 1,000\.001 sat, over the fee budget of 1,000 sat/, fix: /--fee-budget/ }] },
  { description: 'route fee equal to the budget', given: withRelays([relay({ route: ok({ feeMsat: msat(1_000_000n), delayBlocks: 6 }) })]), expected: [{ status: 'ok', message: /route fee 1,000 sat \(budget 1,000 sat\)/ }] },
  { description: 'route CLTV 24 over the 60 - 34 - 3 = 23 the delay budget leaves', given: withRelays([relay({ route: ok({ feeMsat: msat(11n), delayBlocks: 24 }) })]), expected: [{ status: 'warn', message: /needs 24 blocks of CLTV, more than the 23/, fix: /--delay-budget/ }] },
  { description: 'route CLTV 23 fits', given: withRelays([relay({ route: ok({ feeMsat: msat(11n), delayBlocks: 23 }) })]), expected: [{ status: 'ok', message: /23 blocks of CLTV/ }] },
  { description: 'getroutes failing', given: withRelays([relay({ route: err('socket closed 29') })]), expected: [{ status: 'warn', message: /route not checked \(socket closed 29\)/ }] },
  {
    description: 'two problems, fail wins',
    given: { channels: ok([channel({ receivableMsat: msat(1_000n) })]), ...withRelays([relay({ route: ok({ feeMsat: msat(11n), delayBlocks: 31 }) })]) },
    expected: [{ status: 'fail', message: /can receive 1 sat.*; the route to 02c3c3c3… needs 31 blocks/ }],
  },
  {
    description: 'one line per open invoice',
    given: withRelays([relay(), relay({ record: makeRecord({ paymentHash: OTHER_HASH, amountMsat: msat(2_000_000_000n) }) })]),
    expected: [
      { status: 'ok', message: /^relay / , paymentHash: HASH },
      { status: 'fail', message: /^relay d4d4d4d4: can receive 1,475,300 sat, less than its 2,000,000 sat/, paymentHash: OTHER_HASH },
    ],
  },
  { description: 'an expired open invoice is not checked', given: withRelays([relay({ record: makeRecord({ expiresAt: NOW }) })]), expected: [{ status: 'ok', message: /no open relay invoice/ }] },
  { description: 'a settled relay is not checked', given: withRelays([relay({ record: makeRecord({ state: 'settled' }) })]), expected: [{ status: 'ok', message: /no open relay invoice/ }] },
  { description: 'no channels listed', given: { channels: err('refused 31') }, expected: [{ status: 'fail', message: /listpeerchannels: refused 31/ }] },
  { description: 'no records', given: { records: err('gone') }, expected: [{ status: 'warn', message: /not checked/ }] },
]);

table('6. min_final_cltv against wallet caps', checkCltv, [
  { description: '78 blocks', given: {}, expected: [{ status: 'ok', message: /^min_final_cltv of 1 open invoice\(s\) at most 78 blocks \(wallets may refuse over 432\)$/ }] },
  { description: '432 exactly is fine', given: withRelays([relay({ record: makeRecord({ minFinalCltv: 432 }) })]), expected: [{ status: 'ok', message: /at most 432 blocks/ }] },
  { description: '433 warns', given: withRelays([relay({ record: makeRecord({ minFinalCltv: 433 }) })]), expected: [{ status: 'warn', message: new RegExp(`over 432 blocks: ${h8} \\(433\\)`), fix: /smaller --delay-budget/ }] },
  { description: 'a lower --cltv-warn', given: { cltvWarnBlocks: 77, ...withRelays([relay()]) }, expected: [{ status: 'warn', message: /over 77 blocks/ }] },
  { description: '1873, past 2016 - 144, fails', given: withRelays([relay({ record: makeRecord({ minFinalCltv: 1_873 }) })]), expected: [{ status: 'fail', message: /over 1872 blocks/, fix: /2016-block cap/ }] },
  {
    description: 'one over the limit and one over the cap: fail, both named',
    given: withRelays([relay({ record: makeRecord({ minFinalCltv: 1_901 }) }), relay({ record: makeRecord({ paymentHash: OTHER_HASH, minFinalCltv: 503 }) })]),
    expected: [{ status: 'fail', message: /over 1872 blocks: .* \(1901\); min_final_cltv over 432 blocks: d4d4d4d4 \(503\)/ }],
  },
  { description: 'an expired invoice does not count', given: withRelays([relay({ record: makeRecord({ minFinalCltv: 1_999, expiresAt: NOW - 1 }) })]), expected: [{ status: 'ok', message: /no open relay invoice/ }] },
]);

const holding = (over: Partial<RelayFacts>, record: Parameters<typeof makeRecord>[0] = {}): Partial<DoctorFacts> =>
  withRelays([relay({ record: makeRecord({ state: 'paying', updatedAt: NOW - 61, ...record }), route: undefined, outgoing: ok('none'), ...over })]);

table('7. relays stuck in gathered/paying', checkStuck, [
  { description: 'none holding a payment', given: {}, expected: [{ status: 'ok', message: /^no relay is holding a payment$/ }] },
  { description: 'paying with an outgoing part pending', given: holding({ outgoing: ok('pending') }), expected: [{ status: 'ok', message: /1 relay\(s\) holding a payment, each with its payment onward in flight/ }] },
  { description: 'xpay running, nothing in listsendpays yet', given: holding({ payInFlight: true }), expected: [{ status: 'ok', message: /in flight/ }] },
  {
    description: 'gathered 61 s with nothing in flight',
    given: holding({}, { state: 'gathered' }),
    expected: [{ status: 'fail', message: new RegExp(`^relay ${h8} has been gathered for 61s with nothing in flight \\(payment onward: none, no payment of rdv running\\)`), fix: /restart lightningd/, paymentHash: HASH }],
  },
  { description: 'gathered 59 s ago: rdv may be about to pay', given: holding({}, { state: 'gathered', updatedAt: NOW - 59 }), expected: [{ status: 'ok', message: /in flight/ }] },
  { description: 'paying, all parts failed, no xpay', given: holding({ outgoing: ok('failed') }), expected: [{ status: 'fail', message: /payment onward: failed/ }] },
  { description: 'payment onward complete but not resolved', given: holding({ outgoing: ok('complete') }), expected: [{ status: 'fail', message: /completed, but the incoming HTLCs are not resolved/, fix: /before they expire/ }] },
  { description: 'rdv not running', given: { rdvStatus: undefined, ...holding({}) }, expected: [{ status: 'fail', message: /rdv is not running to finish it/, fix: /^load rdv/ }] },
  { description: 'listsendpays failing', given: holding({ outgoing: err('closed 37') }), expected: [{ status: 'warn', message: /listsendpays did not say .* \(closed 37\)/ }] },
]);

const inboxOf = (stored: number, expired = 0): Partial<DoctorFacts> => ({ inboxExpiries: ok([...Array.from({ length: stored - expired }, () => NOW + 41), ...Array.from({ length: expired }, () => NOW - 43)]) });
table('8. the inbox', checkInbox, [
  { description: '2 unexpired, 1 expired', given: {}, expected: [{ status: 'ok', message: /^the inbox holds 2 of at most 200 unexpired invoices \(and 1 expired, removed when the next one arrives\)$/ }] },
  { description: '159 of 200', given: inboxOf(159), expected: [{ status: 'ok', message: /holds 159 of at most 200/ }] },
  { description: '160 of 200 is nearly full', given: inboxOf(160), expected: [{ status: 'warn', message: /160 of at most 200 .*nearly full/, fix: /rdv-inbox-max/ }] },
  { description: '200 of 200 is full: pass-backs are refused', given: inboxOf(200), expected: [{ status: 'fail', message: /it is full, so invoices passed back to you are refused/ }] },
  { description: '200 stored but 47 expired is not full', given: inboxOf(200, 47), expected: [{ status: 'ok', message: /holds 153 of at most 200 unexpired invoices \(and 47 expired/ }] },
  {
    description: 'a bad plugin option',
    given: { rdvStatus: { relaying: true, reason: undefined, version: '0.1.0', inboxMax: 200, inboxProblem: 'rdv-inbox-max must be at least 1' } },
    expected: [{ status: 'warn', message: /plugin option: rdv-inbox-max must be at least 1/ }],
  },
  { description: 'rdv not answering', given: { rdvStatus: undefined }, expected: [{ status: 'warn', message: /not checked: rdv did not answer/ }] },
  { description: 'inbox not running', given: { rdvStatus: { relaying: false, reason: 'starting', version: '0.1.0', inboxMax: undefined, inboxProblem: undefined } }, expected: [{ status: 'warn', message: /not running/ }] },
]);

describe('runChecks', () => {
  test('a healthy node: every check, in order, all ok', () => {
    const results = runChecks(healthy());
    assert.deepEqual(
      results.map((r) => [r.name, r.status]),
      ['cln-version', 'rdv-plugin', 'guard-plugin', 'hook-order', 'commands', 'reachable', 'records', 'liquidity', 'cltv', 'stuck', 'inbox', 'pull'].map((n) => [n, 'ok']),
    );
  });

  test('without any plugin and without records nothing crashes, and what needs the plugin says so', () => {
    const results = runChecks(healthy({ plugins: ok({ loaded: [BUILTIN], important: [] }), rdvStatus: undefined, guardStatus: undefined, records: ok({ count: 0, relays: [], unreadable: [] }) }));
    const by = new Map(results.map((r) => [r.name, r.status]));
    assert.deepEqual(Object.fromEntries(by), { 'cln-version': 'ok', 'rdv-plugin': 'fail', 'guard-plugin': 'fail', 'hook-order': 'warn', commands: 'ok', reachable: 'ok', records: 'ok', liquidity: 'ok', cltv: 'ok', stuck: 'ok', inbox: 'warn', pull: 'ok' });
  });
});

describe('pull: the offers and Lightning Addresses policies pull from', () => {
  test('none: ok, and it says so', () => {
    const r = runChecks(healthy()).find((x) => x.name === 'pull');
    assert.deepEqual([r?.status, r?.message], ['ok', 'no policy pulls from an offer or a Lightning Address']);
  });

  test('an address this machine cannot reach fails, naming the policy and what to do; an offer that decodes is ok', () => {
    const r = runChecks(
      healthy({
        pulls: ok([
          { policy: 'b0b00001', source: { kind: 'address', address: 'carol@shop.example' }, reached: err('could not read the pay parameters of carol@shop.example: DNS lookup of shop.example failed') },
          { policy: 'b0b00002', source: { kind: 'offer', offer: 'lno1qgsq' }, reached: ok('its offer is payable from this node') },
        ]),
      }),
    ).find((x) => x.name === 'pull');
    assert.equal(r?.status, 'fail');
    assert.equal(r?.message, 'policy b0b00001: could not read the pay parameters of carol@shop.example: DNS lookup of shop.example failed');
    assert.match(r?.fix ?? '', /reaches the web \(https to shop\.example\)/);
  });
});
