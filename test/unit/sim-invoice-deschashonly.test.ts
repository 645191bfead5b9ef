/**
 * The simulated lightningd's `invoice` honours `deschashonly` as CLN does
 * (doc/schemas/invoice.json, lightningd/invoice.c): the bolt11 carries
 * sha256 of the description's UTF-8 bytes and not the description, which
 * listinvoices still shows; a description over 639 bytes needs it. An LNURL
 * server backed by CLN makes its invoices this way (LUD-06: `h` = sha256 of
 * the metadata).
 */
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBolt11 } from '../../src/chain/bolt11.js';
import { RpcClient } from '../../src/rpc/client.js';
import { rpcError, simNetFor } from '../helpers/sim.js';

let carol: RpcClient;
simNetFor(
  async (net) => {
    const node = await net.addNode('carol');
    carol = await RpcClient.connect(node.socketPath);
  },
  { tearDown: () => carol?.close() },
);

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
// LNURL metadata: JSON with quotes and a non-ASCII character, as servers send it.
const METADATA = JSON.stringify([['text/plain', 'Zahlung an carol@shop.example — 1 Tasse'], ['text/identifier', 'carol@shop.example']]);

async function invoiceFields(params: Record<string, unknown>): Promise<{ description: string | undefined; descriptionHash: string | undefined }> {
  const made = (await carol.call('invoice', { amount_msat: 106_039_024, ...params })) as { bolt11: string };
  const decoded = decodeBolt11(made.bolt11);
  if (!decoded.ok) assert.fail(decoded.error);
  return { description: decoded.value.description, descriptionHash: decoded.value.descriptionHash };
}

describe('simulated invoice: deschashonly', () => {
  test('deschashonly=true: the invoice carries sha256 of the description, not the description', async () => {
    assert.deepEqual(await invoiceFields({ label: 'lnurl-1', description: METADATA, deschashonly: true }), { description: undefined, descriptionHash: sha256(METADATA) });
  });

  test('listinvoices still shows the description of a deschashonly invoice, as CLN stores it', async () => {
    await carol.call('invoice', { amount_msat: 5_003, label: 'lnurl-listed', description: METADATA, deschashonly: true });
    const listed = (await carol.call('listinvoices', { label: 'lnurl-listed' })) as { invoices: Array<{ description: string }> };
    assert.equal(listed.invoices[0]?.description, METADATA);
  });

  test('without deschashonly (or false) the invoice carries the description itself', async () => {
    assert.deepEqual(await invoiceFields({ label: 'plain-1', description: 'order 42' }), { description: 'order 42', descriptionHash: undefined });
    assert.deepEqual(await invoiceFields({ label: 'plain-2', description: 'order 43', deschashonly: false }), { description: 'order 43', descriptionHash: undefined });
  });

  test('a description over 639 bytes is refused without deschashonly and hashed with it', async () => {
    const long = `${'é'.repeat(320)}`; // 640 bytes in UTF-8, 320 characters
    assert.deepEqual(await rpcError(carol.call('invoice', { amount_msat: 1_000, label: 'long-1', description: long })), {
      code: -32602,
      message: 'Description greater than 639 bytes invalid (description length 640)',
    });
    assert.deepEqual(await invoiceFields({ label: 'long-2', description: long, deschashonly: true }), { description: undefined, descriptionHash: sha256(long) });
  });

  test('deschashonly that is not a boolean is a bad parameter', async () => {
    const e = await rpcError(carol.call('invoice', { amount_msat: 1_000, label: 'bad-flag', description: 'x', deschashonly: 'yes' }));
    assert.deepEqual(e, { code: -32602, message: `deschashonly: should be 'true' or 'false': invalid token '"yes"'` });
  });
});
