/**
 * Shell completion scripts, generated from the commander program: every
 * subcommand and option of src/cli.ts's buildProgram is in each script, a
 * command added later is too (no list to keep in step), hidden ones are not;
 * and what `rdv __complete` prints from datastore entries. Pure.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli.js';
import { serializeInbox, serializeRecord, type InboxEntry } from '../../src/chain/record.js';
import type { NodeId, PaymentHash } from '../../src/chain/ids.js';
import { msat } from '../../src/chain/amount.js';
import { bashScript } from '../../src/ui/completion/bash.js';
import { fishScript } from '../../src/ui/completion/fish.js';
import { inboxLines, policyLines, recordLines } from '../../src/ui/completion/node-lists.js';
import { serializeBook } from '../../src/chain/policy/book.js';
import { completionSpec, valuesFor, type CompletionSpec } from '../../src/ui/completion/spec.js';
import { zshScript } from '../../src/ui/completion/zsh.js';
import { makeRecord } from '../helpers/builders.js';

const SCRIPTS: Array<[string, (spec: CompletionSpec) => string]> = [
  ['bash', bashScript],
  ['zsh', zshScript],
  ['fish', fishScript],
];

const program = buildProgram(async () => undefined);
const spec = completionSpec(program);
const subcommands = program.commands.filter((c) => c.name() !== '__complete');
/** The subcommands with theirs (rdv policy add, list, remove), but not commander's own help. */
const everyCommand = subcommands.flatMap((c) => [c, ...c.commands.filter((sub) => sub.name() !== 'help')]);

describe('completion spec from buildProgram', () => {
  test('has every subcommand but the hidden __complete, plus commander\'s help', () => {
    assert.deepEqual(
      spec.commands.map((c) => c.name),
      [...subcommands.map((c) => c.name()), 'help'],
    );
  });

  test('the values each kind of option and argument completes with', () => {
    const cases: Array<{ description: string; given: Parameters<typeof valuesFor>; expected: ReturnType<typeof valuesFor> }> = [
      { description: 'a payment hash argument: the records\'', given: ['hash', undefined], expected: { kind: 'node', list: 'hashes' } },
      { description: '--from-inbox <hash>: the inbox\'s', given: ['hash', undefined, '--from-inbox'], expected: { kind: 'node', list: 'inbox' } },
      { description: '--lightning-dir <dir>: directories', given: ['dir', undefined, '--lightning-dir'], expected: { kind: 'dirs' } },
      { description: '--out <file>: files', given: ['file', undefined, '--out'], expected: { kind: 'files' } },
      { description: '--network <name>: the networks', given: ['name', undefined, '--network'], expected: { kind: 'words', words: ['bitcoin', 'testnet', 'testnet4', 'signet', 'regtest'] } },
      { description: 'choices win', given: ['hash', ['bash', 'zsh'], '--x'], expected: { kind: 'words', words: ['bash', 'zsh'] } },
      { description: 'an amount: free text', given: ['amount', undefined, '--payout'], expected: { kind: 'text' } },
      { description: 'a <policy_id> argument: the node\'s policies', given: ['policy_id', undefined], expected: { kind: 'node', list: 'policies' } },
    ];
    for (const c of cases) assert.deepEqual(valuesFor(...c.given), c.expected, c.description);
  });

  test('options read from commander: flags, short forms, values', () => {
    const join = spec.commands.find((c) => c.name === 'join');
    assert.ok(join);
    assert.deepEqual(join.options.find((o) => o.long === '--from-inbox')?.value, { kind: 'node', list: 'inbox' });
    assert.equal(join.options.find((o) => o.long === '--last')?.value, undefined);
    assert.deepEqual(spec.globals.find((o) => o.long === '--yes')?.short, '-y');
    const status = spec.commands.find((c) => c.name === 'status');
    assert.deepEqual(status?.args, [{ name: 'hash', required: false, variadic: false, values: { kind: 'node', list: 'hashes' } }]);
    assert.deepEqual(status?.subcommands, []);
  });

  test('rdv policy: its subcommands (not commander\'s help), each with its options and arguments', () => {
    const policy = spec.commands.find((c) => c.name === 'policy');
    assert.deepEqual(policy?.subcommands.map((c) => c.name), ['add', 'list', 'remove']);
    assert.deepEqual(policy?.args, []);
    const [add, , remove] = policy?.subcommands ?? [];
    assert.deepEqual(add?.options.map((o) => o.long), ['--from', '--address', '--offer', '--payout', '--fee-budget', '--delay-budget', '--pass-to', '--max-amount', '--min-amount', '--expires', '--note', '--max-open', '--max-per-minute', '--max-invoice-life', '--max-description', '--last', '--for', '--description', '--expiry', '--max-unpaid', '--help']);
    assert.deepEqual(remove?.args, [{ name: 'policy_id', required: true, variadic: false, values: { kind: 'node', list: 'policies' } }]);
  });
});

