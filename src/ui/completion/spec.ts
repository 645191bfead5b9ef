/**
 * What shell completion knows about rdv, read from the commander program
 * itself (src/cli.ts buildProgram), so a new subcommand or option completes
 * without anyone touching the completion scripts. Pure: no I/O.
 */
import type { Argument, Command, Option } from 'commander';
import { NETWORKS } from '../../chain/network.js';

/** What to offer for an option's value or a positional argument. */
export type Values =
  /** Free text (an amount, an invoice): nothing to offer. */
  | { kind: 'text' }
  | { kind: 'words'; words: readonly string[] }
  | { kind: 'files' }
  | { kind: 'dirs' }
  /** Asked from the node at completion time: `rdv __complete <list>`. */
  | { kind: 'node'; list: NodeList };

/** The lists `rdv __complete` prints: payment hashes of records, or of the inbox; policy ids. */
export type NodeList = 'hashes' | 'inbox' | 'policies';
export const NODE_LISTS: readonly NodeList[] = ['hashes', 'inbox', 'policies'];

export interface OptionSpec {
  /** `-y`, if there is one. */
  short: string | undefined;
  /** `--yes`, if there is one. */
  long: string | undefined;
  description: string;
  /** Undefined for a flag. */
  value: Values | undefined;
}

export interface ArgSpec {
  name: string;
  required: boolean;
  variadic: boolean;
  values: Values;
}

export interface CommandSpec {
  name: string;
  description: string;
  /** The command's own options (global ones are in CompletionSpec.globals). */
  options: OptionSpec[];
  args: ArgSpec[];
  /** `rdv policy add|list|remove`: the first word after the command names one of these. */
  subcommands: CommandSpec[];
}

/** A command with the words that name it: `status`, or `policy add` for a subcommand. */
export interface CommandAt {
  path: string;
  command: CommandSpec;
}

/** Every command and subcommand, each after its parent, with the words that name it. */
export function commandPaths(commands: readonly CommandSpec[], parent = ''): CommandAt[] {
  return commands.flatMap((command) => {
    const path = parent === '' ? command.name : `${parent} ${command.name}`;
    return [{ path, command }, ...commandPaths(command.subcommands, path)];
  });
}

export interface CompletionSpec {
  /** The executable's name: `rdv`. */
  program: string;
  version: string;
  /** Options of the program itself; commander takes them before or after the subcommand. */
  globals: OptionSpec[];
  commands: CommandSpec[];
}

/** The options that take a value (of the program's: those that say which node to ask). */
export const valueOptions = (options: readonly OptionSpec[]): OptionSpec[] => options.filter((o) => o.value !== undefined);

/** Every flag of these options (`-y`, `--yes`, ...). */
export const flagsOf = (options: readonly OptionSpec[]): string[] => options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));

const TEXT: Values = { kind: 'text' };

/**
 * The values for an option or argument, from its value name (`<hash>`, `<dir>`,
 * ...), its choices, and, for a hash, whether the option reads the inbox.
 */
export function valuesFor(valueName: string | undefined, choices: readonly string[] | undefined, optionLong?: string): Values {
  if (choices && choices.length > 0) return { kind: 'words', words: choices };
  if (optionLong === '--network') return { kind: 'words', words: NETWORKS };
  switch (valueName) {
    case 'dir':
      return { kind: 'dirs' };
    case 'file':
    case 'path':
      return { kind: 'files' };
    case 'hash':
      return { kind: 'node', list: optionLong?.includes('inbox') ? 'inbox' : 'hashes' };
    case 'policy_id':
      return { kind: 'node', list: 'policies' };
    default:
      return TEXT;
  }
}

/** `--lightning-dir <dir>` -> `dir`; a flag -> undefined. */
function valueName(option: Option): string | undefined {
  if (!option.required && !option.optional) return undefined;
  return /[<[]([^>\]]+?)(\.\.\.)?[>\]]/.exec(option.flags)?.[1] ?? 'value';
}

function optionSpec(option: Option): OptionSpec {
  const name = valueName(option);
  return {
    short: option.short,
    long: option.long,
    description: option.description,
    value: name === undefined ? undefined : valuesFor(name, option.argChoices, option.long),
  };
}

function argSpec(arg: Argument, commandNames: readonly string[]): ArgSpec {
  const name = arg.name();
  // `rdv help [command]` (commander's own help command) takes a command name.
  const values = name === 'command' ? { kind: 'words' as const, words: commandNames } : valuesFor(name, arg.argChoices);
  return { name, required: arg.required, variadic: arg.variadic, values };
}

function commandSpec(c: Command, help: ReturnType<Command['createHelp']>, commandNames: readonly string[]): CommandSpec {
  return {
    name: c.name(),
    description: c.description(),
    // The subcommand's -h/--help is listed with its own options, as in its help text.
    options: help.visibleOptions(c).map(optionSpec),
    args: c.registeredArguments.map((a) => argSpec(a, commandNames)),
    // Below the top level, commander's own `help` subcommand (rdv policy help add) is not worth offering.
    subcommands: help
      .visibleCommands(c)
      .filter((sub) => sub.name() !== 'help')
      .map((sub) => commandSpec(sub, help, commandNames)),
  };
}

/** The completion spec of a commander program: its visible commands (not hidden ones like `__complete`), their subcommands, and options. */
export function completionSpec(program: Command): CompletionSpec {
  const help = program.createHelp();
  const commands = help.visibleCommands(program);
  const names = commands.map((c) => c.name()).filter((n) => n !== 'help');
  return {
    program: program.name(),
    version: program.version() ?? '',
    globals: help.visibleOptions(program).map(optionSpec),
    commands: commands.map((c) => commandSpec(c, help, names)),
  };
}
