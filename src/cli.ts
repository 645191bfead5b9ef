/**
 * The commander program: global options, subcommands (each loaded only when
 * run), and the one place that turns errors into a message and an exit code.
 */
import { createRequire } from 'node:module';
import type * as CommanderModule from 'commander';
import { RdvError } from './errors.js';
import { RDV_VERSION } from './version.js';
import type { GlobalOptions } from './commands/context.js';

// commander is CommonJS: require() loads it in about half the time of an ESM
// import (no CJS-to-ESM translation), and `rdv --help` must start fast.
const { Argument, Command, CommanderError, Option } = createRequire(import.meta.url)('commander') as typeof CommanderModule;
type Command = CommanderModule.Command;

const EXAMPLES = `
Examples:
  Carol (last payee):     rdv join --last --amount 100000sat --description "order 42"
                          rdv pass-back 5d23c7e6 --to 035f62c3...@127.0.0.1:9735
  Bob (relay):            rdv inbox --wait
                          rdv join --from-inbox 5d23c7e6 --payout 5000sat --fee-budget 1000sat --delay-budget 60
  Watch relays:           rdv watch
  Everything you hold:    rdv status
  Tidy up old records:    rdv prune --older-than 90d
  Hands-free relay:       rdv policy add --from 02c3d4e5... --payout 2% --fee-budget 0.5% --delay-budget 80 --pass-to 03a1b2c3...
  Invoice on demand:      rdv request --amount 102000sat --via 5e1f0c2a      (the last payee: rdv policy add --last --for ...)
  Wallets pay by address: rdv serve --address shop=5e1f0c2a --public-url https://shop.example
  Is the node fit:        rdv doctor
  See a whole chain run:  rdv demo

Exit codes: 0 ok, 1 operation failed, 2 bad usage or input, 3 node unreachable.
Node discovery follows lightning-cli: --lightning-dir (default ~/.lightning),
--network (default bitcoin, or the config file's), --rpc-file.`;

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function buildProgram(run: (name: string, args: unknown[]) => Promise<void>): Command {
  const program = new Command('rdv')
    .description("Poor man's rendez-vous for Core Lightning: several payees, one payment")
    .version(RDV_VERSION, '-V, --version')
    .option('--lightning-dir <dir>', 'lightningd base directory (like lightning-cli)')
    .option('--network <name>', 'bitcoin, testnet, testnet4, signet or regtest')
    .option('--rpc-file <path>', 'lightningd RPC socket (relative to <lightning-dir>/<network>)')
    .option('--conf <file>', 'read this lightningd config file for network and rpc-file')
    .option('--json', 'machine-readable output: no colour, no spinner, no prompt')
    .option('-y, --yes', 'do not ask: take the given values, fail if one is missing')
    .option('-q, --quiet', 'print only the essential result')
    .option('--no-color', 'no colours (also: NO_COLOR=1)')
    .option('--debug', 'show stack traces for unexpected errors')
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  program
    .command('join')
    .description('make your invoice in the chain: the last payee\'s, or a relay invoice over the next payee\'s')
    .option('--last', 'you are the last payee: make a normal invoice on your node')
    .option('--amount <amount>', 'with --last: amount to receive (e.g. 100000sat, 0.001btc); with --offer/--address: the downstream amount to ask for')
    .option('--description <text>', 'invoice description (relays default to the downstream one)')
    .option('--expiry <duration>', 'invoice lifetime, e.g. 3600, 30m, 1d (relays: capped by the downstream invoice)')
    .option('--invoice <bolt11>', 'the next payee\'s invoice, to relay to')
    .option('--from-inbox <hash>', 'take the next payee\'s invoice from the inbox (hash or prefix)')
    .option('--from <node_id>', 'with --from-inbox: the sender to take, when several nodes passed back an invoice for the hash')
    .option('--offer <offer>', 'the next payee runs no rdv: fetch its invoice for --amount from its BOLT 12 offer')
    .option('--address <name@domain>', 'the next payee runs no rdv: pull its invoice for --amount from its Lightning Address')
    .option('--payout <amount>', 'what you keep (e.g. 5000sat)')
    .option('--fee-budget <amount>', 'routing fees you allow for paying the next payee; unused fee is yours')
    .option('--delay-budget <blocks>', 'CLTV blocks you add for your hop (must exceed --safety-margin)')
    .option('--safety-margin <blocks>', 'blocks between your outgoing and incoming HTLC expiries', '34')
    .option('--cltv-warn <blocks>', 'warn when min_final_cltv passes this', '432')
    .option('--no-qr', 'do not show a QR code')
    .addHelpText(
      'after',
      `
Examples:
  rdv join --last --amount 100000sat --description "order 42"
  rdv join --invoice lnbcrt1m1p... --payout 5000sat --fee-budget 1000sat --delay-budget 60
  rdv join --from-inbox 5d23c7e6            (asks for payout and budgets on a terminal)
  rdv join --offer lno1qgsq... --amount 100000sat --payout 2000sat --fee-budget 500sat --delay-budget 60
  rdv join --address carol@shop.example --amount 100000sat --payout 2000sat --fee-budget 500sat --delay-budget 60`,
    )
    .action((opts: unknown) => run('join', [opts]));

  program
    .command('pass-back')
    .description('hand your invoice to the previous payee: over a peer message, or printed')
    .argument('<hash>', 'payment hash of your invoice (a unique prefix is enough)')
    .option('--to <node>', 'previous payee: node_id[@host[:port]]; connects first if an address is given')
    .option('--note <text>', 'a short note shown in their inbox')
    .option('--print', 'print the invoice')
    .option('--qr', 'show the invoice as a QR code')
    .option('--out <file>', 'write the invoice to a file')
    .option('--timeout <seconds>', 'how long to wait for their node to confirm', '10')
    .addHelpText(
      'after',
      `
Examples:
  rdv pass-back 5d23c7e6 --to 035f62c3...@127.0.0.1:9735
  rdv pass-back 5d23c7e6 --print`,
    )
    .action((hash: string, opts: unknown) => run('pass-back', [hash, opts]));

  program
    .command('inbox')
    .description('invoices other payees passed back to you')
    .option('--wait', 'wait until a new one arrives')
    .option('--timeout <duration>', 'with --wait: give up after this long (e.g. 30, 5m)')
    .addHelpText('after', '\nExamples:\n  rdv inbox\n  rdv inbox --wait --json')
    .action((opts: unknown) => run('inbox', [opts]));

  program
    .command('trust')
    .description('nodes besides your channel peers that may pass invoices back to you')
    .argument('<action>', 'add, remove or list')
    .argument('[node_id]', 'the node (for add and remove)')
    .option('--note <text>', 'with add: why you trust it')
    .addHelpText('after', '\nExamples:\n  rdv trust add 035f62c3095b02db6d4ad65f3fdcd591d92a2aaa3cf1dccb1f37abdb72ba76bf61 --note "Carol, shop"\n  rdv trust list')
    .action((action: string, nodeId: string | undefined, opts: unknown) => run('trust', [action, nodeId, opts]));

  // rdv policy add|list|remove: subcommands of their own, each dispatched to commands/policy.ts.
  const policy = program
    .command('policy')
    .description('let the rdv plugin join pass-backs from a node, and answer invoice requests, by itself, with set payout and budgets')
    .addHelpText(
      'after',
      `
Examples:
  rdv policy add --from 02c3d4e5... --payout 2% --fee-budget 0.5% --delay-budget 80 --pass-to 03a1b2c3...@203.0.113.7:9735
  rdv policy list
  rdv policy remove 5e1f0c2a`,
    );
  policy
    .command('add')
    .description('join every invoice a node passes back (and answer its requests) with these values, by itself; or, with --last, answer a node\'s invoice requests as the last payee')
    .option('--from <node>', 'the next payee: the node whose pass-backs this policy joins')
    .option('--address <name@domain>', 'instead of --from: the next payee\'s Lightning Address; on a request its invoice is pulled over LNURL-pay')
    .option('--offer <offer>', 'instead of --from: the next payee\'s BOLT 12 offer; on a request its invoice is fetched with fetchinvoice')
    .option('--payout <amount>', 'what you keep: an amount (5000sat) or a share of the downstream amount (2%)')
    .option('--fee-budget <amount>', 'routing fees allowed for paying the next payee: an amount or a share (0.5%); may be 0')
    .option('--delay-budget <blocks>', 'CLTV blocks you add for your hop (must exceed the safety margin 34 plus 3)')
    .option('--pass-to <node>', 'pass our invoice on to this node: node_id[@host[:port]] (without it: rdv pass-back by hand)')
    .option('--max-amount <amount>', 'join only downstream amounts up to this (with --last: answer only requests up to this)')
    .option('--min-amount <amount>', 'join only downstream amounts from this (with --last: answer only requests from this)')
    .option('--expires <duration>', 'stop joining after this long, e.g. 30d')
    .option('--note <text>', 'a short note shown by rdv policy list')
    .option('--max-open <n>', 'relays it joined that may be open (unpaid) at once; more are refused (default 100)')
    .option('--max-per-minute <n>', 'joins (and requests answered) it may begin in any minute; more are refused (default 30)')
    .option('--max-invoice-life <duration>', 'our invoice expires within this, whatever the downstream one says (default 1h)')
    .option('--max-description <bytes>', 'longest description (UTF-8 bytes) of a passed-back invoice it joins: our node signs it too (default 200)')
    .option('--last', 'a last-payee policy: answer --for\'s invoice requests with a normal invoice of this node for the amount asked')
    .option('--for <node>', 'with --last: the payee before you, whose requests it answers')
    .option('--description <text>', 'with --last: the description of the invoices it makes')
    .option('--expiry <duration>', 'with --last: the life of the invoices it makes (default 1h)')
    .option('--max-unpaid <n>', 'with --last: invoices it made that may be unpaid at once; more requests are refused (default 100)')
    .addHelpText('after', '\nExamples:\n  rdv policy add --from 02c3d4e5... --payout 2% --fee-budget 0.5% --delay-budget 80 --pass-to 03a1b2c3...\n  rdv policy add --from 02c3d4e5... --payout 5000sat --fee-budget 1000sat --delay-budget 60 --max-amount 1000000sat --expires 30d\n  rdv policy add --from 02c3d4e5... --payout 1% --fee-budget 0.5% --delay-budget 80 --max-open 500 --max-per-minute 120 --max-invoice-life 15m\n  rdv policy add --address carol@shop.example --payout 1% --fee-budget 0.5% --delay-budget 80 --pass-to 03a1b2c3...\n  rdv policy add --offer lno1qgsq... --payout 2% --fee-budget 0.5% --delay-budget 80\n  rdv policy add --last --for 02b0b0b0... --max-amount 1000000sat --description "order" --expiry 1h --max-unpaid 50')
    .action((opts: unknown) => run('policy', [{ action: 'add', options: opts }]));
  policy
    .command('list')
    .description('the policies on this node')
    .addHelpText('after', '\nExamples:\n  rdv policy list\n  rdv policy list --json')
    .action(() => run('policy', [{ action: 'list' }]));
  policy
    .command('remove')
    .description('remove a policy: pass-backs from its node wait in the inbox again')
    .argument('<policy_id>', 'the policy\'s id (see rdv policy list)')
    .addHelpText('after', '\nExamples:\n  rdv policy remove 5e1f0c2a')
    .action((id: string) => run('policy', [{ action: 'remove', id }]));

  program
    .command('request')
    .description('on the first payee: ask the chain for an invoice of an amount, through a relay policy, and print it')
    .option('--amount <amount>', 'what the payer pays: your invoice is exactly this (e.g. 102000sat)')
    .option('--via <policy_id>', 'the relay policy that asks the next payee: its id, or its --from node id')
    .option('--description <text>', 'your invoice\'s description')
    .option('--timeout <seconds>', 'how long the chain may take to answer (5 to 60)', '30')
    .option('--no-qr', 'do not show a QR code')
    .addHelpText(
      'after',
      `
Examples:
  rdv request --amount 102000sat --via 5e1f0c2a --description "order 42"
  rdv request --amount 108690sat --via 02b0b0b0... --json
  lightning-cli rdv-request 108690000 5e1f0c2a "order 42"     (the same, from any program)`,
    )
    .action((opts: unknown) => run('request', [opts]));

  program
    .command('status')
    .description('every rdv record on this node, or one, with what the node says about it')
    .argument('[hash]', 'payment hash (or prefix)')
    .option('--state <state>', 'only records in this state: open, gathered, paying, settled, failed, expired (repeatable)', collect)
    .option('--since <when>', 'only records made since a duration ago (7d, 12h) or a date (2026-11-01)')
    .option('--limit <n>', 'list at most n records (the totals line still counts them all)')
    .option('--archived', 'also list pruned records (their archive entries)')
    .addHelpText('after', '\nExamples:\n  rdv status\n  rdv status --state gathered --state paying\n  rdv status --state settled --since 30d --limit 20\n  rdv status 5d23c7e6 --json')
    .action((hash: string | undefined, opts: unknown) => run('status', [hash, opts]));

  program
    .command('prune')
    .description('archive and remove finished records that ended more than a given time ago')
    .option('--older-than <duration>', 'only records that ended longer ago than this, e.g. 30d, 12h, 3600 (seconds)')
    .option('--dry-run', 'show what would be removed; write nothing')
    .addHelpText('after', '\nExamples:\n  rdv prune --older-than 30d --dry-run\n  rdv prune --older-than 90d --json')
    .action((opts: unknown) => run('prune', [opts]));

  program
    .command('forget')
    .description('archive and remove one finished record now (asks first on a terminal)')
    .argument('<hash>', 'payment hash (or a unique prefix)')
    .addHelpText('after', '\nExamples:\n  rdv forget 5d23c7e6\n  rdv forget 5d23c7e6 --yes')
    .action((hash: string, opts: unknown) => run('forget', [hash, opts]));

  program
    .command('watch')
    .description('is the relay plugin loaded (and important)? then a full-screen live view of relays until q or Ctrl-C')
    .option('--start', 'start the plugin if it is not loaded, without asking')
    .option('--once', 'print the view once and exit (one screenful on a terminal, else every relay)')
    .option('--interval <ms>', 'refresh interval', '1000')
    .addHelpText('after', '\nExamples:\n  rdv watch\n  rdv watch --json     (one JSON event per line)')
    .action((opts: unknown) => run('watch', [opts]));

  program
    .command('doctor')
    .description('is this node fit to run rdv? one line per check: ok, warn or fail, with what to do')
    .option('--cltv-warn <blocks>', 'warn when an open invoice\'s min_final_cltv passes this', '432')
    .addHelpText('after', '\nExamples:\n  rdv doctor\n  rdv doctor --json | jq \'.checks[] | select(.status != "ok")\'')
    .action((opts: unknown) => run('doctor', [opts]));

  program
    .command('demo')
    .description('run a whole rendez-vous: payer -> payees, on a simulated network or real regtest')
    .option('--payees <n>', 'number of payees (1 to 8)', '3')
    .addOption(new Option('--sim', 'use the simulated network (the default)').conflicts('regtest'))
    .option('--regtest', 'use real lightningd and bitcoind on regtest (RDV_LIGHTNINGD, RDV_BITCOIND or PATH)')
    .option('--keep', 'with --regtest: leave the nodes running and print how to reach them')
    .option('--policy', 'hands-free: each relay sets an rdv policy, and only the last payee types anything')
    .option('--serve', 'on demand: every payee sets a policy, the first runs rdv serve, and a wallet pays its Lightning Address')
    .addHelpText('after', '\nExamples:\n  rdv demo\n  rdv demo --payees 4 --json\n  rdv demo --policy\n  rdv demo --serve\n  rdv demo --regtest --serve')
    .action((opts: unknown) => run('demo', [opts]));

  program
    .command('serve')
    .description('an HTTP server for wallets: Lightning Addresses (LNURL-pay) whose invoices the chain makes on demand, LUD-21 verify, an lnproxy-shaped wrap')
    .option('--address <name=via>', 'a Lightning Address <name>@<public host>, asking the chain through a policy (its id or its --from node id); repeatable', collect)
    .option('--public-url <url>', 'the https URL wallets reach (your TLS reverse proxy), e.g. https://shop.example')
    .option('--listen <host:port>', 'where to listen (plain HTTP, behind the proxy)', '127.0.0.1:8080')
    .option('--description <text>', 'what wallets show for the payment (default "Payment to <name>@<host>")')
    .option('--wrap <policy_id>', 'also wrap invoices like lnproxy (POST /spec, GET /api/<invoice>), joined by this policy (off unless given)')
    .option('--trust-proxy', 'take the client address from X-Forwarded-For (only behind your own reverse proxy)')
    .option('--min-sendable <amount>', 'offer invoices from this amount (and the policy\'s minimum)', '1sat')
    .option('--max-sendable <amount>', 'offer invoices up to this amount (and the policy\'s maximum)', '1000000sat')
    .option('--rate <n>', 'requests one client address may make a minute', '30')
    .option('--max-chains <n>', 'chains asked for at once; more requests are turned away', '8')
    .option('--answer-within <duration>', 'answer a callback within this, with an LNURL error if the chain has not answered', '10s')
    .option('--max-connections <n>', 'open connections at once', '256')
    .option('--verify-keep <duration>', 'keep a LUD-21 verify URL answering this long after its invoice expired', '7d')
    .addHelpText(
      'after',
      `
Examples:
  rdv serve --address shop=5e1f0c2a --public-url https://shop.example
  rdv serve --address shop=5e1f0c2a --address tips=02c3d4e5... --public-url https://shop.example --listen 127.0.0.1:8080 --trust-proxy
  rdv serve --wrap 5e1f0c2a --public-url https://proxy.example`,
    )
    .action((opts: unknown) => run('serve', [opts]));

  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish (commands, options, payment hashes)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      `
Examples:
  rdv completion bash > ~/.local/share/bash-completion/completions/rdv
  rdv completion zsh > ~/.zfunc/_rdv        (with fpath=(~/.zfunc $fpath) before compinit)
  rdv completion fish > ~/.config/fish/completions/rdv.fish`,
    )
    .action((shell: string) => run('completion', [shell, program]));

  // What the completion scripts ask the node for on Tab (see src/commands/complete.ts).
  program
    .command('__complete', { hidden: true })
    .argument('<list>')
    .action((list: string) => run('__complete', [list]));

  return program;
}

