/**
 * The check of the next payees rdv pulls invoices from (issue 19): a policy's
 * offer must still be payable, and a Lightning Address's server must answer from
 * here, or every request through that policy is refused.
 */
import type { DoctorFacts } from './facts.js';
import { combine, type CheckResult, type Finding } from './results.js';

export function checkPulls(f: DoctorFacts): CheckResult {
  if (!f.pulls.ok) return combine('pull', [{ status: 'warn', message: `could not read the policies (${f.pulls.error})`, fix: 'run rdv policy list' }], '');
  const pulls = f.pulls.value;
  if (pulls.length === 0) return combine('pull', [], 'no policy pulls from an offer or a Lightning Address');
  const findings: Finding[] = [];
  for (const p of pulls) {
    if (p.reached.ok) continue;
    const what = p.source.kind === 'offer' ? 'its offer' : p.source.address;
    findings.push(
      p.source.kind === 'address'
        ? { status: 'fail', message: `policy ${p.policy}: ${p.reached.error}`, fix: `check that this machine reaches the web (https to ${what.split('@')[1] ?? what}), or ask the payee for a working address; then rdv policy remove ${p.policy} and add it again if it changed` }
        : { status: 'fail', message: `policy ${p.policy}: ${what}: ${p.reached.error}`, fix: `ask the payee for a new offer, then rdv policy remove ${p.policy} and add it again` },
    );
  }
  const ok = pulls.map((p) => `policy ${p.policy}: ${p.reached.ok ? p.reached.value : ''}`).join('; ');
  return combine('pull', findings, ok);
}
