/**
 * `rdv serve`: the HTTP server of src/serve/, run until SIGINT or SIGTERM.
 * Reads and checks the options, connects to lightningd like the CLI (a
 * connection that comes back when lightningd restarts), checks that every
 * address's policy and the wrap policy exist, prunes expired verify tokens (at
 * start, then hourly), listens, and says where.
 */
import { randomBytes } from 'node:crypto';
import { formatAmount, type Msat } from '../chain/amount.js';
import type { Policy } from '../chain/policy/policy.js';
import { inputError, RdvError, usageError } from '../errors.js';
import { discoverSocket } from '../rpc/discover.js';
import { LightningNode } from '../rpc/node.js';
import { sendableBounds } from '../serve/amounts.js';
import { loadPolicy, pruneTokens } from '../serve/backend.js';
import { isLoopback, parseServeInput, type ServeInput } from '../serve/config.js';
import { addressHost } from '../serve/lnurl.js';
import { startServer } from '../serve/server.js';
import { makeOutput, type GlobalOptions } from './context.js';

export type ServeOptions = ServeInput;

const PRUNE_EVERY_MS = 3_600_000;

export async function run(g: GlobalOptions, opts: ServeOptions): Promise<void> {
  const out = makeOutput(g);
  const parsed = parseServeInput(opts);
  if (!parsed.ok) throw usageError(parsed.error);
  const config = parsed.value;
  const location = discoverSocket({ lightningDir: g.lightningDir, network: g.network, rpcFile: g.rpcFile, conf: g.conf });
  const node = await LightningNode.connect(location.socketPath, 'rdv-serve', { reconnect: true });
  const log = (level: 'info' | 'warn', message: string): void => {
    process.stderr.write(`${new Date().toISOString()} rdv serve ${level === 'warn' ? 'WARN ' : ''}${message}\n`);
  };
  try {
    const info = await node.checkedInfo();
    const now = Math.floor(Date.now() / 1000);
    const offered: Array<{ name: string; via: string; policy: string; min_sendable_msat: Msat; max_sendable_msat: Msat }> = [];
    const policyFor = async (via: string, flag: string): Promise<Policy> => {
      const policy = await loadPolicy(node, via, now);
      if (policy.ok) return policy.value;
      if (policy.error.kind === 'unreachable') throw new RdvError('unreachable', policy.error.reason);
      throw inputError(policy.error.kind === 'none' ? `${flag}: ${policy.error.reason}; add one with rdv policy add` : policy.error.reason);
    };
    for (const a of config.addresses) {
      const policy = await policyFor(a.via, `--address ${a.name}=${a.via}`);
      const bounds = sendableBounds(policy, { minMsat: config.minSendableMsat, maxMsat: config.maxSendableMsat });
      if (!bounds.ok) throw inputError(`--address ${a.name}: ${bounds.error}`);
      offered.push({ name: a.name, via: a.via, policy: policy.id, min_sendable_msat: bounds.value.minMsat, max_sendable_msat: bounds.value.maxMsat });
    }
    if (config.wrapPolicy !== undefined) await policyFor(config.wrapPolicy, `--wrap ${config.wrapPolicy}`);
    for (const [method, what] of [['rdv-request', config.addresses.length > 0 ? 'every invoice request' : undefined], ['rdv-wrap', config.wrapPolicy !== undefined ? 'every wrap' : undefined]] as const) {
      if (what !== undefined && !(await node.hasCommand(method))) out.warn(`lightningd has no ${method} method (the rdv plugin is not loaded, or is older): ${what} will fail until it is`);
    }
    if (!isLoopback(config.listen.host)) out.warn(`listening on ${config.listen.host}, not loopback: rdv serve speaks plain HTTP; put a TLS reverse proxy in front and listen on 127.0.0.1`);

    const pruned = await pruneTokens(node, now).catch(() => undefined);
    if (pruned && pruned.removed > 0) log('info', `removed ${pruned.removed} expired verify tokens`);
    const running = await startServer({ node, info, config, nowMs: () => Date.now(), random: randomBytes, log }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL' ? inputError(`cannot listen on ${config.listen.host}:${config.listen.port}: ${e.message}`) : e;
    });
    const timer = setInterval(() => {
      pruneTokens(node, Math.floor(Date.now() / 1000)).then(
        (p) => p.removed > 0 && log('info', `removed ${p.removed} expired verify tokens`),
        (e: unknown) => log('warn', `could not prune verify tokens: ${(e as Error).message}`),
      );
    }, PRUNE_EVERY_MS);

    const host = addressHost(running.publicUrl);
    if (g.json) {
      out.json({ listening: running.url, public_url: running.publicUrl.href.replace(/\/$/, ''), node_id: info.id, addresses: offered.map((o) => ({ ...o, address: `${o.name}@${host}` })), wrap: config.wrapPolicy ?? null });
    } else {
      out.info(`rdv serve listening on ${running.url}, reached as ${running.publicUrl.href.replace(/\/$/, '')}`);
      for (const o of offered) out.info(`  ${o.name}@${host}  via policy ${o.policy}, ${formatAmount(o.min_sendable_msat)} to ${formatAmount(o.max_sendable_msat)}`);
      if (config.wrapPolicy !== undefined) out.info(`  wrap (lnproxy API: POST /spec, GET /api/<invoice>) by policy ${config.wrapPolicy}`);
      out.info('Stop with Ctrl-C.');
    }
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    clearInterval(timer);
    await running.close();
    log('info', 'stopped');
  } finally {
    node.close();
  }
}
