/**
 * `rdv completion` scripts run for real: bash (`source <(rdv completion
 * bash)`, then the completion function as bash calls it on Tab), zsh (an
 * interactive zsh in a pseudo-terminal, the script autoloaded from fpath by
 * compinit) and fish (`complete -C`). Payment hashes come from Bob's simulated
 * node, found with the --lightning-dir and --network on the line; an
 * unreachable or silent node gives nothing, and no error in the shell.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { NodeId, PaymentHash } from '../../src/chain/ids.js';
import { POLICY_KEY } from '../../src/chain/policy/policy.js';
import { serializeBook } from '../../src/chain/policy/book.js';
import { inboxKey, serializeInbox } from '../../src/chain/record.js';
import type { SimNode } from '../../src/simnet/node.js';
import { makeRecord } from '../helpers/builders.js';
import { seedRecord } from '../helpers/fake-lightningd.js';
import { ROOT } from '../helpers/paths.js';
import { run, runRdv, type RdvRun } from '../helpers/rdv.js';
import { simNetFor } from '../helpers/sim.js';

const BIN = join(ROOT, 'bin');
const ENV = { ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1', LIGHTNINGD_PLUGIN: '' };

const OLDER = 'a7'.repeat(32) as PaymentHash;
const NEWER = 'a9'.repeat(32) as PaymentHash;
const OTHER = 'c5'.repeat(32) as PaymentHash;
const INBOX = 'e3'.repeat(32) as PaymentHash;
const CAROL = `02${'c3'.repeat(32)}` as NodeId;

let bob: SimNode;
let scratch: string;
let silentDir: string;
let silent: Server;

/** Run a shell with bin/ on its PATH (the simulated node answers in this process meanwhile). */
const shell = (command: string, args: string[], timeoutMs = 20_000): Promise<RdvRun> => run(command, args, { env: ENV, timeoutMs });

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

/** What bash offers for these words, the last one being completed (as bash fills COMP_WORDS on Tab). */
async function bashCompletes(...words: string[]): Promise<{ offered: string[]; stderr: string }> {
  const script = 'source <(rdv completion bash); COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _rdv; printf "%s\\n" "${COMPREPLY[@]}"';
  const r = await shell('bash', ['--norc', '--noprofile', '-c', script, 'bash', ...words]);
  assert.equal(r.code, 0, r.stderr);
  return { offered: lines(r.stdout), stderr: r.stderr };
}

const hasShell = (name: string): boolean => spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;

simNetFor(async (net) => {
  bob = await net.addNode('bob');
  seedRecord(bob, makeRecord({ paymentHash: OLDER, state: 'settled', createdAt: 1_795_620_001 }));
  seedRecord(bob, makeRecord({ paymentHash: NEWER, state: 'open', createdAt: 1_795_620_003 }));
  seedRecord(bob, makeRecord({ paymentHash: OTHER, state: 'failed', createdAt: 1_795_620_002 }));
  bob.datastore.datastore({
    key: inboxKey(INBOX, CAROL),
    string: serializeInbox({ version: 1, paymentHash: INBOX, bolt11: 'lnbcrt1m1carol', from: CAROL, receivedAt: 1_795_620_005 }),
    mode: 'must-create',
  });
  bob.datastore.datastore({
    key: [...POLICY_KEY],
    string: serializeBook({ version: 1, lastPolicies: [], policies: [{ id: '5e1f0c2a', from: CAROL, payout: { kind: 'percent', ppm: 20_000n }, feeBudget: { kind: 'percent', ppm: 5_000n }, delayBudget: 80, createdAt: 1_795_620_007 }] }),
    mode: 'must-create',
  });
});

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'rdv-compl-'));
  // A "lightningd" that accepts the connection and never answers.
  silentDir = join(scratch, 'silent');
  mkdirSync(join(silentDir, 'regtest'), { recursive: true });
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(join(silentDir, 'regtest', 'lightning-rpc'), resolve));
});

