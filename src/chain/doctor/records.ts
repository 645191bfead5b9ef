/** Checks of rdv's records: all readable, and no relay stuck holding a payment with nothing in flight. */
import { shortHash } from '../ids.js';
import { formatDuration } from '../units.js';
import { type RelayFacts, type DoctorFacts, needsRouteCheck, mayBeStuck } from './facts.js';
import { type CheckResult, good, warning, failure } from './results.js';

/** A relay in gathered/paying this long with nothing in flight is stuck (rdv retries within seconds). */
export const STUCK_AFTER_SECONDS = 60;

// --- records -----------------------------------------------------------------------------

export function checkRecords(f: DoctorFacts): CheckResult {
  if (!f.records.ok) return failure('records', `could not read rdv's records from the datastore (${f.records.error})`, 'run rdv doctor again; if it keeps failing, see lightningd\'s log');
  const { count, relays, unreadable } = f.records.value;
  if (unreadable.length > 0) {
    return warning('records', `${unreadable.length} of ${count + unreadable.length} rdv records cannot be read (${unreadable.join('; ')})`, 'the plugin skips them, so those relays do not run: see rdv status');
  }
  const open = relays.filter((r) => needsRouteCheck(r.record, f.now)).length;
  const holding = relays.filter((r) => mayBeStuck(r.record)).length;
  return good('records', `${count} rdv record(s): ${open} open relay invoice(s), ${holding} relay(s) holding a payment`);
}

// --- relays stuck in gathered/paying -----------------------------------------------------

function stuckResult(r: RelayFacts, f: DoctorFacts): CheckResult | undefined {
  const rec = r.record;
  if (r.payInFlight) return undefined;
  if (r.outgoing?.ok && r.outgoing.value === 'pending') return undefined;
  const age = f.now - rec.updatedAt;
  if (age < STUCK_AFTER_SECONDS) return undefined;
  const hash = shortHash(rec.paymentHash);
  const held = `relay ${hash} has been ${rec.state} for ${formatDuration(age)}`;
  if (r.outgoing === undefined || !r.outgoing.ok) {
    const why = r.outgoing?.ok === false ? r.outgoing.error : 'not asked';
    return { ...warning('stuck', `${held}, and listsendpays did not say whether its payment onward is pending (${why})`, `run rdv doctor again; see rdv status ${hash}`), paymentHash: rec.paymentHash };
  }
  const fix = `restart lightningd: rdv takes the record up again when lightningd replays the held HTLCs (before they expire: rdv status ${hash} shows the blocks left)`;
  if (!f.rdvStatus) {
    return { ...failure('stuck', `${held} with no payment onward pending, and rdv is not running to finish it`, `load rdv (see the rdv line above) and ${fix}`), paymentHash: rec.paymentHash };
  }
  if (r.outgoing.value === 'complete') {
    return { ...failure('stuck', `${held}: its payment onward completed, but the incoming HTLCs are not resolved`, fix), paymentHash: rec.paymentHash };
  }
  return { ...failure('stuck', `${held} with nothing in flight (payment onward: ${r.outgoing.value}, no payment of rdv running)`, `${fix}; see lightningd's log (plugin-rdv)`), paymentHash: rec.paymentHash };
}

/** One line per stuck relay, or one line saying none is. */
export function checkStuck(f: DoctorFacts): CheckResult[] {
  if (!f.records.ok) return [warning('stuck', 'stuck relays not checked: the records could not be read', 'see the records line above')];
  const holding = f.records.value.relays.filter((r) => mayBeStuck(r.record));
  const stuck = holding.map((r) => stuckResult(r, f)).filter((x): x is CheckResult => x !== undefined);
  if (stuck.length > 0) return stuck;
  return [good('stuck', holding.length === 0 ? 'no relay is holding a payment' : `${holding.length} relay(s) holding a payment, each with its payment onward in flight`)];
}
