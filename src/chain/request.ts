/**
 * Invoice requests (on-demand chains), the part that is arithmetic on time and
 * hops: whether a request may still be answered, what a relay's own request to
 * the next payee carries, and how a refusal names where it came from. Pure.
 *
 * A request names a deadline (Unix seconds, when the asker stops waiting) and a
 * hop budget (how many more nodes it may travel past the receiver). A relay asks
 * on with one hop less and a deadline HOP_MARGIN_SECONDS earlier, so it still
 * has time to join the answer and answer its asker; two relays whose policies
 * point at each other therefore stop asking after at most `hops` rounds.
 */
import { shortHash, type NodeId } from './ids.js';
import { err, ok, type Result } from '../errors.js';

/** Hops a request may travel past the first payee's next node (rdv-request's default). */
export const DEFAULT_REQUEST_HOPS = 8;
/** A relay never asks on with more hops than this, whatever it was given. */
export const MAX_REQUEST_HOPS = 16;
/** Each relay's own request ends this much before its asker's: time to join the answer and answer. */
export const HOP_MARGIN_SECONDS = 2;
/** A relay waits at most this long for the next payee, whatever deadline it was given. */
export const MAX_REQUEST_WAIT_SECONDS = 60;
/** rdv-request's default time to answer. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
/** rdv-request's time to answer, at least: two relays' margins and a little. */
export const MIN_REQUEST_TIMEOUT_SECONDS = 5;
/** rdv-request's time to answer, at most (a relay would not wait longer anyway). */
export const MAX_REQUEST_TIMEOUT_SECONDS = MAX_REQUEST_WAIT_SECONDS;

/** What a relay's own request to the next payee carries. */
export interface Onward {
  /** Unix seconds: when we stop waiting for the next payee. */
  deadline: number;
  hops: number;
}

/**
 * May a relay that received a request (with `deadline` and `hops`) ask on, at
 * `now` (Unix seconds)? Its own deadline and hop budget, or why not.
 */
export function relayOnward(request: { deadline: number; hops: number }, now: number): Result<Onward> {
  if (request.deadline <= now) return err('its deadline has passed');
  if (request.hops <= 0) return err('its hop budget is spent: answering would take one more node');
  const deadline = Math.min(request.deadline, now + MAX_REQUEST_WAIT_SECONDS) - HOP_MARGIN_SECONDS;
  if (deadline - now < HOP_MARGIN_SECONDS) return err(`too little time is left (${request.deadline - now} s) to ask the next payee and answer`);
  return ok({ deadline, hops: Math.min(request.hops - 1, MAX_REQUEST_HOPS) });
}

/** May a node answer from its own invoices (a last payee) a request with this deadline, at `now`? */
export function answerInTime(request: { deadline: number }, now: number): Result<void> {
  return request.deadline > now ? ok(undefined) : err('its deadline has passed');
}

/** The first payee's own request (rdv-request): asked at `now` with `timeoutSeconds` to answer. */
export function firstOnward(now: number, timeoutSeconds: number, hops = DEFAULT_REQUEST_HOPS): Onward {
  return { deadline: now + timeoutSeconds - HOP_MARGIN_SECONDS, hops };
}

/**
 * A refusal as it travels back: each node puts its node id's short form in front,
 * so the asker reads the path to where it was refused ("02b0b0b0: 03c3c3c3: ...").
 */
export function passedBack(self: NodeId, reason: string): string {
  return `${shortHash(self)}: ${reason}`;
}