const COMMANDS: Record<string, () => Promise<{ run: (globals: GlobalOptions, ...args: never[]) => Promise<void> }>> = {
  join: () => import('./commands/join.js'),
  'pass-back': () => import('./commands/pass-back.js'),
  inbox: () => import('./commands/inbox.js'),
  trust: () => import('./commands/trust.js'),
  policy: () => import('./commands/policy.js'),
  request: () => import('./commands/request.js'),
  status: () => import('./commands/status.js'),
  watch: () => import('./commands/watch.js'),
  prune: () => import('./commands/prune.js'),
  forget: () => import('./commands/forget.js'),
  doctor: () => import('./commands/doctor.js'),
  demo: () => import('./commands/demo.js'),
  serve: () => import('./commands/serve.js'),
  completion: () => import('./commands/completion.js'),
  __complete: () => import('./commands/complete.js'),
};

/** Run the CLI; resolves with the exit code. Prints errors as one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  // `rdv status | head`: a closed pipe ends the output quietly, as in other CLIs.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  let globals: GlobalOptions | undefined;
  const program = buildProgram(async (name, args) => {
    globals = readGlobals(program.opts());
    const load = COMMANDS[name];
    if (!load) throw new RdvError('usage', `unknown command ${name}`);
    const mod = await load();
    await mod.run(globals, ...(args as never[]));
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return report(e, globals?.debug ?? argv.includes('--debug'));
  }
}

function readGlobals(o: Record<string, unknown>): GlobalOptions {
  const json = o.json === true;
  return {
    lightningDir: typeof o.lightningDir === 'string' ? o.lightningDir : undefined,
    network: typeof o.network === 'string' ? o.network : undefined,
    rpcFile: typeof o.rpcFile === 'string' ? o.rpcFile : undefined,
    conf: typeof o.conf === 'string' ? o.conf : undefined,
    json,
    yes: o.yes === true,
    quiet: o.quiet === true,
    // no-color.org: NO_COLOR set to a non-empty value.
    color: o.color !== false && !json && !process.env.NO_COLOR,
    debug: o.debug === true,
  };
}

function report(e: unknown, debug: boolean): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    // `rdv policy` without add, list or remove: commander shows its help on stderr, as an error.
    if (e.code === 'commander.help') return e.exitCode === 0 ? 0 : 2;
    process.stderr.write(`rdv: ${e.message.replace(/^error: /, '').trim()} (see rdv --help)\n`);
    return 2;
  }
  if (e instanceof RdvError) {
    process.stderr.write(`rdv: ${e.message}\n`);
    if (debug && e.cause) process.stderr.write(`${String((e.cause as Error).stack ?? e.cause)}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`rdv: unexpected error: ${err?.message ?? String(e)}${debug ? `\n${err?.stack ?? ''}` : ' (run with --debug for details)'}\n`);
  return 1;
}
