/** A node's rdv policy book, stored as rdv policy add would store it (for sim tests). */
import assert from 'node:assert/strict';
import type { NodeId } from '../../src/chain/ids.js';
import { EMPTY_BOOK, POLICY_KEY, type PolicyBook } from '../../src/chain/policy/policy.js';
import { newPolicy, type PolicyInput } from '../../src/chain/policy/input.js';
import { addPolicy, serializeBook } from '../../src/chain/policy/book.js';
import type { SimNode } from '../../src/simnet/node.js';

/** Store (or replace) a node's policy book. */
export function setPolicies(node: SimNode, inputs: Array<PolicyInput & { id: string }>): void {
  let book: PolicyBook = EMPTY_BOOK;
  for (const input of inputs) {
    const p = newPolicy(input, { id: input.id, self: node.id as NodeId, now: Math.floor(Date.now() / 1000) });
    assert.ok(p.ok, p.ok ? '' : p.error);
    const added = addPolicy(book, p.value);
    assert.ok(added.ok);
    book = added.value;
  }
  node.datastore.datastore({ key: [...POLICY_KEY], string: serializeBook(book), mode: 'create-or-replace' });
}
