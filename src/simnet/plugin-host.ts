/**
 * lightningd's side of the plugin protocol: start the plugin with
 * LIGHTNINGD_PLUGIN=1 in the network directory, getmanifest, init, then hooks,
 * notifications and rpcmethod pass-through, framed like lightningd does. Plugin
 * stdout must be protocol only: anything else gets the plugin killed, as in CLN.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isObject } from '../chain/read.js';
import { JsonStreamSplitter, parseJson, stringifyJson } from '../rpc/json.js';

export interface Manifest {
  options: Array<{ name: string; type: string; default?: unknown }>;
  rpcmethods: Array<{ name: string; usage: string }>;
  hooks: Array<{ name: string }>;
  subscriptions: string[];
  custommessages: number[];
  dynamic: boolean;
}

export class PluginDiedError extends Error {
  constructor(message = 'plugin died') {
    super(message);
  }
}

export interface PluginStartOptions {
  path: string;
  /** The network directory (lightningd runs plugins from there). */
  netDir: string;
  rpcFile: string;
  network: string;
  startup: boolean;
  options?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Called with each line the plugin writes to stderr. */
  onStderr?: (line: string) => void;
}

export class PluginHost {
  readonly logs: Array<{ level: string; message: string }> = [];
  manifest: Manifest | undefined;
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private counter = 400;
  private dead = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Replies that came for requests already answered, or unknown ids: must stay empty. */
  readonly protocolViolations: string[] = [];
  private logWaiters: Array<{ re: RegExp; resolve: () => void }> = [];

  private constructor(private readonly proc: ChildProcess, private readonly opts: PluginStartOptions) {
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.dead = true;
        for (const [, p] of this.pending) p.reject(new PluginDiedError(`plugin exited (${signal ?? code})`));
        this.pending.clear();
        resolve({ code, signal });
      });
    });
    const splitter = new JsonStreamSplitter();
    proc.stdout?.on('data', (chunk: Buffer) => {
      let texts: string[];
      try {
        texts = splitter.push(chunk);
      } catch (e) {
        this.protocolViolations.push(`non-JSON on stdout: ${(e as Error).message}`);
        this.kill();
        return;
      }
      for (const t of texts) this.onMessage(t);
    });
    let errBuf = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      errBuf += chunk.toString('utf8');
      let nl: number;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        opts.onStderr?.(errBuf.slice(0, nl));
        errBuf = errBuf.slice(nl + 1);
      }
    });
    proc.stdin?.on('error', () => undefined);
  }

  static async start(opts: PluginStartOptions): Promise<PluginHost> {
    const proc = spawn(opts.path, [], {
      cwd: opts.netDir,
      env: { ...process.env, ...opts.env, LIGHTNINGD_PLUGIN: '1', LIGHTNINGD_VERSION: 'v26.06.6' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const host = new PluginHost(proc, opts);
    const manifest = await host.request('getmanifest', { 'allow-deprecated-apis': false }, 60_000);
    host.manifest = readManifest(manifest);
    const options: Record<string, unknown> = {};
    for (const o of host.manifest.options) if (o.default !== undefined) options[o.name] = o.default;
    Object.assign(options, opts.options);
    const init = await host.request(
      'init',
      {
        options,
        configuration: {
          'lightning-dir': opts.netDir,
          'rpc-file': opts.rpcFile,
          startup: opts.startup,
          network: opts.network,
          feature_set: { init: '800898880a8a59a1', node: '808898880a8a59a1', channel: '', invoice: '02000002024100' },
        },
      },
      60_000,
    );
    // A plugin may disable itself at init: lightningd kills it, and (plugin_config_cb)
    // no longer counts it as important, so it carries on without it.
    if (isObject(init) && typeof init.disable === 'string') {
      host.disabled = init.disable;
      host.kill();
      await host.exited;
    }
    return host;
  }

  /** Why the plugin disabled itself at init, if it did. */
  disabled: string | undefined;

  get alive(): boolean {
    return !this.dead;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  hasHook(name: string): boolean {
    return this.manifest?.hooks.some((h) => h.name === name) ?? false;
  }

  hasMethod(name: string): boolean {
    return this.manifest?.rpcmethods.some((m) => m.name === name) ?? false;
  }

  /** The RPC methods the plugin added, with their usage (for `help`). */
  get methods(): ReadonlyArray<{ name: string; usage: string }> {
    return this.manifest?.rpcmethods ?? [];
  }

  subscribes(topic: string): boolean {
    return this.manifest?.subscriptions.includes(topic) ?? false;
  }

  /** Send a request; rejects with PluginDiedError if the plugin exits first. */
  request(method: string, params: unknown, timeoutMs?: number, idPrefix = 'cln'): Promise<unknown> {
    if (this.dead) return Promise.reject(new PluginDiedError());
    const id = `${idPrefix}:${method}#${this.counter++}`;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Error(`plugin did not answer ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(id, {
        resolve: (v) => {
          if (timer) clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      });
      this.write({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    if (!this.dead) this.write({ jsonrpc: '2.0', method, params });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.dead) this.proc.kill(signal);
  }

  /** Resolves when the plugin logs a line matching `re` (or has already). */
  waitForLog(re: RegExp): Promise<void> {
    if (this.logs.some((l) => re.test(l.message))) return Promise.resolve();
    return new Promise((resolve) => this.logWaiters.push({ re, resolve }));
  }

  private write(msg: unknown): void {
    this.proc.stdin?.write(`${stringifyJson(msg)}\n\n`);
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = parseJson(text);
    } catch {
      this.protocolViolations.push('invalid JSON');
      this.kill();
      return;
    }
    if (!isObject(msg) || msg.jsonrpc !== '2.0') {
      this.protocolViolations.push('JSON-RPC message does not contain "jsonrpc" field');
      this.kill();
      return;
    }
    if (typeof msg.method === 'string') {
      if (msg.method === 'log' && isObject(msg.params)) {
        const entry = { level: String(msg.params.level), message: String(msg.params.message) };
        this.logs.push(entry);
        this.opts.onStderr?.(`[${entry.level}] ${entry.message}`);
        this.logWaiters = this.logWaiters.filter((w) => {
          if (!w.re.test(entry.message)) return true;
          w.resolve();
          return false;
        });
      }
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : String(msg.id);
    const pending = this.pending.get(id);
    if (!pending) {
      this.protocolViolations.push(`reply to unknown or already answered request ${id}`);
      return;
    }
    this.pending.delete(id);
    if (isObject(msg.error)) pending.reject(Object.assign(new Error(String(msg.error.message)), { code: msg.error.code }));
    else pending.resolve(msg.result);
  }
}

function readManifest(v: unknown): Manifest {
  if (!isObject(v)) throw new Error('getmanifest: not an object');
  const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
  return {
    options: arr(v.options).filter(isObject).map((o) => ({ name: String(o.name), type: String(o.type), default: o.default })),
    rpcmethods: arr(v.rpcmethods).filter(isObject).map((m) => ({ name: String(m.name), usage: String(m.usage) })),
    hooks: arr(v.hooks).map((h) => (isObject(h) ? { name: String(h.name) } : { name: String(h) })),
    subscriptions: arr(v.subscriptions).map(String),
    custommessages: arr(v.custommessages).map(Number),
    dynamic: v.dynamic === true,
  };
}
