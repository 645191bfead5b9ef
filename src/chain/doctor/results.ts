/** What a check gives: ok, warn or fail, every warn and fail with what to do; several findings combined into one line. */
import type { PaymentHash } from '../ids.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export type CheckName = 'cln-version' | 'rdv-plugin' | 'guard-plugin' | 'hook-order' | 'commands' | 'reachable' | 'records' | 'liquidity' | 'cltv' | 'stuck' | 'inbox' | 'pull';

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  message: string;
  /** What to do: every warn and fail has one. */
  fix?: string;
  /** The relay a per-relay check (liquidity, stuck) is about. */
  paymentHash?: PaymentHash;
}

export const good = (name: CheckName, message: string): CheckResult => ({ name, status: 'ok', message });
export const warning = (name: CheckName, message: string, fix: string): CheckResult => ({ name, status: 'warn', message, fix });
export const failure = (name: CheckName, message: string, fix: string): CheckResult => ({ name, status: 'fail', message, fix });

export interface Finding {
  status: 'warn' | 'fail';
  message: string;
  fix: string;
}

/** One result for several findings: the worst status, their messages and fixes; `okMessage` if there are none. */
export function combine(name: CheckName, findings: Finding[], okMessage: string, prefix = ''): CheckResult {
  if (findings.length === 0) return good(name, okMessage);
  const status = findings.some((x) => x.status === 'fail') ? 'fail' : 'warn';
  const fixes = [...new Set(findings.map((x) => x.fix))];
  return { name, status, message: `${prefix}${findings.map((x) => x.message).join('; ')}`, fix: fixes.join('; ') };
}
