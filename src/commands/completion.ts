/**
 * `rdv completion bash|zsh|fish`: print the shell's completion script,
 * generated from the commander program itself (see src/ui/completion/spec.ts).
 */
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { bashScript } from '../ui/completion/bash.js';
import { fishScript } from '../ui/completion/fish.js';
import { completionSpec, type CompletionSpec } from '../ui/completion/spec.js';
import { zshScript } from '../ui/completion/zsh.js';
import type { GlobalOptions } from './context.js';

const SCRIPTS: Record<string, (spec: CompletionSpec) => string> = { bash: bashScript, zsh: zshScript, fish: fishScript };

export async function run(_g: GlobalOptions, shell: string, program: Command): Promise<void> {
  const script = SCRIPTS[shell];
  if (!script) throw usageError(`rdv completion ${shell}: say bash, zsh or fish`);
  process.stdout.write(script(completionSpec(program)));
}
