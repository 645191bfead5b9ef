#!/usr/bin/env node
// A capture plugin for scripts/capture-bolt12.mjs (not shipped, not a test
// fixture plugin): it appends each htlc_accepted call lightningd sends it, as
// received, to <lightning-dir>/htlc_accepted.jsonl, and answers `continue` at
// once, so lightningd's own handling (a payment to a BOLT 12 invoice) goes on.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { reply, serve, unknownMethod } from '../test/e2e/fixtures/plugin-stdio.mjs';

let out;
serve((msg) => {
  const { id, method, params } = msg;
  if (method === 'getmanifest') return reply(id, { options: [], rpcmethods: [], hooks: [{ name: 'htlc_accepted' }], subscriptions: [], dynamic: true });
  if (method === 'init') {
    out = join(params.configuration['lightning-dir'], 'htlc_accepted.jsonl');
    return reply(id, {});
  }
  if (method === 'htlc_accepted') {
    if (out) appendFileSync(out, `${JSON.stringify(msg)}\n`);
    return reply(id, { result: 'continue' });
  }
  return unknownMethod(id, method);
});
