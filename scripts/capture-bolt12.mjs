#!/usr/bin/env node
// Captures real Core Lightning replies about BOLT 12 for test/fixtures/bolt12/
// (see its README.md). It only drives the binaries: a regtest network from
// src/regtest/harness.ts (RDV_LIGHTNINGD, RDV_BITCOIND), `lightning-cli` for
// every call, and each reply saved as the CLI printed it (xpay's `# ...`
// progress lines removed). rdv is not loaded on any node. Run after a build:
//   npm run build && node scripts/capture-bolt12.mjs [out-dir]
//
// The network: alice -> bob -> carol (announced), bob -> dave (unannounced:
// dave's invoices carry a real blinded path from bob), and zed, with no
// channel and no peer (unreachable). Bob charges fee-base 1234 msat,
// 567 ppm and a cltv-delta of 41, so the blinded payinfo of dave's path has
// numbers that cannot be mistaken for defaults.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { locateBinaries } = await import(join(root, 'dist/src/regtest/binaries.js'));
const { Regtest } = await import(join(root, 'dist/src/regtest/harness.js'));
const { runCommand, poll } = await import(join(root, 'dist/src/regtest/process.js'));

const outDir = resolve(process.argv[2] ?? join(root, 'test/fixtures/bolt12'));
mkdirSync(outDir, { recursive: true });
const logFile = join(outDir, 'capture.log');
writeFileSync(logFile, '');

const bins = locateBinaries();
if (!bins.ok) {
  console.error(bins.error);
  process.exit(2);
}
const hookPlugin = join(root, 'scripts/bolt12-hook-capture.mjs');
const rtResult = await Regtest.start({
  binaries: bins.value,
  nodes: [
    { name: 'alice', rdv: 'none' },
    { name: 'bob', rdv: 'none', extraArgs: ['--fee-base=1234', '--fee-per-satoshi=567', '--cltv-delta=41', `--plugin=${hookPlugin}`] },
    { name: 'carol', rdv: 'none', extraArgs: [`--plugin=${hookPlugin}`] },
    { name: 'dave', rdv: 'none', extraArgs: [`--plugin=${hookPlugin}`] },
    { name: 'zed', rdv: 'none' },
  ],
  keep: process.env.KEEP === '1',
});
if (!rtResult.ok) {
  console.error(rtResult.error);
  process.exit(1);
}
const rt = rtResult.value;

/** lightning-cli -k at a node; the reply text (stdout) and whether it failed. */
async function cli(name, method, params = {}, timeoutMs = 120_000) {
  const node = rt.node(name);
  const args = [`--lightning-dir=${node.dir}`, '--network=regtest', '-k', method];
  for (const [k, v] of Object.entries(params)) args.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const r = await runCommand(bins.value.lightningCli, args, timeoutMs);
  const text = r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  return { ok: r.code === 0, code: r.code, text, json: text.trim() === '' ? undefined : JSON.parse(text), stderr: r.stderr };
}

/** Call and save as `file` (the command goes to capture.log). */
async function save(file, name, method, params = {}, timeoutMs) {
  const r = await cli(name, method, params, timeoutMs);
  writeFileSync(join(outDir, file), r.text.endsWith('\n') ? r.text : `${r.text}\n`);
  const shown = Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (v.length > 40 ? `${v.slice(0, 24)}…` : v) : JSON.stringify(v)}`)
    .join(' ');
  appendFileSync(logFile, `${file}\t${name}: ${method} ${shown}\t${r.ok ? 'ok' : `rc=${r.code}`}\n`);
  console.log(`${file}: ${name} ${method} ${r.ok ? 'ok' : `rc=${r.code}`}`);
  return r;
}

const note = (line) => {
  appendFileSync(logFile, `# ${line}\n`);
  console.log(`# ${line}`);
};
const nowSeconds = () => Math.floor(Date.now() / 1000);

