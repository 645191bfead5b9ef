/**
 * Checks of the plugins: rdv and rdv-guard each loaded once, as important
 * plugins, answering and of this rdv's version; their order in the
 * htlc_accepted hook chain. A failure names the config line to add.
 */
import { isGuardPlugin, isRdvPlugin } from '../plugin-names.js';
import type { DoctorFacts } from './facts.js';
import { type CheckResult, good, warning, failure, type Finding, combine } from './results.js';

const configLine = (path: string): string => `important-plugin=${path}`;

/** The config line for rdv: the loaded one, else the one next to the loaded rdv-guard, else this rdv. */
function rdvLine(f: DoctorFacts): string {
  const loaded = f.plugins.ok ? f.plugins.value.loaded : [];
  const rdv = loaded.find((p) => isRdvPlugin(p.path))?.path;
  const guard = loaded.find((p) => isGuardPlugin(p.path))?.path;
  return configLine(rdv ?? guard?.replace(/rdv-guard$/, 'rdv') ?? f.rdv.executable);
}

/** The config line for rdv-guard: the loaded one, else the one installed next to the loaded rdv, else next to this rdv. */
function guardLine(f: DoctorFacts): string {
  const loaded = f.plugins.ok ? f.plugins.value.loaded : [];
  const rdv = loaded.find((p) => isRdvPlugin(p.path))?.path;
  const guard = loaded.find((p) => isGuardPlugin(p.path))?.path;
  return configLine(guard ?? rdv?.replace(/rdv$/, 'rdv-guard') ?? f.rdv.guardExecutable);
}

const duplicates = (name: string, paths: string[]): Finding => ({
  status: 'fail',
  message: `${paths.length} plugins named ${name} are loaded (${paths.join(', ')}): lightningd hands the same HTLCs to each`,
  fix: "keep one: remove the others from lightningd's config and restart it",
});

export function checkRdvPlugin(f: DoctorFacts): CheckResult {
  if (!f.plugins.ok) return failure('rdv-plugin', `lightningd did not list its plugins (${f.plugins.error})`, 'run rdv doctor again; if it keeps failing, restart lightningd');
  const rdvs = f.plugins.value.loaded.filter((p) => isRdvPlugin(p.path));
  const plugin = rdvs[0];
  if (!plugin) {
    return failure(
      'rdv-plugin',
      'the rdv plugin is not loaded in lightningd: nothing relays payments to your rdv invoices',
      `add ${rdvLine(f)} and ${guardLine(f)} to lightningd's config and restart it (rdv watch --start loads them until the next restart)`,
    );
  }
  const findings: Finding[] = [];
  if (rdvs.length > 1) findings.push(duplicates('rdv', rdvs.map((p) => p.path)));
  const status = f.rdvStatus;
  if (!plugin.active) {
    findings.push({ status: 'warn', message: 'rdv is loaded but has not finished starting', fix: "run rdv doctor again in a moment; if it stays so, see lightningd's log (plugin-rdv)" });
  } else if (!status) {
    findings.push({ status: 'fail', message: 'rdv is loaded but did not answer rdv-status', fix: "see lightningd's log (plugin-rdv), then restart lightningd" });
  } else if (!status.relaying) {
    findings.push({ status: 'fail', message: `rdv is loaded but not relaying: ${status.reason ?? 'it does not say why'}`, fix: "fix what lightningd's log says (plugin-rdv), then restart lightningd" });
  }
  if (!f.plugins.value.important.some(isRdvPlugin)) {
    findings.push({
      status: 'warn',
      message: 'rdv is loaded as an ordinary plugin: if it dies, lightningd goes on without it',
      fix: `load it with ${rdvLine(f)} so that lightningd stops and replays held HTLCs to it`,
    });
  }
  if (status?.version !== undefined && status.version !== f.rdv.version) {
    findings.push({ status: 'warn', message: `lightningd runs rdv ${status.version}, this is rdv ${f.rdv.version}`, fix: 'restart lightningd to load the rdv you installed' });
  }
  const named = status?.version === undefined ? 'rdv' : `rdv ${status.version}`;
  return combine('rdv-plugin', findings, `${named} loaded as an important plugin and relaying (${plugin.path})`);
}

export function checkGuardPlugin(f: DoctorFacts): CheckResult {
  if (!f.plugins.ok) return failure('guard-plugin', `lightningd did not list its plugins (${f.plugins.error})`, 'run rdv doctor again; if it keeps failing, restart lightningd');
  const guards = f.plugins.value.loaded.filter((p) => isGuardPlugin(p.path));
  const plugin = guards[0];
  if (!plugin) {
    return failure(
      'guard-plugin',
      'rdv-guard is not loaded: if rdv dies while holding HTLCs, lightningd fails them while the payment onward may still go through, and you lose that money',
      `add ${guardLine(f)} to lightningd's config and restart it`,
    );
  }
  const findings: Finding[] = [];
  if (guards.length > 1) findings.push(duplicates('rdv-guard', guards.map((p) => p.path)));
  if (!f.plugins.value.important.some(isGuardPlugin)) {
    findings.push({ status: 'warn', message: 'rdv-guard is loaded as an ordinary plugin: if it dies, lightningd goes on without it', fix: `load it with ${guardLine(f)}` });
  }
  if (plugin.active && !f.guardStatus) {
    findings.push({ status: 'warn', message: 'rdv-guard is loaded but did not answer rdv-guard-status', fix: "see lightningd's log (plugin-rdv-guard), then restart lightningd" });
  }
  const version = f.guardStatus?.version;
  if (version !== undefined && version !== f.rdv.version) {
    findings.push({ status: 'warn', message: `lightningd runs rdv-guard ${version}, this is rdv ${f.rdv.version}`, fix: 'restart lightningd to load the rdv-guard installed next to rdv' });
  }
  return combine('guard-plugin', findings, `rdv-guard loaded as an important plugin (${plugin.path})`);
}

/**
 * No RPC shows the htlc_accepted chain. lightningd orders it by each hook's
 * `before`/`after` (rdv: before rdv-guard; rdv-guard: after rdv), names that
 * match a plugin whose real path has exactly that basename, and otherwise by
 * load order (lightningd/plugin_hook.c plugin_hook_make_ordered). `plugin list`
 * gives the real paths in load order, so the names and that order are what
 * can be checked here.
 */
export function checkHookOrder(f: DoctorFacts): CheckResult {
  if (!f.plugins.ok) return warning('hook-order', 'hook order not checked: lightningd did not list its plugins', 'run rdv doctor again');
  const loaded = f.plugins.value.loaded;
  const rdvAt = loaded.findIndex((p) => isRdvPlugin(p.path));
  const guardAt = loaded.findIndex((p) => isGuardPlugin(p.path));
  const once = loaded.filter((p) => isRdvPlugin(p.path)).length === 1 && loaded.filter((p) => isGuardPlugin(p.path)).length === 1;
  if (rdvAt < 0 || guardAt < 0 || !once) {
    return warning('hook-order', 'hook order not checked: it needs rdv and rdv-guard loaded, once each', 'load both (see the lines above)');
  }
  if (rdvAt < guardAt) return good('hook-order', 'rdv comes before rdv-guard in the htlc_accepted hook chain (loaded first, and their hooks say so)');
  return good('hook-order', "rdv comes before rdv-guard in the htlc_accepted hook chain: rdv-guard was loaded first, but lightningd orders the chain by the hooks' before/after, which name rdv and rdv-guard");
}
