/**
 * Checks of lightningd itself: a CLN rdv runs on, the RPC commands rdv cannot
 * work without, and whether other payees can reach it to pass invoices back.
 */
import { isSupportedVersion, MIN_CLN_VERSION_TEXT, parseClnVersion } from '../cln-version.js';
import type { NodeAddress } from '../node-facts.js';
import { REQUIRED_COMMANDS, type RequiredCommand, type DoctorFacts } from './facts.js';
import { type CheckResult, good, warning, failure, type Finding, combine } from './results.js';

// --- CLN version -------------------------------------------------------------------------

export function checkClnVersion(f: DoctorFacts): CheckResult {
  if (!f.node.ok) return failure('cln-version', `lightningd did not say its version (getinfo: ${f.node.error})`, "see lightningd's log, then run rdv doctor again");
  const v = f.node.value.version;
  if (isSupportedVersion(v)) return good('cln-version', `CLN ${v} (>= ${MIN_CLN_VERSION_TEXT})`);
  const why = parseClnVersion(v) ? `CLN ${v} is older than ${MIN_CLN_VERSION_TEXT}` : `CLN version "${v}" is not one rdv can read, so rdv does not relay on it`;
  return failure('cln-version', why, `upgrade lightningd to ${MIN_CLN_VERSION_TEXT} or newer: rdv needs signinvoice, xpay with maxdelay and decode`);
}

// --- RPC commands ------------------------------------------------------------------------

const COMMAND_FIX: Record<RequiredCommand, string> = {
  signinvoice: `upgrade lightningd to ${MIN_CLN_VERSION_TEXT} or newer`,
  xpay: "enable CLN's xpay plugin: remove disable-plugin=cln-xpay from lightningd's config and restart it",
  getroutes: "enable CLN's askrene plugin: remove disable-plugin=cln-askrene from lightningd's config and restart it",
};

export function checkCommands(f: DoctorFacts): CheckResult {
  const missing = REQUIRED_COMMANDS.filter((c) => f.commands[c].ok && !f.commands[c].value);
  const unknown = REQUIRED_COMMANDS.filter((c) => !f.commands[c].ok);
  const findings: Finding[] = [];
  if (missing.length > 0) {
    findings.push({ status: 'fail', message: `lightningd has no ${missing.join(', ')} command: rdv cannot sign relay invoices, pay onward or find routes without them`, fix: missing.map((c) => COMMAND_FIX[c]).join('; ') });
  }
  for (const c of unknown) {
    const fact = f.commands[c];
    findings.push({ status: 'warn', message: `could not ask lightningd about ${c} (${fact.ok ? '' : fact.error})`, fix: 'run rdv doctor again' });
  }
  return combine('commands', findings, `${REQUIRED_COMMANDS.join(', ')} are available`);
}

// --- reachable for pass-back --------------------------------------------------------

const LOOPBACK = /^(127\.|::1$|localhost$)/;

function formatAddress(a: NodeAddress): string {
  const host = a.type === 'ipv6' ? `[${a.address ?? ''}]` : (a.address ?? a.type);
  return a.port === undefined ? host : `${host}:${a.port}`;
}

export function checkReachable(f: DoctorFacts): CheckResult {
  if (!f.node.ok) return warning('reachable', 'not checked: lightningd did not say where it listens', 'see the CLN line above');
  const { addresses, bindings, network } = f.node.value;
  if (addresses.length > 0) return good('reachable', `announced at ${addresses.map(formatAddress).join(', ')}: other payees can connect to pass invoices back`);
  const listening = bindings.filter((b) => b.type !== 'local socket' && b.address !== undefined);
  const open = listening.filter((b) => !LOOPBACK.test(b.address ?? ''));
  if (open.length > 0) {
    return warning(
      'reachable',
      `listening on ${open.map(formatAddress).join(', ')} but announcing no address: the next payee can pass an invoice back only if you give it your address (rdv pass-back --to <your node id>@host:port) or it is connected to you already`,
      "set announce-addr=<your public host:port> in lightningd's config (it is announced once you have a public channel)",
    );
  }
  if (listening.length > 0) {
    const where = listening.map(formatAddress).join(', ');
    if (network === 'regtest') return good('reachable', `listening on ${where} only (fine on regtest)`);
    return warning('reachable', `listening only on ${where}: nodes on other machines cannot connect to pass invoices back`, "set addr=<host:port> on a reachable interface, and announce-addr=, in lightningd's config");
  }
  return warning('reachable', 'lightningd listens for no peer connections: other payees can pass invoices back only over a connection your node opened', "set addr=<host:port> in lightningd's config");
}
