/**
 * The rdv plugin's options: what it declares to lightningd (getmanifest), and
 * how init's values are taken (a bad one is replaced by its default and said
 * loudly, never a reason to stop relaying).
 */
import { inboxOptions } from '../../chain/inbox.js';
import { pruneAfterOption } from '../../chain/prune.js';
import type { InitConfig, LogLevel, PluginOption } from '../../rpc/plugin.js';
import type { State } from './state.js';

export const OPTIONS: PluginOption[] = [
  {
    name: 'rdv-mpp-timeout',
    type: 'int',
    default: 60,
    description: 'Seconds rdv holds an incomplete multi-part payment before failing it (mpp_timeout)',
  },
  {
    name: 'rdv-inbox-from',
    type: 'string',
    default: 'peers',
    description: 'Who may pass invoices back into our inbox: peers (channel peers and nodes added with rdv trust add) or anyone',
  },
  { name: 'rdv-inbox-per-peer', type: 'int', default: 20, description: 'Unjoined invoices one peer may hold in our inbox' },
  { name: 'rdv-inbox-max', type: 'int', default: 200, description: 'Unjoined invoices the inbox holds in all' },
  {
    name: 'rdv-prune-after',
    type: 'string',
    default: 'off',
    description: 'Remove finished rdv records this long after they ended (e.g. 30d), at start and then daily, keeping an archive entry of each (like rdv prune); off by default',
  },
];

/** The inbox and prune options, into `state` (at init, before setup). */
export function takeOptions(state: State, config: InitConfig, log: (level: LogLevel, message: string) => void): void {
  // A bad inbox option must not disable rdv: lightningd drops even an important
  // plugin that disables itself at init, quietly (plugin_config_cb), and the
  // relays would go with it. Use the safe defaults and say so loudly instead.
  const inbox = inboxOptions(config.options['rdv-inbox-from'], config.options['rdv-inbox-per-peer'], config.options['rdv-inbox-max']);
  if (inbox.ok) state.inboxConfig = inbox.value;
  else {
    state.inboxProblem = `${inbox.error}; using rdv-inbox-from=peers, rdv-inbox-per-peer=20, rdv-inbox-max=200`;
    setImmediate(() => log('error', state.inboxProblem ?? ''));
  }
  // Same for rdv-prune-after: a bad value means no pruning, said loudly.
  const prune = pruneAfterOption(config.options['rdv-prune-after']);
  if (prune.ok) state.pruneAfter = prune.value;
  else {
    state.pruneProblem = `${prune.error}; not pruning (rdv-prune-after=off)`;
    setImmediate(() => log('error', state.pruneProblem ?? ''));
  }
}

/** rdv-mpp-timeout in seconds (read at setup). */
export function mppTimeoutSeconds(config: InitConfig): number {
  return typeof config.options['rdv-mpp-timeout'] === 'number' ? config.options['rdv-mpp-timeout'] : 60;
}
