/**
 * rdv's JSON-RPC client against a unix-socket server framing replies like
 * lightningd: many calls at once, big replies, CLN error objects, and a node
 * that is not there or goes away.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RdvError } from '../../src/errors.js';
import { RpcClient, RpcError } from '../../src/rpc/client.js';
import { RpcServer, SimRpcError } from '../../src/simnet/rpc-server.js';

const dir = mkdtempSync(join(tmpdir(), 'rdv-rpc-'));
const socketPath = join(dir, 'lightning-rpc');
let server: RpcServer;

before(async () => {
  server = new RpcServer(socketPath, async (method, params) => {
    switch (method) {
      case 'echo':
        // Answer out of order: a later request may be answered first.
        await new Promise((r) => setTimeout(r, Number(params.delay ?? 0)));
        return { n: params.n };
      case 'big':
        return { payments: Array.from({ length: 20_000 }, (_, i) => ({ id: i, groupid: 5_350_190_117_790_887_365n, bolt11: 'lnbcrt'.padEnd(240, 'q') })) };
      case 'refuse':
        throw new SimRpcError(1204, 'generation is different');
      default:
        throw new SimRpcError(-32601, `Unknown command '${method}'`);
    }
  });
  await server.start();
});

after(async () => server.stop());

describe('RpcClient', () => {
  test('300 concurrent calls, answered out of order, each get their own reply', async () => {
    const client = await RpcClient.connect(socketPath);
    try {
      const replies = await Promise.all(Array.from({ length: 300 }, (_, n) => client.call('echo', { n, delay: (n * 7) % 13 })));
      assert.deepEqual(replies.map((r) => (r as { n: number }).n), Array.from({ length: 300 }, (_, n) => n));
    } finally {
      client.close();
    }
  });

  test('a multi-megabyte reply arrives whole, with u64 fields exact', async () => {
    const client = await RpcClient.connect(socketPath);
    try {
      const reply = (await client.call('big')) as { payments: Array<{ id: number; groupid: bigint }> };
      assert.equal(reply.payments.length, 20_000);
      assert.equal(reply.payments[19_999]?.id, 19_999);
      assert.equal(reply.payments[0]?.groupid, 5_350_190_117_790_887_365n);
    } finally {
      client.close();
    }
  });

  test("lightningd's error objects become RpcError with code and message", async () => {
    const client = await RpcClient.connect(socketPath);
    try {
      await assert.rejects(client.call('refuse'), (e: unknown) => e instanceof RpcError && e.code === 1204 && e.rpcMessage === 'generation is different' && e.method === 'refuse');
      await assert.rejects(client.call('nosuchmethod'), (e: unknown) => e instanceof RpcError && e.code === -32601);
      // The connection is still usable after errors.
      assert.deepEqual(await client.call('echo', { n: 9 }), { n: 9 });
    } finally {
      client.close();
    }
  });

  test('no socket: an unreachable error naming the path and what to check', async () => {
    await assert.rejects(RpcClient.connect(join(dir, 'nothing-here')), (e: unknown) => {
      assert.ok(e instanceof RdvError);
      assert.equal(e.kind, 'unreachable');
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /no lightningd RPC socket at .*nothing-here: is lightningd running\?/);
      return true;
    });
  });

  test('a file that is not a socket: unreachable, not a crash', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    await assert.rejects(RpcClient.connect(file), (e: unknown) => e instanceof RdvError && e.kind === 'unreachable');
  });

  test('lightningd going away fails the calls in flight as unreachable', async () => {
    const goneDir = mkdtempSync(join(tmpdir(), 'rdv-rpc-gone-'));
    const gone = new RpcServer(join(goneDir, 'lightning-rpc'), () => new Promise(() => undefined));
    await gone.start();
    const client = await RpcClient.connect(join(goneDir, 'lightning-rpc'));
    const pending = client.call('waitforever');
    await gone.stop();
    await assert.rejects(pending, (e: unknown) => e instanceof RdvError && e.kind === 'unreachable');
    await assert.rejects(client.call('echo'), (e: unknown) => e instanceof RdvError && e.kind === 'unreachable');
  });

  test('a call with a timeout gives up with an unreachable error', async () => {
    const slowDir = mkdtempSync(join(tmpdir(), 'rdv-rpc-slow-'));
    const slow = new RpcServer(join(slowDir, 'lightning-rpc'), () => new Promise(() => undefined));
    await slow.start();
    const client = await RpcClient.connect(join(slowDir, 'lightning-rpc'));
    try {
      await assert.rejects(client.call('hang', {}, { timeoutMs: 50 }), (e: unknown) => e instanceof RdvError && /did not answer hang within 50 ms/.test(e.message));
    } finally {
      client.close();
      await slow.stop();
    }
  });
});
