/**
 * A regtest bitcoind in its own directory, RPC on 127.0.0.1 only, no P2P. Spoken
 * to over its HTTP JSON-RPC (no bitcoin-cli process per call); stopped with
 * `bitcoin-cli stop`, then SIGKILL if it lingers.
 */
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { isObject } from '../chain/read.js';
import { freePort, killHard, poll, PollAbort, runCommand, startProcess, waitExit, type Spawned } from './process.js';

export class BitcoinRpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
  ) {
    super(`bitcoind ${method}: ${message} (code ${code})`);
  }
}

export interface BitcoindOptions {
  bitcoind: string;
  bitcoinCli: string;
  dir: string;
  /** Leave it running when this process exits (startProcess). */
  outlive?: boolean;
}

export class Bitcoind {
  readonly rpcUser = 'rdv';
  readonly rpcPassword = 'rdv-regtest';
  private nextId = 1;
  private mineAddress: string | undefined;

  private constructor(
    private readonly options: BitcoindOptions,
    readonly rpcPort: number,
    private proc: Spawned,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  get dir(): string {
    return this.options.dir;
  }

  static async start(options: BitcoindOptions): Promise<Bitcoind> {
    mkdirSync(options.dir, { recursive: true });
    const rpcPort = await freePort();
    const args = [
      '-regtest',
      `-datadir=${options.dir}`,
      '-server',
      '-daemon=0',
      '-printtoconsole=0',
      '-rpcbind=127.0.0.1',
      '-rpcallowip=127.0.0.1',
      `-rpcport=${rpcPort}`,
      '-rpcuser=rdv',
      '-rpcpassword=rdv-regtest',
      '-listen=0',
      '-listenonion=0',
      '-dnsseed=0',
      '-fixedseeds=0',
      '-connect=0',
      '-txindex',
      '-fallbackfee=0.00001',
      '-rpcthreads=20',
      `-debuglogfile=${join(options.dir, 'debug.log')}`,
    ];
    const proc = startProcess(options.bitcoind, args, join(options.dir, 'stdout.log'), { outlive: options.outlive ?? false });
    const btc = new Bitcoind(options, rpcPort, proc);
    try {
      await poll(
        'bitcoind RPC',
        async () => {
          if (proc.hasExited()) throw new PollAbort(`bitcoind exited at start: see ${join(options.dir, 'stdout.log')} and debug.log`);
          try {
            await btc.call('getblockchaininfo');
            return true;
          } catch {
            return undefined;
          }
        },
        60_000,
        100,
      );
      await btc.call('createwallet', ['rdv']);
      btc.mineAddress = String(await btc.call('getnewaddress'));
    } catch (e) {
      await btc.stop();
      throw e;
    }
    return btc;
  }

  /** One JSON-RPC call over HTTP. */
  call(method: string, params: unknown[] = []): Promise<unknown> {
    const body = JSON.stringify({ jsonrpc: '1.0', id: this.nextId++, method, params });
    const auth = Buffer.from(`${this.rpcUser}:${this.rpcPassword}`).toString('base64');
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.rpcPort,
          method: 'POST',
          path: '/',
          headers: { 'content-type': 'application/json', authorization: `Basic ${auth}`, 'content-length': Buffer.byteLength(body) },
          agent: false,
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let msg: unknown;
            try {
              msg = JSON.parse(text);
            } catch {
              reject(new Error(`bitcoind ${method}: HTTP ${res.statusCode ?? '?'} ${text.slice(0, 200)}`));
              return;
            }
            if (!isObject(msg)) {
              reject(new Error(`bitcoind ${method}: unexpected reply`));
              return;
            }
            const error = msg.error;
            if (isObject(error)) {
              reject(new BitcoinRpcError(method, typeof error.code === 'number' ? error.code : -1, String(error.message)));
              return;
            }
            resolve(msg.result);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`bitcoind ${method}: timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async blockCount(): Promise<number> {
    return Number(await this.call('getblockcount'));
  }

  /** Mine `n` blocks to our own wallet; returns the new height. */
  async mine(n: number): Promise<number> {
    if (n > 0) await this.call('generatetoaddress', [n, this.mineAddress]);
    return this.blockCount();
  }

  /** Send `btc` to each address in one transaction (not mined). */
  async sendMany(outputs: Record<string, number>): Promise<string> {
    return String(await this.call('sendmany', ['', outputs]));
  }

  /** `bitcoin-cli stop`, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.proc.hasExited()) return;
    await runCommand(
      this.options.bitcoinCli,
      ['-regtest', `-datadir=${this.options.dir}`, '-rpcconnect=127.0.0.1', `-rpcport=${this.rpcPort}`, `-rpcuser=${this.rpcUser}`, `-rpcpassword=${this.rpcPassword}`, 'stop'],
      10_000,
    );
    if (!(await waitExit(this.proc, graceMs))) await killHard(this.proc);
  }

  isRunning(): boolean {
    return !this.proc.hasExited();
  }
}
