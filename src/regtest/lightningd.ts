/**
 * One regtest lightningd: its own lightning-dir and log, listening on a free
 * 127.0.0.1 port, optionally loading rdv, spoken to through rdv's own RPC client.
 * Restarts reuse the exact same arguments.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NodeId } from '../chain/ids.js';
import { LightningNode } from '../rpc/node.js';
import type { Bitcoind } from './bitcoind.js';
import { childProcesses, isAlive, killHard, poll, PollAbort, startProcess, waitExit, type ProcessInfo, type Spawned } from './process.js';

/** How rdv is loaded: important-plugin= (the safe way), plugin=, or not at all. */
export type RdvLoad = 'important' | 'plain' | 'none';

export interface NodeOptions {
  name: string;
  /** Default 'important'. */
  rdv?: RdvLoad;
  /** More lightningd options, e.g. `--plugin=/abs/hold.js` or `--rdv-mpp-timeout=5`. */
  extraArgs?: string[];
}

export interface NodeSetup {
  lightningd: string;
  bitcoinCli: string;
  bitcoind: Bitcoind;
  /** Absolute path of bin/rdv. */
  rdvPath: string;
  dir: string;
  port: number;
  /** Leave it running when this process exits (startProcess). */
  outlive?: boolean;
}

export class RegtestNode {
  readonly name: string;
  /** The lightning-dir (what `--lightning-dir` takes); the socket is in <dir>/regtest. */
  readonly dir: string;
  readonly port: number;
  readonly rdv: RdvLoad;
  readonly logFile: string;
  args: readonly string[];
  private proc: Spawned | undefined;
  private client: LightningNode | undefined;
  private nodeId: NodeId | undefined;

  constructor(
    private readonly setup: NodeSetup,
    options: NodeOptions,
  ) {
    this.name = options.name;
    this.dir = setup.dir;
    this.port = setup.port;
    this.rdv = options.rdv ?? 'important';
    this.logFile = join(setup.dir, 'log');
    const btc = setup.bitcoind;
    // rdv-guard goes with rdv, loaded the same way (it must follow rdv in the htlc_accepted chain).
    const guardPath = join(dirname(setup.rdvPath), 'rdv-guard');
    const plugin =
      this.rdv === 'important'
        ? [`--important-plugin=${setup.rdvPath}`, `--important-plugin=${guardPath}`]
        : this.rdv === 'plain'
          ? [`--plugin=${setup.rdvPath}`, `--plugin=${guardPath}`]
          : [];
    this.args = [
      // --developer must come before every --dev-* option.
      '--developer',
      '--network=regtest',
      `--lightning-dir=${setup.dir}`,
      `--addr=127.0.0.1:${setup.port}`,
      `--alias=${options.name}`,
      `--log-file=${this.logFile}`,
      '--log-level=debug',
      `--bitcoin-cli=${setup.bitcoinCli}`,
      '--bitcoin-rpcconnect=127.0.0.1',
      `--bitcoin-rpcport=${btc.rpcPort}`,
      `--bitcoin-rpcuser=${btc.rpcUser}`,
      `--bitcoin-rpcpassword=${btc.rpcPassword}`,
      // So bcli never reads ~/.bitcoin/bitcoin.conf.
      `--bitcoin-datadir=${setup.dir}`,
      '--dev-bitcoind-poll=1',
      '--dev-fast-gossip',
      '--dev-fast-reconnect',
      '--dev-allow-localhost',
      '--disable-dns',
      ...plugin,
      ...(options.extraArgs ?? []),
    ];
  }

  get socketPath(): string {
    return join(this.dir, 'regtest', 'lightning-rpc');
  }

  get id(): NodeId {
    if (this.nodeId === undefined) throw new Error(`${this.name} has not started yet`);
    return this.nodeId;
  }

