/**
 * Where the real Core Lightning and Bitcoin Core binaries are: RDV_LIGHTNINGD and
 * RDV_BITCOIND (their CLIs are looked for next to them), else PATH. Cheap: file
 * checks only, no process is started.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { err, ok, type Result } from '../errors.js';

export interface Binaries {
  lightningd: string;
  bitcoind: string;
  bitcoinCli: string;
  lightningCli: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** A daemon from its variable or PATH, and its CLI next to it (else on PATH). */
function locatePair(env: NodeJS.ProcessEnv, variable: string, daemon: string, cli: string): Result<{ daemon: string; cli: string }> {
  const given = env[variable];
  let daemonPath: string | undefined;
  if (given !== undefined && given !== '') {
    daemonPath = isAbsolute(given) ? given : resolve(given);
    if (!isExecutable(daemonPath)) return err(`${variable}=${given} is not an executable file`);
  } else {
    daemonPath = onPath(daemon, env);
    if (daemonPath === undefined) return err(`no ${daemon} (set ${variable} or put it on PATH)`);
  }
  const beside = join(dirname(daemonPath), cli);
  const cliPath = isExecutable(beside) ? beside : onPath(cli, env);
  if (cliPath === undefined) return err(`no ${cli} next to ${daemonPath} or on PATH`);
  return ok({ daemon: daemonPath, cli: cliPath });
}

/** The binaries, or one line saying what is missing and how to provide it. */
export function locateBinaries(env: NodeJS.ProcessEnv = process.env): Result<Binaries> {
  const ln = locatePair(env, 'RDV_LIGHTNINGD', 'lightningd', 'lightning-cli');
  const btc = locatePair(env, 'RDV_BITCOIND', 'bitcoind', 'bitcoin-cli');
  if (!ln.ok && !btc.ok && env.RDV_LIGHTNINGD === undefined && env.RDV_BITCOIND === undefined) {
    return err('no lightningd or bitcoind on PATH (set RDV_LIGHTNINGD and RDV_BITCOIND)');
  }
  if (!ln.ok || !btc.ok) return err([ln, btc].flatMap((r) => (r.ok ? [] : [r.error])).join('; '));
  return ok({ lightningd: ln.value.daemon, lightningCli: ln.value.cli, bitcoind: btc.value.daemon, bitcoinCli: btc.value.cli });
}

/** The binaries, or undefined (see locateBinaries for the reason). */
export function findBinaries(env: NodeJS.ProcessEnv = process.env): Binaries | undefined {
  const r = locateBinaries(env);
  return r.ok ? r.value : undefined;
}

/** Why findBinaries returns undefined, or undefined when it does not. */
export function missingBinariesReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const r = locateBinaries(env);
  return r.ok ? undefined : r.error;
}

/**
 * CLN's plugin manager, reckless (a Python script): RDV_RECKLESS, else next to
 * lightningd, else on PATH; undefined when there is none.
 */
export function findReckless(lightningd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = env.RDV_RECKLESS;
  if (given !== undefined && given !== '') {
    const path = isAbsolute(given) ? given : resolve(given);
    return isExecutable(path) ? path : undefined;
  }
  const beside = join(dirname(lightningd), 'reckless');
  return isExecutable(beside) ? beside : onPath('reckless', env);
}