try {
  await rt.fund(['alice', 'bob'], { btc: 0.1, utxos: 3 });
  const channels = await rt.openChannels(
    [
      { from: 'alice', to: 'bob', amountSat: 2_000_000 },
      { from: 'bob', to: 'carol', amountSat: 1_000_000 },
      { from: 'bob', to: 'dave', amountSat: 1_000_000, announce: false },
    ],
    { gossipTo: ['alice', 'bob', 'carol', 'dave'] },
  );
  for (const c of channels) note(`channel ${c.from}->${c.to} ${c.scid}`);
  for (const n of rt.nodes) note(`${n.name} ${n.id}`);
  // carol's node_announcement must reach her own gossip before her offer decides on paths.
  await poll('carol to see her own node announcement', async () => {
    const r = await cli('carol', 'listnodes', { id: rt.node('carol').id });
    return r.json?.nodes?.[0]?.alias !== undefined ? true : undefined;
  }, 60_000);
  await save('rpc-getinfo-bob.json', 'bob', 'getinfo');
  await save('rpc-listconfigs-cltv.json', 'carol', 'listconfigs', { config: 'cltv-final' });

  // --- offers --------------------------------------------------------------------
  const anyOffer = await save('rpc-offer-any.json', 'carol', 'offer', { amount: 'any', description: 'rdv fixture: any amount', label: 'fix-any' });
  const fixedOffer = await save('rpc-offer-fixed.json', 'carol', 'offer', { amount: '250000msat', description: 'rdv fixture: fixed 250000msat', label: 'fix-fixed' });
  const privOffer = await save('rpc-offer-private.json', 'dave', 'offer', { amount: 'any', description: 'rdv fixture: unannounced issuer', label: 'fix-private' });
  const lnoAny = anyOffer.json.bolt12;
  const lnoFixed = fixedOffer.json.bolt12;
  const lnoPriv = privOffer.json.bolt12;
  await save('rpc-decode-offer-any.json', 'bob', 'decode', { string: lnoAny });
  await save('rpc-decode-offer-fixed.json', 'bob', 'decode', { string: lnoFixed });
  await save('rpc-decode-offer-private.json', 'bob', 'decode', { string: lnoPriv });

  // --- fetchinvoice and decode -------------------------------------------------------
  const D1 = 100_000_123;
  const fetched = await save('rpc-fetchinvoice-any.json', 'bob', 'fetchinvoice', { offer: lnoAny, amount_msat: D1 });
  const lniPublic = fetched.json.invoice;
  await save('rpc-decode-invoice-public.json', 'bob', 'decode', { string: lniPublic });
  const fixed = await save('rpc-fetchinvoice-fixed.json', 'bob', 'fetchinvoice', { offer: lnoFixed });
  await save('rpc-decode-invoice-fixed.json', 'bob', 'decode', { string: fixed.json.invoice });
  await save('rpc-fetchinvoice-fixed-more.json', 'bob', 'fetchinvoice', { offer: lnoFixed, amount_msat: 250_777 });
  const D2 = 54_321_987;
  const priv = await save('rpc-fetchinvoice-private.json', 'bob', 'fetchinvoice', { offer: lnoPriv, amount_msat: D2 });
  const lniPriv = priv.json.invoice;
  await save('rpc-decode-invoice-private.json', 'bob', 'decode', { string: lniPriv });
  const D3 = 7_654_321;
  const privAlice = await save('rpc-fetchinvoice-private-alice.json', 'alice', 'fetchinvoice', { offer: lnoPriv, amount_msat: D3 });
  const lniPrivAlice = privAlice.json.invoice;
  await save('rpc-decode-invoice-private-alice.json', 'alice', 'decode', { string: lniPrivAlice });
  const unpaid = await save('rpc-fetchinvoice-unpaid.json', 'bob', 'fetchinvoice', { offer: lnoAny, amount_msat: 3_333_333 });

  // A BOLT 12 string has no checksum: one changed letter in the signature still decodes, as invalid.
  const last = lniPublic.at(-1);
  const tampered = `${lniPublic.slice(0, -1)}${last === 'q' ? 'p' : 'q'}`;
  await save('rpc-decode-invoice-bad-signature.json', 'bob', 'decode', { string: tampered });

  // --- paying ------------------------------------------------------------------------
  await save('rpc-xpay-public.json', 'bob', 'xpay', { invstring: lniPublic });
  const hashPublic = (await cli('bob', 'decode', { string: lniPublic })).json.invoice_payment_hash;
  await save('rpc-listsendpays-public.json', 'bob', 'listsendpays', { payment_hash: hashPublic });
  await save('rpc-listpays-public.json', 'bob', 'listpays', { payment_hash: hashPublic });
  await save('rpc-listinvoices-public-paid.json', 'carol', 'listinvoices', { payment_hash: hashPublic });
  await save('rpc-xpay-public-again-error.json', 'bob', 'xpay', { invstring: lniPublic });
  const hashUnpaid = (await cli('bob', 'decode', { string: unpaid.json.invoice })).json.invoice_payment_hash;
  await save('rpc-listinvoices-unpaid.json', 'carol', 'listinvoices', { payment_hash: hashUnpaid });
  await save('rpc-listoffers.json', 'carol', 'listoffers');

  await save('rpc-xpay-private.json', 'bob', 'xpay', { invstring: lniPriv });
  const hashPriv = (await cli('bob', 'decode', { string: lniPriv })).json.invoice_payment_hash;
  await save('rpc-listsendpays-private.json', 'bob', 'listsendpays', { payment_hash: hashPriv });
  await save('rpc-listinvoices-private-paid.json', 'dave', 'listinvoices', { payment_hash: hashPriv });

  await save('rpc-xpay-private-alice.json', 'alice', 'xpay', { invstring: lniPrivAlice });
  const hashPrivAlice = (await cli('alice', 'decode', { string: lniPrivAlice })).json.invoice_payment_hash;
  await save('rpc-listsendpays-private-alice.json', 'alice', 'listsendpays', { payment_hash: hashPrivAlice });

  // --- maxfee and maxdelay count the blinded path's fee and CLTV ----------------------------
  // Alice -> Bob is Alice's own channel (free): the only fee is the path's, the only delay its delta.
  const D4 = 3_210_987;
  const limits = await save('rpc-fetchinvoice-private-limits.json', 'alice', 'fetchinvoice', { offer: lnoPriv, amount_msat: D4 });
  const lniLimits = limits.json.invoice;
  const limitsDecoded = (await cli('alice', 'decode', { string: lniLimits })).json;
  const payinfo = limitsDecoded.invoice_paths[0].payinfo;
  const pathFee = Number(payinfo.fee_base_msat) + Math.floor((D4 * payinfo.fee_proportional_millionths) / 1_000_000);
  note(`the path's fee for ${D4} msat: ${pathFee} msat; its cltv_expiry_delta: ${payinfo.cltv_expiry_delta}`);
  await save('rpc-xpay-maxfee-below-path-fee-error.json', 'alice', 'xpay', { invstring: lniLimits, maxfee: pathFee - 1, retry_for: 10 });
  await save('rpc-xpay-maxdelay-below-path-cltv-error.json', 'alice', 'xpay', { invstring: lniLimits, maxdelay: payinfo.cltv_expiry_delta - 1, retry_for: 10 });
  await save('rpc-xpay-at-path-limits.json', 'alice', 'xpay', { invstring: lniLimits, maxfee: pathFee, maxdelay: payinfo.cltv_expiry_delta, retry_for: 30 });
  await save('rpc-listsendpays-at-path-limits.json', 'alice', 'listsendpays', { payment_hash: limitsDecoded.invoice_payment_hash });

  // The same limits when the payer is itself the path's introduction node (Bob, for dave's paths).
  const D5 = 2_109_876;
  const selfFee = await save('rpc-fetchinvoice-intro-self-fee.json', 'bob', 'fetchinvoice', { offer: lnoPriv, amount_msat: D5 });
  const selfFeeDecoded = (await cli('bob', 'decode', { string: selfFee.json.invoice })).json;
  const selfPayinfo = selfFeeDecoded.invoice_paths[0].payinfo;
  const selfPathFee = Number(selfPayinfo.fee_base_msat) + Math.floor((D5 * selfPayinfo.fee_proportional_millionths) / 1_000_000);
  note(`the path's fee for ${D5} msat: ${selfPathFee} msat (bob is the introduction node)`);
  await save('rpc-xpay-intro-self-maxfee-below-path-fee.json', 'bob', 'xpay', { invstring: selfFee.json.invoice, maxfee: selfPathFee - 1, retry_for: 10 });
  await save('rpc-listsendpays-intro-self-maxfee.json', 'bob', 'listsendpays', { payment_hash: selfFeeDecoded.invoice_payment_hash });
  const D6 = 1_098_765;
  const selfDelay = await save('rpc-fetchinvoice-intro-self-delay.json', 'bob', 'fetchinvoice', { offer: lnoPriv, amount_msat: D6 });
  const selfDelayDecoded = (await cli('bob', 'decode', { string: selfDelay.json.invoice })).json;
  await save('rpc-xpay-intro-self-maxdelay-below-path-cltv.json', 'bob', 'xpay', { invstring: selfDelay.json.invoice, maxdelay: selfDelayDecoded.invoice_paths[0].payinfo.cltv_expiry_delta - 1, retry_for: 10 });
  await save('rpc-listsendpays-intro-self-maxdelay.json', 'bob', 'listsendpays', { payment_hash: selfDelayDecoded.invoice_payment_hash });
  await save('rpc-getinfo-bob-after.json', 'bob', 'getinfo');

  // --- fetchinvoice errors --------------------------------------------------------------
  await save('rpc-fetchinvoice-no-amount-error.json', 'bob', 'fetchinvoice', { offer: lnoAny });
  await save('rpc-fetchinvoice-fixed-less-error.json', 'bob', 'fetchinvoice', { offer: lnoFixed, amount_msat: 1000 });
  const expiresAt = nowSeconds() + 4;
  const expiring = await save('rpc-offer-expiring.json', 'carol', 'offer', { amount: 'any', description: 'rdv fixture: expires soon', absolute_expiry: expiresAt, label: 'fix-expiring' });
  await poll('the expiring offer to expire', async () => (nowSeconds() > expiresAt + 1 ? true : undefined), 30_000, 250);
  await save('rpc-fetchinvoice-expired-error.json', 'bob', 'fetchinvoice', { offer: expiring.json.bolt12, amount_msat: 1_000_000 });
  await save('rpc-decode-offer-expired.json', 'bob', 'decode', { string: expiring.json.bolt12 });
  const doomed = await save('rpc-offer-to-disable.json', 'carol', 'offer', { amount: 'any', description: 'rdv fixture: disabled', label: 'fix-disabled' });
  await save('rpc-disableoffer.json', 'carol', 'disableoffer', { offer_id: doomed.json.offer_id });
  await save('rpc-fetchinvoice-disabled-error.json', 'bob', 'fetchinvoice', { offer: doomed.json.bolt12, amount_msat: 1_000_000, timeout: 20 }, 60_000);
  const lonely = await save('rpc-offer-unreachable.json', 'zed', 'offer', { amount: 'any', description: 'rdv fixture: nobody can reach me', label: 'fix-unreachable' });
  await save('rpc-fetchinvoice-unreachable-error.json', 'bob', 'fetchinvoice', { offer: lonely.json.bolt12, amount_msat: 1_000_000, timeout: 20 }, 60_000);

  // --- hooks at the final hop ------------------------------------------------------------
  for (const name of ['bob', 'carol', 'dave']) {
    // The plugin's init names the network's directory (<lightning-dir>/regtest).
    const file = join(rt.node(name).dir, 'regtest', 'htlc_accepted.jsonl');
    if (!existsSync(file)) {
      note(`${name}'s capture plugin saw no htlc_accepted call`);
      continue;
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n').filter((l) => l !== '');
    writeFileSync(join(outDir, `hook-htlc_accepted-bolt12-${name}.json`), `${JSON.stringify(lines.map((l) => JSON.parse(l)), null, 2)}\n`);
    note(`hook-htlc_accepted-bolt12-${name}.json: the ${lines.length} htlc_accepted call(s) ${name}'s capture plugin saw, in order`);
  }
} finally {
  await rt.stop();
}
