/**
 * Real CLN (regtest): CLN's plugin manager installs rdv, as README's
 * "Installing with reckless" says. Two nodes, neither loading rdv at start:
 *
 *   alice (running)   reckless install http://127.0.0.1:<port>/rdv   a git URL (a bare clone of this
 *                     repository's HEAD served over loopback), so reckless clones it, runs
 *                     `npm install --omit=dev` (prepare builds dist/ without dev dependencies),
 *                     tests the entry, starts it in lightningd and writes plugin= into its config;
 *                     then the two important-plugin= lines README gives, and a restart.
 *   bob (stopped)     reckless install <a clone named rdv>: no lightningd to start it in, so it is
 *                     only written into the config; bob's next start loads it.
 *
 * reckless: RDV_RECKLESS, else next to lightningd, else PATH. It needs python3, git and npm
 * (the registry, or npm's cache: npm_config_prefer_offline is set). Skipped with one line
 * without them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Reader } from '../../src/chain/read.js';
import { findReckless } from '../../src/regtest/binaries.js';
import type { RegtestNode } from '../../src/regtest/lightningd.js';
import { freePort, killHard, poll, runCommand, startProcess, type Spawned } from '../../src/regtest/process.js';
import { ROOT } from '../helpers/paths.js';
import { e2eBinaries, KEEP, rdvJson, regtestNetwork } from './lib.js';

const { bins, skip: noCln } = e2eBinaries();
const reckless = bins ? findReckless(bins.lightningd) : undefined;
const has = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const missingTool = ['python3', 'git', 'npm'].find((t) => !has(t));
const skip = noCln || (reckless === undefined ? 'no reckless (set RDV_RECKLESS, or put it next to lightningd)' : missingTool ? `no ${missingTool}` : false);

/** reckless installs can take a while: npm install, then TypeScript. */
const INSTALL_MS = 300_000;

let scratch = '';
let server: Spawned | undefined;
let url = '';
const { node } = regtestNetwork({
  nodes: [{ name: 'alice', rdv: 'none' }, { name: 'bob', rdv: 'none' }],
  skip,
  then: (rt) => {
    for (const n of rt.nodes) {
      // reckless adds an include line to the network's config, and asks on a terminal if it is missing.
      mkdirSync(join(n.dir, 'regtest'), { recursive: true });
      if (!existsSync(join(n.dir, 'regtest', 'config'))) writeFileSync(join(n.dir, 'regtest', 'config'), '# regtest config\n');
    }
  },
});

/** The plugin reckless installs, and the guard inside it (README). */
const rdvEntry = (n: RegtestNode): string => join(n.dir, 'reckless', 'rdv', 'rdv');
const guardEntry = (n: RegtestNode): string => join(n.dir, 'reckless', 'rdv', 'source', 'rdv', 'bin', 'rdv-guard');

async function runReckless(n: RegtestNode, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, LIGHTNING_CLI: bins?.lightningCli ?? 'lightning-cli', npm_config_prefer_offline: 'true', LIGHTNINGD_PLUGIN: '' };
  return runCommand(reckless ?? 'reckless', ['--lightning', n.dir, '--network', 'regtest', ...args], INSTALL_MS, env);
}

/**
 * README's recipe, word for word after its two assignments: every line of the reckless
 * config about rdv replaced by important-plugin= for rdv and for rdv-guard (lightningd
 * refuses to start when a plugin is named twice, so reckless's plugin= line must go).
 */
const IMPORTANT_RECIPE = `grep -v "$dir/" "$conf" > "$conf.new"
printf 'important-plugin=%s\\n' "$dir/rdv" "$dir/source/rdv/bin/rdv-guard" >> "$conf.new"
mv "$conf.new" "$conf"`;

async function makeImportant(n: RegtestNode): Promise<void> {
  const r = spawnSync('sh', ['-c', IMPORTANT_RECIPE], {
    encoding: 'utf8',
    env: { ...process.env, conf: join(n.dir, 'reckless', 'regtest-reckless.conf'), dir: join(n.dir, 'reckless', 'rdv') },
  });
  assert.equal(r.status, 0, r.stderr);
}

async function pluginsImportant(n: RegtestNode): Promise<void> {
  const status = await rdvJson(n, ['status']);
  const plugin = status.obj('plugin');
  assert.deepEqual(
    { rdv: [plugin.bool('loaded'), plugin.bool('important')], guard: [plugin.obj('guard').bool('loaded'), plugin.obj('guard').bool('important')] },
    { rdv: [true, true], guard: [true, true] },
    `rdv status on ${n.name}: ${JSON.stringify(status.value)}`,
  );
  assert.deepEqual(status.strings('warnings'), []);
  // the relay answers as rdv does, so it is the plugin working, not just a process
  assert.equal(Reader.of(await n.rpc.call('rdv-status', {}), 'rdv-status').bool('relaying'), true);
}