after(() => {
  silent?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const at = (): string[] => ['--lightning-dir', bob.dir, '--network', 'regtest'];

describe('rdv completion bash, in bash', () => {
  test('rdv jo<Tab> completes to join', async () => {
    assert.deepEqual((await bashCompletes('rdv', 'jo')).offered, ['join']);
  });

  test('rdv join --pa<Tab> completes to --payout', async () => {
    assert.deepEqual((await bashCompletes('rdv', 'join', '--pa')).offered, ['--payout']);
  });

  test('a global option\'s value is not taken for the subcommand: rdv --network regtest st<Tab> is status', async () => {
    assert.deepEqual((await bashCompletes('rdv', '--network', 'regtest', 'st')).offered, ['status']);
  });

  test('option values: --network re<Tab>, --network=re<Tab> as bash splits it, and completion <Tab>', async () => {
    assert.deepEqual((await bashCompletes('rdv', '--network', 're')).offered, ['regtest']);
    assert.deepEqual((await bashCompletes('rdv', '--network', '=', 're')).offered, ['regtest']);
    assert.deepEqual((await bashCompletes('rdv', 'completion', '')).offered, ['bash', 'zsh', 'fish']);
  });

  test('rdv status <Tab> offers Bob\'s records, newest first, from the node named on the line', async () => {
    assert.deepEqual((await bashCompletes('rdv', ...at(), 'status', '')).offered, [NEWER, OTHER, OLDER]);
    assert.deepEqual((await bashCompletes('rdv', ...at(), 'pass-back', 'a9')).offered, [NEWER]);
    assert.deepEqual((await bashCompletes('rdv', `--lightning-dir=${bob.dir}`, 'status', '--network=regtest', 'a')).offered, [NEWER, OLDER]);
  });

  test('rdv join --from-inbox <Tab> offers the inbox, not the records', async () => {
    assert.deepEqual((await bashCompletes('rdv', ...at(), 'join', '--from-inbox', '')).offered, [INBOX]);
  });

  test('rdv policy <Tab> offers its subcommands; after one, its own options; a value taken is not a subcommand', async () => {
    assert.deepEqual((await bashCompletes('rdv', 'policy', '')).offered, ['add', 'list', 'remove']);
    assert.deepEqual((await bashCompletes('rdv', '--network', 'regtest', 'policy', 're')).offered, ['remove']);
    assert.deepEqual((await bashCompletes('rdv', 'policy', 'add', '--pa')).offered, ['--payout', '--pass-to']);
    assert.deepEqual((await bashCompletes('rdv', 'policy', 'add', '--from', CAROL, '--fee')).offered, ['--fee-budget']);
    assert.deepEqual((await bashCompletes('rdv', 'policy', 'add', '')).offered, []);
  });

  test('rdv policy remove <Tab> offers the policy ids on Bob\'s node', async () => {
    assert.deepEqual((await bashCompletes('rdv', ...at(), 'policy', 'remove', '')).offered, ['5e1f0c2a']);
    assert.deepEqual((await bashCompletes('rdv', ...at(), 'policy', 'remove', '5e1f0c2a', '')).offered, []);
  });

  test('no node there, or a node that never answers: nothing offered, nothing printed', async () => {
    for (const dir of [join(scratch, 'nothing-here'), silentDir]) {
      const r = await bashCompletes('rdv', '--lightning-dir', dir, '--network', 'regtest', 'status', '');
      assert.deepEqual(r.offered, [], dir);
      assert.equal(r.stderr, '', dir);
    }
  });
});

describe('rdv __complete (what the scripts call)', () => {
  test('prints hash, tab, description; exit 0 and nothing else when the node is silent', async () => {
    const r = await runRdv([...at(), '__complete', 'hashes']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [`${NEWER}\trelay, open, 106,000 sat`, `${OTHER}\trelay, failed, 106,000 sat`, `${OLDER}\trelay, settled, 106,000 sat`]);
    const quiet = await runRdv(['--lightning-dir', silentDir, '--network', 'regtest', '__complete', 'hashes']);
    assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, '', '']);
  });

  test('is not in rdv --help', async () => {
    const r = await runRdv(['--help']);
    assert.ok(r.stdout.includes('completion <shell>'));
    assert.ok(!r.stdout.includes('__complete'));
  });
});

