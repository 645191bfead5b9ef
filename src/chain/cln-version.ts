/** Which Core Lightning versions rdv runs on. Pure. */

/** Oldest CLN with signinvoice, xpay maxdelay and decode. */
export const MIN_CLN_VERSION = { major: 25, minor: 2 } as const;

/** "v25.02", as CLN names its releases. */
export const MIN_CLN_VERSION_TEXT = `v${MIN_CLN_VERSION.major}.${String(MIN_CLN_VERSION.minor).padStart(2, '0')}`;

/** Parse "v26.06.6", "v25.02rc1", "v24.11.1-modded". */
export function parseClnVersion(version: string): { major: number; minor: number } | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function isSupportedVersion(version: string): boolean {
  const v = parseClnVersion(version);
  if (!v) return false;
  return v.major > MIN_CLN_VERSION.major || (v.major === MIN_CLN_VERSION.major && v.minor >= MIN_CLN_VERSION.minor);
}
