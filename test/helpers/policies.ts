/** A node's rdv policy book, stored as rdv policy add would store it (for sim tests). */
import assert from 'node:assert/strict';
import type { NodeId } from '../../src/chain/ids.js';
import { EMPTY_BOOK, POLICY_KEY, type PolicyBook } from '../../src/chain/policy/policy.js';
import { newLastPolicy, newPolicy, type LastPolicyInput, type PolicyInput } from '../../src/chain/policy/input.js';
import { addLastPolicy, addPolicy, serializeBook } from '../../src/chain/policy/book.js';
import type { SimNode } from '../../src/simnet/node.js';

/** Store (or replace) a node's policy book: relay policies, and last-payee ones (rdv policy add --last). */
export function setPolicies(node: SimNode, inputs: Array<PolicyInput & { id: string }>, lasts: Array<LastPolicyInput & { id: string }> = []): void {
  let book: PolicyBook = EMPTY_BOOK;
  const now = Math.floor(Date.now() / 1000);
  for (const input of inputs) {
    const p = newPolicy(input, { id: input.id, self: node.id as NodeId, now });
    assert.ok(p.ok, p.ok ? '' : p.error);
    const added = addPolicy(book, p.value);
    assert.ok(added.ok, added.ok ? '' : added.error);
    book = added.value;
  }
  for (const input of lasts) {
    const p = newLastPolicy(input, { id: input.id, self: node.id as NodeId, now });
    assert.ok(p.ok, p.ok ? '' : p.error);
    const added = addLastPolicy(book, p.value);
    assert.ok(added.ok, added.ok ? '' : added.error);
    book = added.value;
  }
  node.datastore.datastore({ key: [...POLICY_KEY], string: serializeBook(book), mode: 'create-or-replace' });
}
