/**
 * A JSON-RPC server on a unix socket that frames replies like lightningd: one
 * compact JSON object followed by "\n\n", ids echoed with their JSON type,
 * errors as {code, message}.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { JsonStreamSplitter, parseJson, stringifyJson } from '../rpc/json.js';
import { isObject } from '../chain/read.js';

/** An error reply, with lightningd's code. */
export class SimRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export type Dispatch = (method: string, params: Record<string, unknown>, id: string | number) => Promise<unknown>;

export class RpcServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Every request seen, for tests ("the CLI never called datastore"). */
  readonly calls: Array<{ method: string; params: Record<string, unknown> }> = [];

  constructor(
    readonly socketPath: string,
    private readonly dispatch: Dispatch,
  ) {}

  start(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Take no new connections; those open are served on until stop() (a stopping
   * lightningd: jsonrpc_stop_listening first, jsonrpc_stop_all only after its
   * plugins had their chance to finish).
   */
  stopListening(): void {
    const server = this.server;
    if (!server) return;
    server.close();
    this.server = undefined;
    rmSync(this.socketPath, { force: true });
  }

  /**
   * Drop every connection and keep listening: lightningd runs on, and so do the
   * commands it was running for them (jsonrpc.c destroy_jcon), their answers
   * lost. What a client sees when its socket breaks.
   */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Stop listening and drop every connection (as a dying lightningd does). */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    const splitter = new JsonStreamSplitter();
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      let texts: string[];
      try {
        texts = splitter.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const text of texts) void this.handle(socket, text);
    });
  }

  private async handle(socket: Socket, text: string): Promise<void> {
    let req: unknown;
    try {
      req = parseJson(text);
    } catch {
      socket.destroy();
      return;
    }
    if (!isObject(req) || typeof req.method !== 'string') return;
    const id = typeof req.id === 'string' || typeof req.id === 'number' ? req.id : null;
    const params = isObject(req.params) ? (req.params as Record<string, unknown>) : {};
    this.calls.push({ method: req.method, params });
    let body: Record<string, unknown>;
    try {
      body = { result: await this.dispatch(req.method, params, id ?? 0) };
    } catch (e) {
      body =
        e instanceof SimRpcError
          ? { error: e.data === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, data: e.data } }
          : { error: { code: -1, message: e instanceof Error ? e.message : String(e) } };
    }
    if (id === null || socket.destroyed) return;
    socket.write(`${stringifyJson({ jsonrpc: '2.0', id, ...body })}\n\n`);
  }
}
