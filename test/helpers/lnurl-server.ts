/**
 * A small LNURL-pay server, written from LUD-06 and LUD-16 as a stranger's
 * server would be: it imports nothing from rdv (not src/serve, not src/chain),
 * so a misreading of the spec in rdv's client does not hide behind the same
 * misreading here. It listens on 127.0.0.1 on an ephemeral port and serves one
 * name:
 *   GET /.well-known/lnurlp/<name>  the pay parameters (LUD-16 -> LUD-06 step 3)
 *   GET /lnurlp/<name>/callback?amount=<msat>  the invoice (LUD-06 step 5)
 * The invoice comes from `makeInvoice(amountMsat, metadata)`, which the test
 * gives: for a CLN node (or the simulator) it calls `invoice` with the metadata
 * as description and deschashonly=true, so the invoice's `h` is sha256 of it.
 *
 * Faults make it misbehave the ways real servers do, at either step.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How a step misbehaves. */
export type LnurlFault =
  /** {"status":"ERROR","reason"} with HTTP 200, as LUD-06 says. */
  | 'lnurl-error'
  /** The same LNURL error, with HTTP 500 (some servers do this). */
  | 'http-error'
  /** Takes the request and never answers. */
  | 'slow'
  /** Streams a body (no Content-Length) far larger than a client should read, until the client hangs up. */
  | 'oversized'
  /** Declares a Content-Length far larger than a client should read. */
  | 'oversized-declared'
  /** 302 to itself, forever. */
  | 'redirect-loop'
  /** 302 to the same path on a public host over plain http. */
  | 'redirect-to-http'
  /** 302 once, to the same path with ?hop=1 (allowed: loopback to loopback). */
  | 'redirect-once'
  /** A body cut off in the middle of the JSON. */
  | 'malformed-json';

/** How the invoice is wrong (the callback's fault, with the invoice made by `makeInvoice`). */
export type InvoiceFault =
  /** For one msat more than asked. */
  | 'wrong-amount'
  /** Made for other metadata, so its hash does not match what was served. */
  | 'wrong-description-hash';

export interface LnurlServerOptions {
  makeInvoice: (amountMsat: bigint, metadata: string) => Promise<string>;
  /** Default "carol". */
  name?: string;
  /** Default 1,000 msat. */
  minSendableMsat?: bigint;
  /** Default 1,000,000,000 msat. */
  maxSendableMsat?: bigint;
  /** The text/plain entry. */
  description?: string;
  /** The callback carries this query of its own (LUD-06 allows it), e.g. "k=a%20b". */
  callbackQuery?: string;
  paramsFault?: LnurlFault;
  callbackFault?: LnurlFault;
  invoiceFault?: InvoiceFault;
  /** The reason of an lnurl-error or http-error. */
  errorReason?: string;
}

export interface LnurlServer {
  /** Where the pay parameters are (http://127.0.0.1:<port>/.well-known/lnurlp/<name>). */
  url: string;
  /** The Lightning Address (<name>@127.0.0.1:<port>). */
  address: string;
  /** The metadata string served. */
  metadata: string;
  /** Requests received so far. */
  readonly requests: number;
  /** The path and query of each request, in order. */
  readonly paths: readonly string[];
  close(): Promise<void>;
}

const OVERSIZED_BYTES = 4 * 1024 * 1024;

/** Start the server; it runs until close(). */
export async function startLnurlServer(options: LnurlServerOptions): Promise<LnurlServer> {
  const name = options.name ?? 'carol';
  const min = options.minSendableMsat ?? 1_000n;
  const max = options.maxSendableMsat ?? 1_000_000_000n;
  const reason = options.errorReason ?? 'The service is unavailable';
  const paths: string[] = [];
  let host = '';
  let metadata = '';

  const json = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const lnurlError = (res: ServerResponse, status: number, text: string): void => json(res, status, JSON.stringify({ status: 'ERROR', reason: text }));

  /** Misbehave as `fault` says; true when the request has been dealt with. */
  const misbehave = (fault: LnurlFault | undefined, req: IncomingMessage, res: ServerResponse): boolean => {
    const path = req.url ?? '/';
    switch (fault) {
      case undefined:
        return false;
      case 'lnurl-error':
        lnurlError(res, 200, reason);
        return true;
      case 'http-error':
        lnurlError(res, 500, reason);
        return true;
      case 'slow':
        return true;
      case 'oversized': {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        let sent = 0;
        const pump = (): void => {
          while (sent < OVERSIZED_BYTES && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          if (!res.destroyed) res.end();
        };
        res.write('{"pad":"');
        pump();
        return true;
      }
      case 'oversized-declared':
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': OVERSIZED_BYTES });
        res.write('{"pad":"');
        return true;
      case 'redirect-loop':
        res.writeHead(302, { Location: path });
        res.end();
        return true;
      case 'redirect-to-http':
        res.writeHead(302, { Location: `http://shop.example${path}` });
        res.end();
        return true;
      case 'redirect-once':
        if (path.includes('hop=1')) return false;
        res.writeHead(302, { Location: `${path}${path.includes('?') ? '&' : '?'}hop=1` });
        res.end();
        return true;
      case 'malformed-json':
        json(res, 200, '{"tag":"payRequest","callback":');
        return true;
    }
  };

  const callbackPath = `/lnurlp/${name}/callback`;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    paths.push(req.url ?? '');
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (req.method !== 'GET') return lnurlError(res, 405, 'GET only');
    if (url.pathname === `/.well-known/lnurlp/${name}`) {
      if (misbehave(options.paramsFault, req, res)) return;
      // LUD-06 step 3; LUD-16: the metadata names the address.
      return json(
        res,
        200,
        JSON.stringify({
          tag: 'payRequest',
          callback: `http://${host}${callbackPath}${options.callbackQuery === undefined ? '' : `?${options.callbackQuery}`}`,
          minSendable: Number(min),
          maxSendable: Number(max),
          metadata,
          commentAllowed: 0,
        }),
      );
    }
    if (url.pathname === callbackPath) {
      if (misbehave(options.callbackFault, req, res)) return;
      const amountText = url.searchParams.get('amount') ?? '';
      if (!/^\d+$/.test(amountText)) return lnurlError(res, 400, 'amount: a whole number of msat is needed');
      const amount = BigInt(amountText);
      if (amount < min || amount > max) return lnurlError(res, 200, `amount must be between ${min} and ${max} msat`);
      const asked = options.invoiceFault === 'wrong-amount' ? amount + 1n : amount;
      const described = options.invoiceFault === 'wrong-description-hash' ? `${metadata} ` : metadata;
      let pr: string;
      try {
        pr = await options.makeInvoice(asked, described);
      } catch (e) {
        return lnurlError(res, 200, `could not make an invoice: ${(e as Error).message}`);
      }
      return json(res, 200, JSON.stringify({ pr, routes: [] }));
    }
    return lnurlError(res, 404, 'unknown name');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) lnurlError(res, 500, (e as Error).message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
  metadata = JSON.stringify([
    ['text/plain', options.description ?? `Payment to ${name}@${host}`],
    ['text/identifier', `${name}@${host}`],
  ]);
  return {
    url: `http://${host}/.well-known/lnurlp/${name}`,
    address: `${name}@${host}`,
    metadata,
    get requests() {
      return paths.length;
    },
    paths,
    close: () =>
      new Promise<void>((resolve) => {
        // A slow fault holds its connection open: close it, or close() waits for it.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
