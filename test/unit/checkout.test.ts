// What the tests read must be in git: CI runs on a clean clone, so a fixture
// that .gitignore hides (the lightningd logs under test/fixtures are *.log)
// passes here and fails there. Outside a git checkout there is nothing to ask.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/paths.js';

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

const inGit = existsSync(join(ROOT, '.git')) && git(['rev-parse', '--is-inside-work-tree'])?.trim() === 'true';

test('no file under src/, test/, bench/, bin/, man/ or scripts/ is hidden from git by .gitignore', { skip: inGit ? false : 'not a git checkout (or no git on PATH): nothing to check' }, () => {
  const hidden = git(['ls-files', '--others', '--ignored', '--exclude-standard', '--', 'src', 'test', 'bench', 'bin', 'man', 'scripts']);
  assert.notEqual(hidden, undefined, 'git ls-files failed');
  assert.deepEqual(hidden?.split('\n').filter((l) => l !== ''), []);
});
