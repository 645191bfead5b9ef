/**
 * Turnaround from one node's own lightningd log (--log-level=debug): for each
 * HTLC that came in from `fromPeer` and went on to `toPeer`, the time from
 * "incoming irrevocably committed" (lightningd's HTLC state
 * SENT_ADD_ACK_COMMIT->RCVD_ADD_ACK_REVOCATION, when it calls the
 * htlc_accepted hook) to "outgoing commitment sent" (channeld's peer_out
 * WIRE_COMMITMENT_SIGNED after the outgoing HTLC was added), and the steps
 * between. A relay's steps are named from the lines rdv, xpay and lightningd
 * write on the way; a forward has only the hook-and-forward and commit steps.
 * payment_start is, for xpay, its call, decode and preapproval up to its
 * getroutes; for a first attempt by sendpay (rdv 0.2), the wait for the route
 * askrene was asked for beside the write and the sendpay call, up to
 * lightningd's "Sending ... over N hops" (sendpay has no route_and_onion:
 * lightningd builds the onion within offer_to_channeld).
 * Payments must go through one at a time (an HTLC that comes in before the
 * previous one went out ends the previous one's window unmeasured).
 */

export type StepName = 'hook_and_decide' | 'persist_gathered' | 'payment_start' | 'route_and_onion' | 'offer_to_channeld' | 'hook_and_forward' | 'commit_out';
export type BackStepName = 'to_payment_success' | 'to_rdv_resolve' | 'fulfill_in';

export interface Turnaround {
  kind: 'forward' | 'relay';
  /** The incoming HTLC's id in its channel. */
  htlcIn: number;
  totalMs: number;
  steps: Partial<Record<StepName, number>>;
  /**
   * The way back: the next payee's update_fulfill_htlc received to ours sent to
   * the previous hop (a relay: via xpay's success and rdv's resolve). Undefined
   * if the payment failed or the log ends first.
   */
  back?: { totalMs: number; steps: Partial<Record<BackStepName, number>> };
}

type Mark = 'decided' | 'written' | 'started' | 'injected' | 'added';

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) +\S+ +(.*)$/;

export function turnarounds(log: string, peers: { fromPeer: string; toPeer: string }): Turnaround[] {
  const incoming = new RegExp(`^${peers.fromPeer}-chan#\\d+: HTLC in (\\d+) SENT_ADD_ACK_COMMIT->RCVD_ADD_ACK_REVOCATION`);
  const added = new RegExp(`^${peers.toPeer}-channeld-chan#\\d+: Adding HTLC \\d+ .*CHANNEL_ERR_ADD_OK`);
  const commitOut = new RegExp(`^${peers.toPeer}-channeld-chan#\\d+: peer_out WIRE_COMMITMENT_SIGNED`);
  const fulfilledOut = new RegExp(`^${peers.toPeer}-channeld-chan#\\d+: peer_in WIRE_UPDATE_FULFILL_HTLC`);
  const fulfillIn = new RegExp(`^${peers.fromPeer}-channeld-chan#\\d+: peer_out WIRE_UPDATE_FULFILL_HTLC`);
  const paySuccess = /^(plugin-cln-xpay: .*Success: preimage=|plugin-rdv: [0-9a-f]{8}: sendpay answered in )/;
  const rdvResolve = /^plugin-rdv: [0-9a-f]{8}: answered part \S+ \(resolve\)/;
  const marks: Array<[Mark, RegExp]> = [
    ['decided', /^plugin-rdv: [0-9a-f]{8}: gathered /],
    ['written', /^plugin-rdv: [0-9a-f]{8}: wrote gathered in /],
    ['started', /^(plugin-cln-xpay: .*getroutes from |lightningd: Sending \d+msat over \d+ hops to deliver )/],
    ['injected', /^lightningd: injectpaymentonion: sending to channel /],
  ];
  const out: Turnaround[] = [];
  let open: { htlcIn: number; at: number; marks: Partial<Record<Mark, number>> } | undefined;
  let back: { of: Turnaround; at?: number; xpay?: number; resolve?: number } | undefined;
  for (const line of log.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1] ?? '');
    const text = m[2] ?? '';
    const inMatch = incoming.exec(text);
    if (inMatch) {
      open = { htlcIn: Number(inMatch[1]), at, marks: {} };
      back = undefined;
      continue;
    }
    if (back) {
      if (back.at === undefined) {
        if (fulfilledOut.test(text)) back.at = at;
      } else if (fulfillIn.test(text)) {
        back.of.back = measureBack(back.at, back.xpay, back.resolve, at);
        back = undefined;
      } else if (back.xpay === undefined && paySuccess.test(text)) back.xpay = at;
      else if (back.resolve === undefined && rdvResolve.test(text)) back.resolve = at;
      continue;
    }
    if (!open) continue;
    if (open.marks.added === undefined) {
      if (added.test(text)) {
        open.marks.added = at;
        continue;
      }
      for (const [name, re] of marks) if (open.marks[name] === undefined && re.test(text)) open.marks[name] = at;
      continue;
    }
    if (commitOut.test(text)) {
      const t = measure(open.htlcIn, open.at, open.marks, at);
      out.push(t);
      back = { of: t };
      open = undefined;
    }
  }
  return out;
}

