/** Terminal text widths and cuts (src/ui/text.ts), and drawing a frame in place (src/ui/screen.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { cut, fitLine, oneLine, textWidth } from '../../src/ui/text.js';
import { redraw } from '../../src/ui/screen.js';

describe('textWidth and cut', () => {
  const widths: Array<{ description: string; given: string; expected: number }> = [
    { description: 'ASCII', given: 'settled', expected: 7 },
    { description: 'the ellipsis and the middle dot are one column each', given: '… · …', expected: 5 },
    { description: 'CJK takes two columns', given: '支払い', expected: 6 },
    { description: 'an emoji takes two', given: '⚡🙂', expected: 3 },
    { description: 'a combining accent takes none', given: 'e\u0301', expected: 1 },
  ];
  for (const c of widths) test(`${c.description}: "${c.given}" is ${c.expected}`, () => assert.equal(textWidth(c.given), c.expected));

  const cuts: Array<{ description: string; given: [string, number]; expected: string }> = [
    { description: 'a line that fits is kept', given: ['pending', 7], expected: 'pending' },
    { description: 'one column short: cut with an ellipsis', given: ['pending', 6], expected: 'pendi…' },
    { description: 'a wide character is not split', given: ['ab支払', 4], expected: 'ab…' },
    { description: 'width 1 is just the ellipsis', given: ['pending', 1], expected: '…' },
    { description: 'width 0 is nothing', given: ['pending', 0], expected: '' },
  ];
  for (const c of cuts) test(`${c.description}: ${JSON.stringify(c.given)} -> "${c.expected}"`, () => assert.equal(cut(...c.given), c.expected));

  test('oneLine turns newlines, tabs and escape codes into spaces', () => assert.equal(oneLine('a\nb\tc\u001b[2Jd\u009be'), 'a b c [2Jd e'));
});

describe('fitLine', () => {
  const c = new Chalk({ level: 1 });
  test('colours count for nothing: a coloured line that fits is whole', () => {
    assert.equal(fitLine([{ text: 'rdv', paint: c.bold }, { text: ' watch' }], 9), '\u001b[1mrdv\u001b[22m watch');
  });
  test('a cut inside a coloured segment keeps its colour codes whole and ends in an ellipsis', () => {
    assert.equal(fitLine([{ text: 'block 7 ' }, { text: 'NOT RELAYING', paint: c.red }], 12), 'block 7 \u001b[31mNOT\u001b[39m…');
  });
  test('segments after the cut are dropped', () => {
    assert.equal(fitLine([{ text: 'abcdef' }, { text: 'ghi', paint: c.red }], 4), 'abc…');
  });
});

describe('redraw', () => {
  test('the first frame clears the screen and puts each line at its row, with no newline (nothing scrolls)', () => {
    const s = redraw(undefined, ['title', 'summary']);
    assert.equal(s, '\u001b[?2026h\u001b[H\u001b[2J\u001b[1;1H\u001b[2Ktitle\u001b[2;1H\u001b[2Ksummary\u001b[?2026l');
    assert.doesNotMatch(s, /\n/);
  });
  test('the next frame rewrites only the lines that changed', () => {
    assert.equal(redraw(['title', 'a', 'summary'], ['title', 'b', 'summary']), '\u001b[?2026h\u001b[2;1H\u001b[2Kb\u001b[?2026l');
  });
  test('a shorter frame clears the rows the last one used', () => {
    assert.equal(redraw(['title', 'a', 'summary'], ['title']), '\u001b[?2026h\u001b[2;1H\u001b[2K\u001b[3;1H\u001b[2K\u001b[?2026l');
  });
});
