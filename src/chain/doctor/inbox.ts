/** The check of the pass-back inbox: running, and not full or nearly. */
import type { DoctorFacts } from './facts.js';
import { type CheckResult, warning, type Finding, combine } from './results.js';

/** Warn when the inbox holds this share of its maximum (in percent). */
export const INBOX_WARN_PERCENT = 80;

export function checkInbox(f: DoctorFacts): CheckResult {
  const max = f.rdvStatus?.inboxMax;
  if (!f.rdvStatus) return warning('inbox', 'inbox not checked: rdv did not answer rdv-status', 'load rdv (see the rdv line above)');
  if (max === undefined) return warning('inbox', 'the inbox is not running (rdv is not relaying)', 'see the rdv line above');
  if (!f.inboxExpiries.ok) return warning('inbox', `could not read the inbox (${f.inboxExpiries.error})`, 'run rdv doctor again');
  const stored = f.inboxExpiries.value.length;
  // Expired entries do not count: the plugin removes them when the next invoice arrives.
  const live = f.inboxExpiries.value.filter((t) => t > f.now).length;
  const expired = stored > live ? ` (and ${stored - live} expired, removed when the next one arrives)` : '';
  const text = `the inbox holds ${live} of at most ${max} unexpired invoices${expired}`;
  const fix = "join the ones you relay (rdv join --from-inbox), let the others expire, or raise rdv-inbox-max in lightningd's config";
  const findings: Finding[] = [];
  if (f.rdvStatus.inboxProblem) findings.push({ status: 'warn', message: `plugin option: ${f.rdvStatus.inboxProblem}`, fix: "correct the rdv-inbox-* lines in lightningd's config and restart it" });
  if (live >= max) findings.push({ status: 'fail', message: `${text}: it is full, so invoices passed back to you are refused`, fix });
  else if (live * 100 >= max * INBOX_WARN_PERCENT) findings.push({ status: 'warn', message: `${text}: nearly full`, fix });
  return combine('inbox', findings, text);
}
