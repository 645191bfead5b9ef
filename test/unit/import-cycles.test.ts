// No import circle in src/: a reader can take the modules bottom up, and no module
// sees another half-initialised. Type-only imports count too: a circle of types
// is still a circle to read (the simnet's network -> node -> payer -> network was one).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Relative module specifiers of a file's static imports and re-exports (`import type` included). */
function importsOf(text: string): string[] {
  const specifiers: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\b[^;'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|^import\s*['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    const s = m[1] ?? m[2];
    if (s !== undefined) specifiers.push(s);
  }
  return specifiers;
}

/** One circle in the graph (a path whose last module imports the first), or undefined. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (m: string): string[] | undefined => {
    if (onPath.has(m)) return path.slice(path.indexOf(m));
    if (done.has(m)) return undefined;
    path.push(m);
    onPath.add(m);
    for (const next of graph.get(m) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    onPath.delete(m);
    done.add(m);
    return undefined;
  };
  for (const m of [...graph.keys()].sort()) {
    const found = visit(m);
    if (found) return found;
  }
  return undefined;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** src/'s import graph: file (relative to the repository) -> the src files it imports. */
function srcGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(join(root, 'src'))) {
    const deps = importsOf(readFileSync(file, 'utf8')).map((s) => relative(root, resolve(dirname(file), s.replace(/\.js$/, '.ts'))));
    graph.set(relative(root, file), deps);
  }
  return graph;
}

test('importsOf reads static imports, type imports, re-exports and multi-line imports; not packages', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b.js';",
    'import {',
    '  c,',
    "  type D,",
    "} from './c/d.js';",
    "export { e } from './e.js';",
    "export type { F } from './f.js';",
    "import './side-effect.js';",
    "import { readFileSync } from 'node:fs';",
    "const lazy = await import('./lazy.js');",
    "// import { x } from './commented-out-inline.js' is not at a line start",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['./a.js', '../b.js', './c/d.js', './e.js', './f.js', './side-effect.js']);
});

test('findCycle', async (t) => {
  const cases: Array<{ description: string; given: Record<string, string[]>; expected: string[] | undefined }> = [
    { description: 'a chain', given: { a: ['b'], b: ['c'], c: [] }, expected: undefined },
    { description: 'a diamond', given: { a: ['b', 'c'], b: ['d'], c: ['d'], d: [] }, expected: undefined },
    { description: 'a module importing itself', given: { a: ['a'] }, expected: ['a'] },
    { description: 'a circle of three behind a tail', given: { a: ['n'], n: ['p'], p: ['w'], w: ['n'] }, expected: ['n', 'p', 'w'] },
  ];
  for (const c of cases) {
    await t.test(c.description, () => assert.deepEqual(findCycle(new Map(Object.entries(c.given))), c.expected));
  }
});

test('src/ has no import circle', () => {
  const graph = srcGraph();
  assert.ok(graph.size > 100, `read ${graph.size} files under src/`);
  assert.ok(graph.get(join('src', 'simnet', 'network.ts'))?.includes(join('src', 'simnet', 'node.ts')), 'the graph has the network importing its nodes');
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `import circle: ${(cycle ?? []).join(' -> ')} -> ${cycle?.[0] ?? ''}`);
});
