/**
 * Shell completion: `lvs-lab completion bash|zsh|fish` prints a small script that asks the
 * program itself (`lvs-lab __complete WORDS…`, hidden) for the candidates of the word being
 * typed, so commands, options, lab names and running instance names are never out of date.
 * The tree walk and the scripts are pure (commandTree → complete); only the lab and
 * instance names are looked up.
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";

export interface OptionNode {
  long?: string;
  short?: string;
  /** The option's value name ("name" for --name <name>), when it takes one. */
  value?: string;
}

export interface CommandNode {
  name: string;
  options: OptionNode[];
  /** Positional argument names, in order ("lab", "labs" for a variadic [labs...]). */
  args: Array<{ name: string; variadic: boolean }>;
  commands: CommandNode[];
}

/** The visible commands and options of a commander program, as plain data. */
export function commandTree(cmd: Command): CommandNode {
  const help = cmd.createHelp();
  return {
    name: cmd.name(),
    options: help.visibleOptions(cmd).map((o) => ({
      ...(o.long ? { long: o.long } : {}),
      ...(o.short ? { short: o.short } : {}),
      ...(o.required || o.optional ? { value: /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? "value" } : {}),
    })),
    args: cmd.registeredArguments.map((a) => ({ name: a.name(), variadic: a.variadic })),
    commands: help.visibleCommands(cmd).map(commandTree),
  };
}

/** What fills a value: the ids of the labs, the names of running instances, or nothing known. */
export type ValueSource = "labs" | "instances" | undefined;

function sourceOf(valueName: string | undefined): ValueSource {
  if (valueName === "lab" || valueName === "labs") return "labs";
  if (valueName === "name") return "instances";
  return undefined;
}

/**
 * Candidates for the last of `words` (the words after `lvs-lab`, the one being typed last,
 * possibly empty); the shell keeps those that begin with what is typed. `fill` names the
 * list to add (labs or instances), looked up by the caller.
 */
export function complete(tree: CommandNode, words: readonly string[]): { candidates: string[]; fill?: ValueSource } {
  let cmd = tree;
  const chain = [tree];
  let positional = 0;
  let pendingValue: OptionNode | undefined;
  const findOption = (flag: string) => chain.flatMap((c) => c.options).find((o) => o.long === flag || o.short === flag);
  for (const word of words.slice(0, -1)) {
    if (pendingValue) {
      pendingValue = undefined;
      continue;
    }
    if (word.startsWith("-")) {
      const option = findOption(word.split("=")[0]!);
      if (option?.value && !word.includes("=")) pendingValue = option;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name === word);
    if (sub && positional === 0) {
      cmd = sub;
      chain.push(sub);
    } else positional++;
  }
  const current = words.at(-1) ?? "";
  if (pendingValue) return { candidates: [], fill: sourceOf(pendingValue.value) };
  const options = [...new Set(chain.flatMap((c) => c.options).flatMap((o) => (o.long ? [o.long] : [])))];
  if (current.startsWith("-")) return { candidates: options };
  if (cmd.commands.length && positional === 0) return { candidates: cmd.commands.map((c) => c.name) };
  const arg = cmd.args[positional] ?? (cmd.args.at(-1)?.variadic ? cmd.args.at(-1) : undefined);
  // stop [lab] takes an instance's default name: a running instance is what it can stop.
  const fill = cmd.name === "stop" ? "instances" : sourceOf(arg?.name);
  return fill ? { candidates: [], fill } : { candidates: options };
}

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** The script a shell sources; each asks `lvs-lab __complete` with the words typed so far. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return `# lvs-lab completion for bash: source it, or put it in /etc/bash_completion.d/lvs-lab
_lvs_lab() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(lvs-lab __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -o default -F _lvs_lab lvs-lab
`;
    case "zsh":
      return `#compdef lvs-lab
# lvs-lab completion for zsh: put it in a directory of $fpath as _lvs-lab, or source it
_lvs_lab() {
  local -a candidates
  candidates=("\${(@f)$(lvs-lab __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
# Autoloaded from $fpath (as _lvs-lab) this file is the completion function itself; sourced, it registers one.
if [ "\${funcstack[1]}" = "_lvs-lab" ]; then _lvs_lab "$@"; else compdef _lvs_lab lvs-lab; fi
`;
    case "fish":
      return `# lvs-lab completion for fish: put it in ~/.config/fish/completions/lvs-lab.fish
function __lvs_lab_complete
    set -l words (commandline -opc) (commandline -ct)
    lvs-lab __complete -- $words[2..-1] 2>/dev/null
end
complete -c lvs-lab -f -a '(__lvs_lab_complete)'
`;
  }
}

export function registerCompletion(program: Command): void {
  program
    .command("completion <shell>")
    .description(t("help.completion.about"))
    .addHelpText("after", `\n${t("help.completion.install")}`)
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) throw new UserError(t("help.completion.badShell", { shell }));
      process.stdout.write(completionScript(shell as Shell));
    });
  program
    .command("__complete", { hidden: true })
    .argument("[words...]")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words: string[]) => {
      const { candidates, fill } = complete(commandTree(program), words.length ? words : [""]);
      const more: string[] = [];
      if (fill === "labs") more.push(...(await (await import("../lesson/load.js")).listLabIds()));
      // The instances' records, not the engines (the VM's answers in seconds): a completion must not keep the learner waiting.
      if (fill === "instances") more.push(...(await (await import("../state/instances.js")).recordedInstanceNames()));
      process.stdout.write([...new Set([...candidates, ...more])].map((c) => `${c}\n`).join(""));
    });
}
