/**
 * JSON-RPC 2.0 over lightningd's unix socket.
 *
 * The design card names clightning-client; we do not use it. Tried against our
 * tests it (1) retries forever on a missing socket instead of failing, so
 * `rdv` could not exit 3 within a second; (2) prints to the console on every
 * connection error, which would corrupt `--json` output and, in plugin mode, the
 * plugin protocol; (3) parses replies line by line with JSON.parse, losing the
 * u64 fields past 2^53 that CLN sends. This client keeps one connection, sends
 * requests concurrently, matches replies by id, reads the stream without relying
 * on newlines, and turns CLN error objects into RpcError. Replies come without
 * their `hex` members (listdatastore sends each value as string and hex; rdv
 * reads the string): a call that needs one must not use this client.
 */
import { createConnection, type Socket } from 'node:net';
import { RdvError } from '../errors.js';
import { JsonStreamSplitter, parseJson, stringifyJson } from './json.js';
import { isObject } from '../chain/read.js';

/** lightningd answered the request with an error object. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly method: string,
    readonly code: number,
    readonly rpcMessage: string,
    readonly data: unknown,
  ) {
    super(`${method}: ${rpcMessage} (code ${code})`);
  }
}

export interface RpcClientOptions {
  /** Give up connecting after this long (default 1000 ms). */
  connectTimeoutMs?: number;
  /** Prefix for request ids, like lightning-cli's "cli:". */
  idPrefix?: string;
  /** Keep replies' `hex` members (the simulator's fidelity test compares whole replies). */
  keepHex?: boolean;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class RpcClient implements Rpc {
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  private closeError: RdvError | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
    private readonly idPrefix: string,
    keepHex: boolean,
  ) {
    // rdv reads no reply's `hex` member; listdatastore's are two thirds of its bytes.
    const splitter = new JsonStreamSplitter(undefined, { dropHex: !keepHex });
    socket.on('data', (chunk: Buffer) => {
      let messages: string[];
      try {
        messages = splitter.push(chunk);
      } catch (e) {
        this.shutdown(unreachable(`lightningd sent something that is not JSON-RPC on ${socketPath}: ${(e as Error).message}`));
        return;
      }
      for (const text of messages) this.onMessage(text);
    });
    socket.on('error', (e) => this.shutdown(unreachable(`lost the connection to lightningd (${socketPath}): ${e.message}`)));
    socket.on('close', () => this.shutdown(unreachable(`lightningd closed the RPC connection (${socketPath})`)));
  }

  /** Connect, or fail with an `unreachable` RdvError that says what to check. */
  static connect(socketPath: string, options: RpcClientOptions = {}): Promise<RpcClient> {
    const timeoutMs = options.connectTimeoutMs ?? 1000;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: socketPath });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(unreachable(`lightningd did not accept a connection on ${socketPath} within ${timeoutMs} ms: is it running?`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RpcClient(socket, socketPath, options.idPrefix ?? 'rdv', options.keepHex ?? false));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(socketPath, e));
      });
    });
  }

  /**
   * Call a method with named parameters. Resolves with `result`; rejects with
   * RpcError (lightningd said no) or an `unreachable` RdvError (connection lost or timed out).
   */
  call(method: string, params: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closeError ?? unreachable('the RPC connection is closed'));
    const id = `${this.idPrefix}:${method}#${this.nextId++}`;
    const body = stringifyJson({ jsonrpc: '2.0', id, method, params: dropUndefined(params) });
    return new Promise((resolve, reject) => {
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              reject(unreachable(`lightningd did not answer ${method} within ${options.timeoutMs} ms`));
            }, options.timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.socket.write(body);
    });
  }

  close(): void {
    this.shutdown(unreachable('the RPC connection is closed'));
    this.socket.destroy();
  }

  /** The connection dropped or was closed: every call now fails. */
  get isClosed(): boolean {
    return this.closed;
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = parseJson(text);
    } catch {
      this.shutdown(unreachable(`lightningd sent invalid JSON on ${this.socketPath}`));
      return;
    }
    if (!isObject(msg)) return;
    const id = typeof msg.id === 'string' || typeof msg.id === 'number' ? String(msg.id) : undefined;
    if (id === undefined) return; // a notification (we never ask for them)
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (pending.timer) clearTimeout(pending.timer);
    const error = msg.error;
    if (isObject(error)) {
      const code = typeof error.code === 'number' ? error.code : -1;
      const message = typeof error.message === 'string' ? error.message : 'unknown error';
      pending.reject(new RpcError(pending.method, code, message, error.data));
    } else {
      pending.resolve(msg.result);
    }
  }

  private shutdown(error: RdvError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = error;
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
  }
}

function unreachable(message: string): RdvError {
  return new RdvError('unreachable', message);
}

function connectError(path: string, e: NodeJS.ErrnoException): RdvError {
  switch (e.code) {
    case 'ENOENT':
      return unreachable(`no lightningd RPC socket at ${path}: is lightningd running? (set --lightning-dir, --network or --rpc-file)`);
    case 'ECONNREFUSED':
      return unreachable(`nothing listens on ${path}: lightningd is not running (stale socket)`);
    case 'EACCES':
    case 'EPERM':
      return unreachable(`permission denied on ${path}: run rdv as the user that runs lightningd`);
    case 'ENOTSOCK':
      return unreachable(`${path} is not a socket: check --rpc-file`);
    default:
      return unreachable(`cannot connect to lightningd at ${path}: ${e.message}`);
  }
}

function dropUndefined(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
  return out;
}

/** What LightningNode needs of a connection: RpcClient, or a ReconnectingRpc for long-lived plugins. */
export interface Rpc {
  readonly socketPath: string;
  call(method: string, params?: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<unknown>;
  close(): void;
}

/**
 * A connection that comes back: when lightningd's socket drops (lightningd
 * restarting, a socket error), the next call connects again instead of failing
 * forever. Calls that were waiting when it dropped fail with an `unreachable`
 * error, as before, and their callers retry. For the plugins, which live as long
 * as lightningd and must keep answering held HTLCs; the CLI uses RpcClient,
 * which fails at once (exit 3).
 */
export class ReconnectingRpc implements Rpc {
  private current: Promise<RpcClient> | undefined;
  private closed = false;

  private constructor(
    readonly socketPath: string,
    private readonly options: RpcClientOptions,
    first: RpcClient,
  ) {
    this.current = Promise.resolve(first);
  }

  static async connect(socketPath: string, options: RpcClientOptions = {}): Promise<ReconnectingRpc> {
    return new ReconnectingRpc(socketPath, options, await RpcClient.connect(socketPath, options));
  }

  /** How many times the connection was made again (for logs and tests). */
  reconnects = 0;

  async call(method: string, params: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}): Promise<unknown> {
    if (this.closed) throw unreachable('the RPC connection is closed');
    const client = await this.client();
    return client.call(method, params, options);
  }

  private async client(): Promise<RpcClient> {
    const current = this.current;
    if (current) {
      const client = await current.catch(() => undefined);
      if (client && !client.isClosed) return client;
      if (this.current === current) this.current = undefined;
    }
    if (!this.current) {
      const next = RpcClient.connect(this.socketPath, this.options);
      this.current = next;
      this.reconnects++;
      next.catch(() => {
        if (this.current === next) this.current = undefined;
      });
    }
    return this.current;
  }

  close(): void {
    this.closed = true;
    void this.current?.then((c) => c.close(), () => undefined);
    this.current = undefined;
  }
}
