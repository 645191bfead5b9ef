/**
 * The man pages (man/*.1) against the program they document (src/cli.ts):
 * every subcommand has a page listed in package.json "man", every long option
 * a subcommand declares appears in its page (with its default, if it has one),
 * and rdv.1 names every subcommand and global option. Reads files only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../../src/cli.js';

/** The repository root: the first directory up from here with package.json and man/ (works from test/ and dist/test/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'man'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('no directory with package.json and man/ above the test file');
    dir = up;
  }
}

const root = repoRoot();
const listed: string[] = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { man?: string[] }).man ?? [];

/** Roff source as the reader sees the words: `\-` is `-`, font and zero-width escapes dropped. */
function plain(roff: string): string {
  return roff
    .replace(/\\-/g, '-')
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\&/g, '')
    .replace(/\\e/g, '\\');
}

function page(name: string): string {
  return readFileSync(join(root, 'man', name), 'utf8');
}

/** `--long` as a whole word (so `--to` does not match inside `--timeout`). */
function mentions(text: string, long: string): boolean {
  const escaped = long.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w-])${escaped}(?![\\w-])`, 'm').test(text);
}

/** The paragraph of the .TP entry whose tag line names `long`: the lines up to the next .TP, .PP, .SH or .SS. */
function entryOf(roff: string, long: string): string | undefined {
  const lines = roff.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (lines[i] !== '.TP' || !mentions(plain(lines[i + 1] ?? ''), long)) continue;
    const body: string[] = [];
    for (let j = i + 2; j < lines.length && !/^\.(TP|PP|SH|SS)\b/.test(lines[j] ?? ''); j++) body.push(lines[j] ?? '');
    return plain(body.join('\n'));
  }
  return undefined;
}

const program = buildProgram(async () => undefined);
// commander adds its implicit `help` command lazily; it is not a subcommand of ours. Hidden
// commands (`__complete`, for the completion scripts) are not for users and have no page.
const commands = program.createHelp().visibleCommands(program).filter((c) => c.name() !== 'help');

describe('man pages', () => {
  test('the program has the subcommands this test expects to find', () => {
    assert.ok(commands.length >= 6, `only ${commands.length} subcommands: did buildProgram change?`);
  });

  test('package.json "man" lists exactly the pages in man/', () => {
    const onDisk = readdirSync(join(root, 'man'))
      .filter((f) => /\.\d$/.test(f))
      .map((f) => `man/${f}`)
      .sort();
    assert.deepEqual([...listed].sort(), onDisk);
  });

  test('every page has the sections and a .TH line naming it', () => {
    for (const entry of listed) {
      const name = entry.replace(/^man\//, '');
      const text = page(name);
      const title = name.replace(/\.\d$/, '').toUpperCase();
      assert.match(plain(text), new RegExp(`^\\.TH ${title} 1 `, 'm'), `${name}: .TH ${title} 1`);
      for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXAMPLES', 'SEE ALSO']) {
        assert.match(text, new RegExp(`^\\.SH "?${section}"?$`, 'm'), `${name} has no ${section} section`);
      }
    }
  });

  for (const command of commands) {
    const name = command.name();
    const file = `rdv-${name}.1`;
    describe(`rdv ${name}`, () => {
      test(`has ${file}, listed in package.json "man"`, () => {
        assert.ok(existsSync(join(root, 'man', file)), `man/${file} is missing`);
        assert.ok(listed.includes(`man/${file}`), `package.json "man" does not list man/${file}`);
      });

      test('its page names every long option (its subcommands\' too), and each default', () => {
        const roff = page(file);
        const text = plain(roff);
        const nested = command.commands.filter((c) => c.name() !== 'help');
        for (const sub of nested) assert.ok(text.includes(`rdv ${name} ${sub.name()}`), `${file} does not mention "rdv ${name} ${sub.name()}"`);
        for (const option of [...command.options, ...nested.flatMap((c) => c.options)]) {
          const long = option.long;
          if (!long) continue;
          assert.ok(mentions(text, long), `${file} does not mention ${long}`);
          if (option.defaultValue !== undefined) {
            const entry = entryOf(roff, long);
            assert.ok(entry !== undefined, `${file} has no .TP entry for ${long}`);
            assert.match(entry, new RegExp(`Default: ${String(option.defaultValue)}\\b`), `${file}: the entry for ${long} does not say "Default: ${String(option.defaultValue)}"`);
          }
        }
      });
    });
  }

  test('rdv.1 names every subcommand and refers to its page', () => {
    const text = plain(page('rdv.1'));
    for (const command of commands) {
      const name = command.name();
      assert.ok(text.includes(`rdv ${name}`), `rdv.1 does not mention "rdv ${name}"`);
      assert.match(text, new RegExp(`rdv-${name} ?\\(1\\)`), `rdv.1 does not refer to rdv-${name}(1)`);
    }
  });

  test('rdv.1 names every global option', () => {
    const text = plain(page('rdv.1'));
    for (const option of program.options) {
      if (option.long) assert.ok(mentions(text, option.long), `rdv.1 does not mention ${option.long}`);
    }
  });
});
