/**
 * Prompts sit behind this small interface; the inquirer implementation is
 * loaded only when a prompt is really shown (never in plugin mode, never with
 * --json or --yes, never without a terminal).
 */
import { RdvError } from '../errors.js';

export interface Prompter {
  /** Free text; `validate` returns an error message or undefined. */
  text(q: { message: string; default?: string; validate?: (value: string) => string | undefined }): Promise<string>;
  confirm(q: { message: string; default: boolean }): Promise<boolean>;
  select<T extends string>(q: { message: string; choices: Array<{ value: T; name: string; description?: string }> }): Promise<T>;
}

/** Ctrl-C in a prompt is a clean stop (exit 130), not an error with a stack. */
function interrupted(e: unknown): never {
  if (e instanceof Error && (e.name === 'ExitPromptError' || e.name === 'AbortPromptError')) {
    throw new RdvError('interrupted', 'cancelled: nothing was written');
  }
  throw e;
}

export function inquirerPrompter(): Prompter {
  return {
    async text(q) {
      const { input } = await import('@inquirer/prompts');
      return input({
        message: q.message,
        ...(q.default !== undefined ? { default: q.default } : {}),
        validate: (v: string) => q.validate?.(v) ?? true,
      }).catch(interrupted);
    },
    async confirm(q) {
      const { confirm } = await import('@inquirer/prompts');
      return confirm({ message: q.message, default: q.default }).catch(interrupted);
    },
    async select(q) {
      const { select } = await import('@inquirer/prompts');
      return select({ message: q.message, choices: q.choices }).catch(interrupted);
    },
  };
}
