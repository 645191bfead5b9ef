/**
 * The policy book in the datastore (["rdv","v1","policies"], one entry): read by
 * the plugin at each pass-back, changed by `rdv policy add|remove` with a
 * compare-and-swap write, so two operators (or an operator and a script) never
 * overwrite each other's change unseen.
 */
import { EMPTY_BOOK, POLICY_KEY, type PolicyBook } from '../chain/policy/policy.js';
import { parseBook, serializeBook } from '../chain/policy/book.js';
import { ShapeError } from '../chain/read.js';
import { err, ok, type Result } from '../errors.js';
import type { LightningNode } from './node.js';

export interface StoredBook {
  book: PolicyBook;
  /** undefined: no book stored yet. */
  generation: number | undefined;
}

/** The stored book (empty if none). Throws ShapeError if it is unreadable. */
export async function loadBook(node: LightningNode): Promise<StoredBook> {
  const e = (await node.listdatastore([...POLICY_KEY])).find((x) => x.key.length === POLICY_KEY.length);
  if (!e) return { book: EMPTY_BOOK, generation: undefined };
  // An entry that is not text (lightningd lists no "string" for it) is a damaged book, not an
  // empty one: read as empty, every add would fail must-create and report "kept changing".
  if (e.string === undefined || e.generation === undefined) throw new ShapeError('policies: not UTF-8 text');
  return { book: parseBook(e.string), generation: e.generation };
}

/**
 * Change the book with `change` (pure) and write it over the generation read; on a
 * concurrent change, read again and apply `change` to the new book (a few times).
 */
export async function updateBook<T>(node: LightningNode, change: (book: PolicyBook) => Result<{ book: PolicyBook; value: T }>): Promise<Result<T>> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { book, generation } = await loadBook(node);
    const next = change(book);
    if (!next.ok) return next;
    const text = serializeBook(next.value.book);
    const w = generation === undefined ? await node.datastoreCreate([...POLICY_KEY], text) : await node.datastoreReplace([...POLICY_KEY], text, generation);
    if (w.ok) return ok(next.value.value);
  }
  return err('the policies kept changing while rdv wrote them: try again');
}