describe('rdv completion zsh, in zsh', { skip: hasShell('zsh') ? false : 'no zsh on this machine (apt-get install zsh)' }, () => {
  let fpathDir: string;
  before(async () => {
    fpathDir = join(scratch, 'zfunc');
    mkdirSync(fpathDir);
    const r = await runRdv(['completion', 'zsh']);
    writeFileSync(join(fpathDir, '_rdv'), r.stdout);
  });

  const zshCompletes = async (line: string): Promise<string[]> => {
    const r = await shell('zsh', ['-f', join(ROOT, 'test', 'helpers', 'zsh-capture.zsh'), fpathDir, line]);
    assert.equal(r.code, 0, r.stderr);
    return lines(r.stdout);
  };

  test('rdv jo<Tab> is join, rdv join --pa<Tab> is --payout', async () => {
    assert.deepEqual(await zshCompletes('rdv jo'), ['join']);
    assert.deepEqual(await zshCompletes('rdv join --pa'), ['--payout']);
  });

  test('rdv status <Tab> offers Bob\'s records from his node', async () => {
    assert.deepEqual((await zshCompletes(`rdv --lightning-dir ${bob.dir} --network regtest status `)).sort(), [NEWER, OTHER, OLDER].sort());
  });

  test('rdv policy <Tab> is add, list, remove; rdv policy add --pa<Tab> its options; rdv policy remove <Tab> Bob\'s policy ids', async () => {
    assert.deepEqual((await zshCompletes('rdv policy ')).sort(), ['add', 'list', 'remove']);
    assert.deepEqual((await zshCompletes('rdv policy add --pa')).sort(), ['--pass-to', '--payout']);
    assert.deepEqual(await zshCompletes(`rdv --lightning-dir ${bob.dir} --network regtest policy remove `), ['5e1f0c2a']);
  });
});

describe('rdv completion fish, in fish', { skip: hasShell('fish') ? false : 'no fish on this machine (apt-get install fish)' }, () => {
  let file: string;
  before(async () => {
    file = join(scratch, 'rdv.fish');
    writeFileSync(file, (await runRdv(['completion', 'fish'])).stdout);
  });

  /** fish's candidates for the line (`complete -C`), without their descriptions. */
  const fishCompletes = async (line: string): Promise<string[]> => {
    const r = await shell('fish', ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', file, line]);
    assert.equal(r.code, 0, r.stderr);
    return lines(r.stdout).map((l) => l.split('\t')[0] ?? '');
  };

  test('rdv jo<Tab> is join, rdv join --pa<Tab> is --payout', async () => {
    assert.deepEqual(await fishCompletes('rdv jo'), ['join']);
    assert.deepEqual(await fishCompletes('rdv join --pa'), ['--payout']);
  });

  test('rdv policy <Tab> is add, list, remove; rdv policy add --pa<Tab> its options; rdv policy remove <Tab> Bob\'s policy ids', async () => {
    assert.deepEqual((await fishCompletes('rdv policy ')).sort(), ['add', 'list', 'remove']);
    assert.deepEqual((await fishCompletes('rdv policy add --pa')).sort(), ['--pass-to', '--payout']);
    assert.deepEqual(await fishCompletes(`rdv --lightning-dir ${bob.dir} --network regtest policy remove `), ['5e1f0c2a']);
  });

  test('rdv status <Tab> offers Bob\'s records from his node, with their state', async () => {
    const r = await shell('fish', ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', file, `rdv --lightning-dir ${bob.dir} --network regtest status `]);
    assert.deepEqual(lines(r.stdout).sort(), [`${NEWER}\trelay, open, 106,000 sat`, `${OTHER}\trelay, failed, 106,000 sat`, `${OLDER}\trelay, settled, 106,000 sat`].sort());
  });
});