/** Each step's time from the mark before it; a mark missing from the log (e.g. xpay's debug line) folds its step into the next one. */
function between<N extends string>(start: number, chain: ReadonlyArray<readonly [N, number | undefined]>): Partial<Record<N, number>> {
  const steps: Partial<Record<N, number>> = {};
  let previous = start;
  for (const [name, at] of chain) {
    if (at === undefined) continue;
    steps[name] = at - previous;
    previous = at;
  }
  return steps;
}

function measureBack(start: number, xpay: number | undefined, resolve: number | undefined, end: number): NonNullable<Turnaround['back']> {
  return { totalMs: end - start, steps: between<BackStepName>(start, [['to_payment_success', xpay], ['to_rdv_resolve', resolve], ['fulfill_in', end]]) };
}

function measure(htlcIn: number, start: number, m: Partial<Record<Mark, number>>, end: number): Turnaround {
  const added = m.added ?? end;
  if (m.decided === undefined) return { kind: 'forward', htlcIn, totalMs: end - start, steps: between<StepName>(start, [['hook_and_forward', added], ['commit_out', end]]) };
  const steps = between<StepName>(start, [
    ['hook_and_decide', m.decided],
    ['persist_gathered', m.written],
    ['payment_start', m.started],
    ['route_and_onion', m.injected],
    ['offer_to_channeld', added],
    ['commit_out', end],
  ]);
  return { kind: 'relay', htlcIn, totalMs: end - start, steps };
}

/** p50 and p90 of each kind's total and steps, and how much more a relay's p50 takes than a forward's. */
export function summarise(all: Turnaround[], pct: (v: number[], p: number) => number): Record<string, unknown> {
  const of = (kind: Turnaround['kind']): Record<string, unknown> | undefined => {
    const ts = all.filter((t) => t.kind === kind);
    if (ts.length === 0) return undefined;
    const stat = (v: number[]): { p50: number; p90: number } => ({ p50: pct(v, 50), p90: pct(v, 90) });
    const names = [...new Set(ts.flatMap((t) => Object.keys(t.steps) as StepName[]))];
    const backs = ts.flatMap((t) => (t.back ? [t.back] : []));
    const backNames = [...new Set(backs.flatMap((b) => Object.keys(b.steps) as BackStepName[]))];
    return {
      samples: ts.length,
      total_ms: stat(ts.map((t) => t.totalMs)),
      steps_ms: Object.fromEntries(names.map((n) => [n, stat(ts.flatMap((t) => (t.steps[n] === undefined ? [] : [t.steps[n]])))])),
      back_ms: backs.length === 0 ? undefined : { samples: backs.length, total: stat(backs.map((b) => b.totalMs)), ...Object.fromEntries(backNames.map((n) => [n, stat(backs.flatMap((b) => (b.steps[n] === undefined ? [] : [b.steps[n]])))])) },
    };
  };
  const forward = of('forward');
  const relay = of('relay');
  const p50 = (s: Record<string, unknown> | undefined): number | undefined => (s?.total_ms as { p50: number } | undefined)?.p50;
  const f = p50(forward);
  const r = p50(relay);
  return { forward, relay, relay_minus_forward_p50_ms: f === undefined || r === undefined ? null : r - f };
}