async function pluginList(n: RegtestNode): Promise<Array<{ name: string; active: boolean }>> {
  return Reader.of(await n.rpc.call('plugin', { subcommand: 'list' }), 'plugin list')
    .objects('plugins')
    .map((p) => ({ name: p.str('name'), active: p.optBool('active') ?? false }));
}

before(async () => {
  if (skip || !bins) return;
  scratch = mkdtempSync(join(tmpdir(), 'rdv-reckless-'));
  // What is installed is this repository's HEAD, as a clone or fetch would give it.
  const served = join(scratch, 'http');
  mkdirSync(served);
  const git = (args: string[]): void => {
    const r = spawnSync('git', args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  };
  git(['clone', '--quiet', '--bare', ROOT, join(served, 'rdv')]);
  git(['-C', join(served, 'rdv'), 'update-server-info']);
  git(['clone', '--quiet', ROOT, join(scratch, 'clone', 'rdv')]);
  const port = await freePort();
  server = startProcess('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', served, String(port)], join(scratch, 'http.log'));
  url = `http://127.0.0.1:${port}/rdv`;
  await poll('the git http server', async () => ((await runCommand('git', ['ls-remote', url], 5_000)).code === 0 ? true : undefined), 10_000, 100);
});

after(async () => {
  if (server) await killHard(server);
  if (scratch && !KEEP) rmSync(scratch, { recursive: true, force: true });
});

describe('reckless installs rdv', { skip }, () => {
  test('from a git URL into a running lightningd: built without dev dependencies, tested, started, written into the config', { timeout: INSTALL_MS + 60_000 }, async () => {
    const alice = node('alice');
    const r = await runReckless(alice, ['install', url]);
    assert.equal(r.code, 0, `reckless install ${url}:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /rdv enabled/);
    assert.ok(existsSync(join(alice.dir, 'reckless', 'rdv', 'source', 'rdv', 'dist', 'src', 'cli.js')), 'dist/ was not built');
    const plugins = await pluginList(alice);
    assert.ok(
      plugins.some((p) => p.active && /\/rdv$/.test(p.name)),
      `rdv is not running in lightningd: ${plugins.map((p) => p.name).join(', ')}`,
    );
    assert.match(readFileSync(join(alice.dir, 'reckless', 'regtest-reckless.conf'), 'utf8'), new RegExp(`^plugin=${rdvEntry(alice)}$`, 'm'));
  });

  test('rdv status says what to change; with README\'s recipe and a restart, rdv and rdv-guard run as important plugins', { timeout: 120_000 }, async () => {
    const alice = node('alice');
    const before = await rdvJson(alice, ['status']);
    assert.ok(
      before.strings('warnings').some((w) => w.includes(`reckless wrote plugin=${rdvEntry(alice)}`) && w.includes(`important-plugin=${guardEntry(alice)}`)),
      `rdv status warnings: ${before.strings('warnings').join(' / ')}`,
    );
    await makeImportant(alice);
    await alice.restart();
    await pluginsImportant(alice);
  });

  test('from a clone while lightningd is stopped: written into the config, loaded at the next start', { timeout: INSTALL_MS + 60_000 }, async () => {
    const bob = node('bob');
    await bob.stop();
    const r = await runReckless(bob, ['install', join(scratch, 'clone', 'rdv')]);
    assert.equal(r.code, 0, `reckless install <clone>:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /lightningd rpc unavailable/);
    await bob.start();
    const plugins = await pluginList(bob);
    assert.ok(
      plugins.some((p) => p.active && /\/rdv$/.test(p.name)),
      `rdv is not running in lightningd: ${plugins.map((p) => p.name).join(', ')}`,
    );
  });

  test('reckless update rdv (lightningd stopped) writes plugin= again next to important-plugin=, which lightningd refuses; the recipe run again makes both important', { timeout: INSTALL_MS + 60_000 }, async () => {
    const bob = node('bob');
    await bob.stop();
    await makeImportant(bob);
    const r = await runReckless(bob, ['update', 'rdv']);
    assert.equal(r.code, 0, `reckless update rdv:\n${r.stdout}\n${r.stderr}`);
    const conf = readFileSync(join(bob.dir, 'reckless', 'regtest-reckless.conf'), 'utf8');
    // Both lines name one plugin, and lightningd refuses to start.
    assert.match(conf, new RegExp(`^plugin=${rdvEntry(bob)}$`, 'm'));
    assert.match(conf, new RegExp(`^important-plugin=${rdvEntry(bob)}$`, 'm'));
    await assert.rejects(bob.start(), /Failed to register/);
    await makeImportant(bob);
    await bob.start();
    await pluginsImportant(bob);
  });
});