  /** `<id>@127.0.0.1:<port>`, as `connect` and `rdv pass-back --to` take it. */
  get address(): string {
    return `${this.id}@127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc && !this.proc.hasExited() ? this.proc.pid : undefined;
  }

  /** Let go of the node without stopping it (rdv demo --keep): our RPC connection is closed, lightningd runs on. */
  detach(): void {
    this.client?.close();
    this.client = undefined;
  }

  /** The RPC connection (rdv's own client). Throws while the node is down. */
  get rpc(): LightningNode {
    if (!this.client) throw new Error(`${this.name} is not running`);
    return this.client;
  }

  isRunning(): boolean {
    return this.proc !== undefined && !this.proc.hasExited();
  }

  /** Running and spoken to: start() has finished and nothing has stopped it since. */
  get up(): boolean {
    return this.client !== undefined && this.isRunning();
  }

  /** Start lightningd and wait until its RPC answers and it has caught up with bitcoind. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.isRunning()) return;
    mkdirSync(this.dir, { recursive: true });
    const proc = startProcess(this.setup.lightningd, [...this.args], join(this.dir, 'stdout.log'), { outlive: this.setup.outlive ?? false });
    this.proc = proc;
    this.client = await poll(
      `${this.name}'s RPC socket`,
      async () => {
        if (proc.hasExited()) throw new PollAbort(`${this.name}'s lightningd exited at start: ${this.startupOutput()}`);
        if (!existsSync(this.socketPath)) return undefined;
        try {
          return await LightningNode.connect(this.socketPath, `regtest-${this.name}`);
        } catch {
          return undefined;
        }
      },
      timeoutMs,
      50,
    ).catch(async (e: unknown) => {
      await killHard(proc);
      throw e;
    });
    const info = await this.client.getinfo();
    this.nodeId = info.id;
    await this.waitSynced(await this.setup.bitcoind.blockCount(), timeoutMs);
  }

  /**
   * Listen on another port: the one chosen was free when asked, and taken by
   * another suite's node before this lightningd could bind it.
   */
  usePort(port: number): void {
    this.args = this.args.map((a) => (a.startsWith('--addr=') ? `--addr=127.0.0.1:${port}` : a));
  }

  /** Wait until lightningd has processed block `height`; a lightningd that exits meanwhile ends the wait with why. */
  async waitSynced(height: number, timeoutMs = 30_000): Promise<void> {
    await poll(
      `${this.name} at block ${height}`,
      async () => {
        if (this.proc?.hasExited()) throw new PollAbort(`${this.name}'s lightningd exited: ${this.startupOutput()}`);
        return (await this.rpc.getinfo()).blockheight >= height ? true : undefined;
      },
      timeoutMs,
      50,
    );
  }

  /** RPC `stop`, wait for the process to go, SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    const proc = this.proc;
    const client = this.client;
    this.client = undefined;
    if (!proc || proc.hasExited()) {
      client?.close();
      return;
    }
    if (client) {
      // The reply may never come: lightningd closes the socket as it goes.
      await client.rpc.call('stop', {}, { timeoutMs: 5_000 }).catch(() => undefined);
      client.close();
    } else {
      // No RPC connection (it never came up): lightningd shuts down cleanly on SIGTERM too.
      try {
        process.kill(proc.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    if (!(await waitExit(proc, graceMs))) await killHard(proc);
  }

  /**
   * kill -9 of lightningd itself. Its subdaemons and plugins see their pipes
   * close and exit on their own; wait for them (SIGKILL after `graceMs`), so a
   * start does not find the port or the plugins of the old process still there.
   */
  async crash(graceMs = 10_000): Promise<void> {
    const proc = this.proc;
    this.client?.close();
    this.client = undefined;
    if (!proc || proc.hasExited()) return;
    const children = await childProcesses(proc.pid);
    await killHard(proc);
    const gone = await poll(`${this.name}'s subdaemons and plugins to exit`, () => (children.every((c) => !isAlive(c.pid)) ? true : undefined), graceMs, 50).catch(() => false);
    if (!gone) {
      for (const c of children) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  /** Stop and start again with the same arguments. lightningd replays held HTLCs to plugins. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** After something killed lightningd (e.g. an important plugin died): wait for the exit and drop the connection. */
  async waitDown(timeoutMs = 20_000): Promise<boolean> {
    if (!this.proc) return true;
    const gone = await waitExit(this.proc, timeoutMs);
    if (gone) {
      this.client?.close();
      this.client = undefined;
    }
    return gone;
  }

  /** The rdv plugin process(es) lightningd started. */
  async rdvPluginProcesses(): Promise<ProcessInfo[]> {
    const pid = this.pid;
    if (pid === undefined) return [];
    // The path as a whole word of the command line: bin/rdv-guard's path starts with bin/rdv's.
    return (await childProcesses(pid)).filter((p) => p.args.split(/\s+/).includes(this.setup.rdvPath));
  }

  /** SIGKILL the rdv plugin; returns its PID. An important plugin's death stops lightningd too. */
  async killRdvPlugin(): Promise<number> {
    const [plugin] = await this.rdvPluginProcesses();
    if (!plugin) throw new Error(`${this.name} has no rdv plugin process`);
    process.kill(plugin.pid, 'SIGKILL');
    await poll(`${this.name}'s rdv plugin (pid ${plugin.pid}) to die`, () => (isAlive(plugin.pid) ? undefined : true), 5_000, 20);
    return plugin.pid;
  }

  /** The log's lines (optionally only those containing `filter`). */
  logLines(filter?: string | RegExp): string[] {
    let text: string;
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    const lines = text.split('\n').filter((l) => l !== '');
    if (filter === undefined) return lines;
    return lines.filter((l) => (typeof filter === 'string' ? l.includes(filter) : filter.test(l)));
  }

  /** Lines logged by the rdv plugin. */
  rdvLog(): string[] {
    return this.logLines(/plugin-rdv/);
  }

  /**
   * What lightningd, its subdaemons and plugins printed to stdout/stderr (where a
   * crashing plugin's assertion and backtrace go), optionally only lines containing `filter`.
   */
  printed(filter?: string | RegExp): string[] {
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'stdout.log'), 'utf8');
    } catch {
      return [];
    }
    const lines = text.split('\n').filter((l) => l !== '');
    if (filter === undefined) return lines;
    return lines.filter((l) => (typeof filter === 'string' ? l.includes(filter) : filter.test(l)));
  }

  logTail(n: number): string[] {
    return this.logLines().slice(-n);
  }

  /** What lightningd printed (bad options go to stderr), else the log's last lines: one line. */
  private startupOutput(): string {
    let printed = '';
    try {
      printed = readFileSync(join(this.dir, 'stdout.log'), 'utf8').trim();
    } catch {
      printed = '';
    }
    const lines = printed !== '' ? printed.split('\n').slice(-3) : this.logTail(3);
    return lines.join(' | ');
  }
}
