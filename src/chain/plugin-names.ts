/**
 * How lightningd names rdv's plugins: `plugin list` gives each plugin's real
 * path, and a manifest's `before`/`after` name matches a plugin whose
 * executable's basename is exactly that name (lightningd/plugin.c
 * plugin_paths_match). Pure.
 */
export const RDV_PLUGIN_NAME = 'rdv';
export const GUARD_PLUGIN_NAME = 'rdv-guard';

export const isRdvPlugin = (path: string): boolean => /(^|\/)rdv$/.test(path);
export const isGuardPlugin = (path: string): boolean => /(^|\/)rdv-guard$/.test(path);