for (const [shell, script] of SCRIPTS) {
  describe(`rdv completion ${shell}`, () => {
    const text = script(spec);

    test('names every subcommand and every option, global or not, rdv policy add\'s too', () => {
      for (const c of everyCommand) {
        assert.ok(text.includes(c.name()), `no ${c.name()}`);
        for (const o of c.options) {
          const flag = shell === 'fish' ? `-l ${o.long?.replace(/^--/, '')}` : o.long;
          if (flag) assert.ok(text.includes(flag), `${c.name()}: no ${flag}`);
        }
      }
      for (const o of program.options) {
        const flag = shell === 'fish' ? `-l ${o.long?.replace(/^--/, '')}` : o.long;
        if (flag) assert.ok(text.includes(flag), `global: no ${flag}`);
      }
    });

    test('a subcommand added to the program (like a colleague\'s rdv tidy <hash...>) completes with no other change', () => {
      const grown = buildProgram(async () => undefined);
      grown.command('tidy').description('forget finished records').argument('<hash...>', 'payment hashes').option('--older-than <duration>', 'age');
      const out = script(completionSpec(grown));
      assert.ok(out.includes('tidy'), 'no tidy');
      assert.ok(out.includes(shell === 'fish' ? '-l older-than' : '--older-than'), 'no --older-than');
      // its variadic hash argument asks the node for hashes
      const tidyHashes = { bash: /'tidy'\)\n {6}\(\( \$2 >= 1 \)\) && \{ echo 'node:hashes'/, zsh: /'\*:hash:_rdv_node hashes'/, fish: /__rdv_at_arg tidy 1 more' -x -a '\(__rdv_node hashes\)'/ }[shell];
      assert.match(out, tidyHashes ?? /never/);
    });

    test('a command with subcommands added to the program (like rdv policy) completes them and their options with no other change', () => {
      const grown = buildProgram(async () => undefined);
      const label = grown.command('label').description('labels for records');
      label.command('set').description('set a label').argument('<hash>', 'payment hash').option('--colour <name>', 'colour');
      label.command('clear').description('clear a label');
      const out = script(completionSpec(grown));
      const expected = {
        bash: [/'label'\)\n {6}\(\( \$2 == 1 \)\) && \{ echo 'words:set clear'/, /'label set --colour'\) echo 'text'/, /'label set'\)\n {6}\(\( \$2 == 1 \)\) && \{ echo 'node:hashes'/],
        zsh: [/^ {4}'set:set a label'$/m, /'1:label command:_rdv_label_commands'/, /'--colour=\[colour\]:colour: '/, /'1:hash:_rdv_node hashes'/],
        fish: [/-n '__rdv_using label' -a 'set' -d 'set a label'/, /-n '__rdv_using \\'label set\\'' -l colour -x/, /'label set --colour'/, /__rdv_at_arg \\'label set\\' 1' -x -a '\(__rdv_node hashes\)'/],
      }[shell] ?? [];
      for (const re of expected) assert.match(out, re);
    });

    test('leaves out the hidden __complete', () => {
      assert.ok(!new RegExp(`(complete -c rdv .*-a '__complete'|'__complete[:)])`).test(text));
    });
  });
}

const hash = (digit: string): PaymentHash => digit.repeat(64) as PaymentHash;
const entry = (kind: 'relay' | 'inbox', name: string, string: string | undefined): { key: string[]; string: string | undefined } => ({ key: ['rdv', 'v1', kind, name], string });

describe('what rdv __complete prints', () => {
  test('policies: id, then whose pass-backs and the payout, in the book\'s order; an unreadable book offers nothing', () => {
    const carol = `02${'c3'.repeat(32)}` as NodeId;
    const dave = `03${'d4'.repeat(32)}` as NodeId;
    const book = serializeBook({
      version: 1,
      lastPolicies: [{ kind: 'last', id: '7a57c0de', for: dave, description: 'order', invoiceExpirySeconds: 3_600, maxUnpaid: 100, maxPerMinute: 30, note: 'shop', createdAt: 1_700_000_003 }],
      policies: [
        { id: '5e1f0c2a', from: carol, payout: { kind: 'percent', ppm: 20_000n }, feeBudget: { kind: 'percent', ppm: 5_000n }, delayBudget: 80, note: 'Carol,\nshop', createdAt: 1_700_000_001 },
        { id: '0d4e9b17', from: dave, payout: { kind: 'fixed', msat: msat(5_000_000n) }, feeBudget: { kind: 'fixed', msat: msat(0n) }, delayBudget: 60, createdAt: 1_700_000_002 },
      ],
    });
    assert.deepEqual(policyLines([{ key: ['rdv', 'v1', 'policies'], string: book }]), ['5e1f0c2a\tfrom 02c3c3c3…, payout 2%, Carol, shop', '0d4e9b17\tfrom 03d4d4d4…, payout 5,000 sat', '7a57c0de\tlast payee for 03d4d4d4…, shop']);
    assert.deepEqual(policyLines([{ key: ['rdv', 'v1', 'policies'], string: '{"version":9}' }]), []);
    assert.deepEqual(policyLines([]), []);
  });

  test('records: newest first, described by role, state and amount; an unreadable one still listed', () => {
    const lines = recordLines([
      entry('relay', hash('1'), serializeRecord(makeRecord({ paymentHash: hash('1'), createdAt: 1_700_000_001, state: 'settled', amountMsat: msat(106_000_000n) }))),
      entry('relay', hash('2'), serializeRecord(makeRecord({ paymentHash: hash('2'), createdAt: 1_700_000_003, state: 'open', amountMsat: msat(56_000_000n) }))),
      entry('relay', hash('3'), '{"version":7}'),
      entry('relay', 'not-a-hash', '{}'),
    ]);
    assert.deepEqual(lines, [`${hash('2')}\trelay, open, 56,000 sat`, `${hash('1')}\trelay, settled, 106,000 sat`, `${hash('3')}\tunreadable record`]);
  });

  test('inbox: one line per hash with its senders, oldest first', () => {
    const carol = `02${'c3'.repeat(32)}` as NodeId;
    const mallory = `03${'d4'.repeat(32)}` as NodeId;
    const inbox = (h: PaymentHash, from: NodeId, receivedAt: number): string => serializeInbox({ version: 1, paymentHash: h, bolt11: 'lnbcrt1', from, receivedAt } satisfies InboxEntry);
    const lines = inboxLines([
      entry('inbox', `${hash('5')}-${carol}`, inbox(hash('5'), carol, 1_700_000_009)),
      entry('inbox', `${hash('4')}-${carol}`, inbox(hash('4'), carol, 1_700_000_002)),
      entry('inbox', `${hash('4')}-${mallory}`, inbox(hash('4'), mallory, 1_700_000_007)),
    ]);
    assert.deepEqual(lines, [`${hash('4')}\tfrom 02c3c3c3…, 03d4d4d4…`, `${hash('5')}\tfrom 02c3c3c3…`]);
  });
});
