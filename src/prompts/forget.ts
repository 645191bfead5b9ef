import type { Prompter } from './prompter.js';

/** rdv forget's last question (a terminal only); `what` names the record. */
export function confirmForget(prompter: Prompter, what: string): Promise<boolean> {
  return prompter.confirm({ message: `Remove ${what}? An archive entry is kept under rdv/v1/archive.`, default: false });
}
