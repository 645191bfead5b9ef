/**
 * The CLN plugin protocol over stdin/stdout (doc/developers-guide/plugin-development).
 * lightningd is the client: getmanifest, then init, then hooks, rpcmethods and
 * notifications. stdout carries protocol only; logs are `log` notifications.
 * Every request gets exactly one reply; a second one is a bug and is logged, not sent.
 */
import type { Readable, Writable } from 'node:stream';
import { isObject, type JsonObject } from '../chain/read.js';
import { JsonStreamSplitter, parseJson, stringifyJson } from './json.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface PluginOption {
  name: string;
  type: 'string' | 'int' | 'bool' | 'flag';
  default?: string | number | boolean;
  description: string;
  dynamic?: boolean;
}

export interface InitConfig {
  lightningDir: string;
  rpcFile: string;
  network: string;
  startup: boolean;
  options: JsonObject;
}

/** An error an rpcmethod handler throws to reply with a JSON-RPC error object. */
export class PluginMethodError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface PluginSpec {
  options?: PluginOption[];
  rpcmethods?: Array<{ name: string; usage: string; description: string; handler: (params: unknown) => Promise<unknown> }>;
  hooks?: Array<{ name: string; before?: string[]; after?: string[]; filters?: number[]; handler: (params: JsonObject) => Promise<JsonObject> }>;
  subscriptions?: Array<{ name: string; handler: (params: JsonObject) => void }>;
  customMessages?: number[];
  dynamic: boolean;
  /** Called once; may return a reason to disable the plugin. Must be fast. */
  onInit: (config: InitConfig) => Promise<{ disable?: string } | undefined>;
  /** Called when lightningd closes our stdin (it is shutting down or stopped us). */
  onStdinClosed?: () => void;
}

export interface PluginHost {
  log(level: LogLevel, message: string): void;
  /** Replies still owed to lightningd (hook calls being held). */
  pendingRequests(): number;
}

export function runPlugin(spec: PluginSpec, input: Readable, output: Writable): PluginHost {
  const owed = new Set<string>();
  const splitter = new JsonStreamSplitter();

  const write = (message: JsonObject): void => {
    output.write(`${stringifyJson(message)}\n\n`);
  };
  const log = (level: LogLevel, message: string): void => {
    for (const line of message.split('\n')) write({ jsonrpc: '2.0', method: 'log', params: { level, message: line } });
  };
  const idKey = (id: unknown): string => JSON.stringify(id);

  const reply = (id: string | number, body: { result: unknown } | { error: { code: number; message: string } }): void => {
    const key = idKey(id);
    if (!owed.delete(key)) {
      log('error', `bug: a second reply to request ${key} was dropped`);
      return;
    }
    write({ jsonrpc: '2.0', id, ...(body as JsonObject) });
  };

  const manifest = (): JsonObject => ({
    options: (spec.options ?? []).map((o) => ({ ...o })) as unknown as JsonObject[],
    rpcmethods: (spec.rpcmethods ?? []).map((m) => ({ name: m.name, usage: m.usage, description: m.description })),
    hooks: (spec.hooks ?? []).map(
      (h): JsonObject => ({ name: h.name, ...(h.before ? { before: h.before } : {}), ...(h.after ? { after: h.after } : {}), ...(h.filters ? { filters: h.filters } : {}) }),
    ),
    subscriptions: (spec.subscriptions ?? []).map((s) => s.name),
    custommessages: spec.customMessages ?? [],
    nonnumericids: true,
    dynamic: spec.dynamic,
  });

  const init = async (params: unknown): Promise<unknown> => {
    const p = isObject(params) ? params : {};
    const conf = isObject(p.configuration) ? p.configuration : {};
    const result = await spec.onInit({
      lightningDir: String(conf['lightning-dir'] ?? '.'),
      rpcFile: String(conf['rpc-file'] ?? 'lightning-rpc'),
      network: String(conf.network ?? 'bitcoin'),
      startup: conf.startup !== false,
      options: isObject(p.options) ? p.options : {},
    });
    return result?.disable ? { disable: result.disable } : {};
  };

  // Not async on purpose: a held hook call must not keep its whole payload
  // (the ~2.7 KB next_onion among it) alive in a suspended frame.
  const handle = (method: string, params: unknown): Promise<unknown> => {
    try {
      if (method === 'getmanifest') return Promise.resolve(manifest());
      if (method === 'init') return init(params);
      const hook = spec.hooks?.find((h) => h.name === method);
      if (hook) return hook.handler(isObject(params) ? params : {});
      const rpc = spec.rpcmethods?.find((m) => m.name === method);
      if (rpc) return rpc.handler(params);
      return Promise.reject(new PluginMethodError(-32601, `Unknown method ${method}`));
    } catch (e) {
      return Promise.reject(e);
    }
  };

  const onMessage = (text: string): void => {
    let msg: unknown;
    try {
      msg = parseJson(text);
    } catch {
      log('error', 'received invalid JSON from lightningd');
      return;
    }
    if (!isObject(msg) || typeof msg.method !== 'string') return;
    const { method, params } = msg;
    const id = msg.id;
    if (id === undefined || id === null) {
      const sub = spec.subscriptions?.find((s) => s.name === method || s.name === '*');
      if (sub) {
        try {
          sub.handler(isObject(params) ? params : {});
        } catch (e) {
          log('error', `notification ${method}: ${(e as Error).message}`);
        }
      }
      return;
    }
    if (typeof id !== 'string' && typeof id !== 'number') return;
    owed.add(idKey(id));
    handle(method, params).then(
      (result) => reply(id, { result }),
      (e: unknown) => {
        const code = e instanceof PluginMethodError ? e.code : -32600;
        const message = e instanceof Error ? e.message : String(e);
        if (!(e instanceof PluginMethodError)) log('error', `${method} failed: ${e instanceof Error ? (e.stack ?? message) : message}`);
        reply(id, { error: { code, message } });
      },
    );
  };

  input.on('data', (chunk: Buffer) => {
    let messages: string[];
    try {
      messages = splitter.push(chunk);
    } catch (e) {
      log('error', `bad input from lightningd: ${(e as Error).message}`);
      return;
    }
    for (const text of messages) onMessage(text);
  });
  input.on('end', () => spec.onStdinClosed?.());

  return { log, pendingRequests: () => owed.size };
}
