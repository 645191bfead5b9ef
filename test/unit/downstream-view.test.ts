/** How rdv status names a relay's downstream (src/ui/downstream-view.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downstreamText } from '../../src/ui/downstream-view.js';
import { CAROL, makeRecord } from '../helpers/builders.js';

const LNO = 'lno1qgsqvgnwgcg35z6ee2h3yczraddm72xrfua9uve2rlrm9deu7xyfzrc2zfq';
const LNI = 'lni1qqgyq5wuv8dmhs3fd9ru4al2jcsegfqvqypq8jvtgwzv3ymtgu4q2r9sk6awnh5zyg3ft4f';

const cases: Array<{ description: string; given: Parameters<typeof makeRecord>[0]; expected: string }> = [
  { description: 'a BOLT 11 invoice passed back: amount and payee only', given: {}, expected: `100,000 sat to ${CAROL}` },
  { description: 'a BOLT 12 invoice from an offer: its kind and the start of the offer', given: { downstreamInvoice: LNI, downstreamSource: { kind: 'offer', offer: LNO } }, expected: `100,000 sat to ${CAROL} (BOLT 12) from offer lno1qgsqvgnwgcg35z6ee2h3…` },
  { description: 'an invoice from a Lightning Address', given: { downstreamSource: { kind: 'address', address: 'carol@shop.example' } }, expected: `100,000 sat to ${CAROL} from carol@shop.example` },
];
for (const c of cases) test(c.description, () => assert.equal(downstreamText(makeRecord(c.given)), c.expected));
