/**
 * Finding lightningd's RPC socket like lightning-cli (src/rpc/discover.ts), on
 * real directory trees in a temp dir, with env and cwd passed explicitly.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { discoverSocket, readConfigSettings, type DiscoverOptions, type SocketLocation } from '../../src/rpc/discover.js';
import { RdvError } from '../../src/errors.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A fresh, empty temp dir, removed after the tests. */
function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'rdv-discover-'));
  roots.push(root);
  return root;
}

interface Case {
  description: string;
  /** Files under the temp root; `$ROOT` in a value is replaced by the root. */
  files?: Record<string, string>;
  /** Options; `$ROOT` in a value is replaced by the root. */
  options?: DiscoverOptions;
  env?: Record<string, string>;
  /** cwd relative to the root (default: the root). */
  cwd?: string;
  /** Paths relative to the root. */
  expected: { socketPath: string; network: SocketLocation['network']; baseDir?: string };
}

const sub = (text: string, root: string): string => text.replaceAll('$ROOT', root);

describe('discoverSocket: where lightning-cli would connect', () => {
  const cases: Case[] = [
    { description: 'by default, $HOME/.lightning/bitcoin/lightning-rpc', expected: { socketPath: 'home/.lightning/bitcoin/lightning-rpc', network: 'bitcoin', baseDir: 'home/.lightning' } },
    { description: '--network regtest picks the regtest directory', options: { network: 'regtest' }, expected: { socketPath: 'home/.lightning/regtest/lightning-rpc', network: 'regtest' } },
    { description: '--network testnet4', options: { network: 'testnet4' }, expected: { socketPath: 'home/.lightning/testnet4/lightning-rpc', network: 'testnet4' } },
    { description: 'network= in <dir>/config', files: { 'home/.lightning/config': 'alias=bob\nnetwork=testnet\n' }, expected: { socketPath: 'home/.lightning/testnet/lightning-rpc', network: 'testnet' } },
    { description: 'spaces around = in the config', files: { 'home/.lightning/config': 'network = signet\n' }, expected: { socketPath: 'home/.lightning/signet/lightning-rpc', network: 'signet' } },
    { description: 'a `regtest` flag line in the config', files: { 'home/.lightning/config': 'log-level=debug\nregtest\n' }, expected: { socketPath: 'home/.lightning/regtest/lightning-rpc', network: 'regtest' } },
    { description: 'a `signet` flag line in the config', files: { 'home/.lightning/config': 'signet\n' }, expected: { socketPath: 'home/.lightning/signet/lightning-rpc', network: 'signet' } },
    { description: 'a `mainnet` flag line means bitcoin', files: { 'home/.lightning/config': 'mainnet\n' }, expected: { socketPath: 'home/.lightning/bitcoin/lightning-rpc', network: 'bitcoin' } },
    { description: 'a commented-out network is ignored', files: { 'home/.lightning/config': '# regtest\n#network=signet\n' }, expected: { socketPath: 'home/.lightning/bitcoin/lightning-rpc', network: 'bitcoin' } },
    { description: 'a trailing comment is ignored', files: { 'home/.lightning/config': 'network=signet # was regtest\n' }, expected: { socketPath: 'home/.lightning/signet/lightning-rpc', network: 'signet' } },
    { description: 'CRLF line endings', files: { 'home/.lightning/config': 'alias=bob\r\nregtest\r\n' }, expected: { socketPath: 'home/.lightning/regtest/lightning-rpc', network: 'regtest' } },
    { description: '--network beats the config', files: { 'home/.lightning/config': 'network=testnet\n' }, options: { network: 'regtest' }, expected: { socketPath: 'home/.lightning/regtest/lightning-rpc', network: 'regtest' } },
    {
      description: 'rpc-file in <dir>/<network>/config, relative to the network directory',
      files: { 'home/.lightning/config': 'regtest\n', 'home/.lightning/regtest/config': 'rpc-file=bob-rpc\n' },
      expected: { socketPath: 'home/.lightning/regtest/bob-rpc', network: 'regtest' },
    },
    {
      description: 'an absolute rpc-file in <dir>/<network>/config',
      files: { 'home/.lightning/regtest/config': 'rpc-file=$ROOT/run/bob.sock\n' },
      options: { network: 'regtest' },
      expected: { socketPath: 'run/bob.sock', network: 'regtest' },
    },
    {
      description: "another network's config is not read",
      files: { 'home/.lightning/testnet/config': 'rpc-file=testnet-rpc\n' },
      options: { network: 'regtest' },
      expected: { socketPath: 'home/.lightning/regtest/lightning-rpc', network: 'regtest' },
    },
    {
      description: 'rpc-file in <dir>/config applies when the network config has none',
      files: { 'home/.lightning/config': 'regtest\nrpc-file=base-rpc\n' },
      expected: { socketPath: 'home/.lightning/regtest/base-rpc', network: 'regtest' },
    },
    {
      description: 'the network config rpc-file beats the base config one',
      files: { 'home/.lightning/config': 'regtest\nrpc-file=base-rpc\n', 'home/.lightning/regtest/config': 'rpc-file=net-rpc\n' },
      expected: { socketPath: 'home/.lightning/regtest/net-rpc', network: 'regtest' },
    },
    {
      description: 'an absolute --rpc-file wins over everything',
      files: { 'home/.lightning/config': 'regtest\nrpc-file=base-rpc\n', 'home/.lightning/regtest/config': 'rpc-file=net-rpc\n' },
      options: { rpcFile: '$ROOT/elsewhere/lightning-rpc' },
      expected: { socketPath: 'elsewhere/lightning-rpc', network: 'regtest' },
    },
    {
      description: 'a relative --rpc-file is in the network directory, and beats the config',
      files: { 'home/.lightning/regtest/config': 'rpc-file=net-rpc\n' },
      options: { network: 'regtest', rpcFile: 'mine' },
      expected: { socketPath: 'home/.lightning/regtest/mine', network: 'regtest' },
    },
    {
      description: 'an absolute --lightning-dir',
      files: { 'nodes/bob/config': 'regtest\n' },
      options: { lightningDir: '$ROOT/nodes/bob' },
      expected: { socketPath: 'nodes/bob/regtest/lightning-rpc', network: 'regtest', baseDir: 'nodes/bob' },
    },
    {
      description: 'a relative --lightning-dir is resolved against the working directory, config included',
      files: { 'work/nodes/bob/config': 'network=signet\n' },
      options: { lightningDir: 'nodes/bob' },
      cwd: 'work',
      expected: { socketPath: 'work/nodes/bob/signet/lightning-rpc', network: 'signet', baseDir: 'work/nodes/bob' },
    },
    {
      description: 'LIGHTNING_DIR is used when there is no --lightning-dir',
      files: { 'env-dir/config': 'regtest\n' },
      env: { LIGHTNING_DIR: '$ROOT/env-dir' },
      expected: { socketPath: 'env-dir/regtest/lightning-rpc', network: 'regtest', baseDir: 'env-dir' },
    },
    {
      description: '--lightning-dir beats LIGHTNING_DIR',
      files: { 'env-dir/config': 'regtest\n', 'flag-dir/config': 'signet\n' },
      options: { lightningDir: '$ROOT/flag-dir' },
      env: { LIGHTNING_DIR: '$ROOT/env-dir' },
      expected: { socketPath: 'flag-dir/signet/lightning-rpc', network: 'signet', baseDir: 'flag-dir' },
    },
    {
      description: '--conf reads that file instead of <dir>/config, including its lightning-dir',
      files: { 'home/.lightning/config': 'network=testnet\n', 'bob.conf': 'lightning-dir=$ROOT/conf-dir\nregtest\nrpc-file=conf-rpc\n' },
      options: { conf: 'bob.conf' },
      expected: { socketPath: 'conf-dir/regtest/conf-rpc', network: 'regtest', baseDir: 'conf-dir' },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const root = tree();
      for (const [path, text] of Object.entries(c.files ?? {})) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), sub(text, root));
      }
      const options = Object.fromEntries(Object.entries(c.options ?? {}).map(([k, v]) => [k, sub(String(v), root)])) as DiscoverOptions;
      const env = { HOME: join(root, 'home'), ...Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, sub(v, root)])) };
      const cwd = join(root, c.cwd ?? '');
      mkdirSync(cwd, { recursive: true });
      const found = discoverSocket(options, env, cwd);
      assert.equal(found.socketPath, join(root, c.expected.socketPath));
      assert.equal(found.network, c.expected.network);
      assert.equal(found.netDir, join(found.baseDir, found.network));
      if (c.expected.baseDir !== undefined) {
        assert.equal(found.baseDir, join(root, c.expected.baseDir));
        assert.equal(found.netDir, join(root, c.expected.baseDir, c.expected.network));
      }
    });
  }

  const refused: Array<{ description: string; options: DiscoverOptions; error: RegExp }> = [
    { description: 'an unknown --network is bad usage and lists the networks', options: { network: 'litecoin' }, error: /^unknown network "litecoin": use bitcoin, testnet, testnet4, signet or regtest$/ },
    { description: '"mainnet" is a config flag, not a --network value', options: { network: 'mainnet' }, error: /unknown network "mainnet"/ },
    { description: 'a --conf file that cannot be read is bad usage', options: { conf: 'missing.conf' }, error: /^cannot read config file missing\.conf$/ },
  ];
  for (const c of refused) {
    test(c.description, () => {
      const root = tree();
      assert.throws(
        () => discoverSocket(c.options, { HOME: root }, root),
        (e: unknown) => e instanceof RdvError && e.kind === 'usage' && e.exitCode === 2 && c.error.test(e.message),
      );
    });
  }
});

describe('readConfigSettings: the lines that matter for finding the socket', () => {
  const cases: Array<{ description: string; given: string; expected: ReturnType<typeof readConfigSettings> }> = [
    { description: 'an empty file', given: '', expected: {} },
    { description: 'unrelated options', given: 'alias=bob\nlog-level=debug\nbind-addr=127.0.0.1:19847\n', expected: {} },
    { description: 'network, rpc-file and lightning-dir', given: 'network=regtest\nrpc-file=r\nlightning-dir=/srv/ln\n', expected: { network: 'regtest', rpcFile: 'r', lightningDir: '/srv/ln' } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(readConfigSettings(c.given), c.expected));
});
