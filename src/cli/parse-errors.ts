/**
 * Commander's own error messages (unknown command or option, missing argument, …) in the
 * learner's language, with suggestions from suggest.ts. Commander builds these messages in
 * methods its typings leave out (unknownCommand, unknownOption, missingArgument, …; stable
 * since commander 7); each one here still reports through the public `error()`, so
 * showHelpAfterError and exitOverride behave as before.
 */
import type { Command, Option } from "commander";
import { alternatives, t } from "../i18n/index.js";
import { suggestions } from "./suggest.js";

interface ParseInternals {
  args: string[];
  registeredArguments: readonly unknown[];
  _allowUnknownOption: boolean;
  _allowExcessArguments: boolean;
  unknownCommand(): void;
  unknownOption(flag: string): void;
  missingArgument(name: string): void;
  optionMissingArgument(option: Option): void;
  missingMandatoryOptionValue(option: Option): void;
  _excessArguments(received: string[]): void;
}

function didYouMean(typed: string, names: string[]): string {
  const best = suggestions(typed, names);
  return best.length ? t("help.parse.didYouMean", { names: alternatives(best) }) : "";
}

/** The long options a command accepts, its parents' (global) ones included. */
function longOptions(cmd: Command): string[] {
  const flags: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) flags.push(...c.createHelp().visibleOptions(c).flatMap((o) => (o.long ? [o.long] : [])));
  return flags;
}

/** Applies to `program` and every command under it (call once they are all added). */
export function localizeParseErrors(program: Command): void {
  const visit = (cmd: Command) => {
    const internals = cmd as unknown as ParseInternals;
    const fail = (message: string, code: string) => cmd.error(`lvs-lab: ${message}`, { code, exitCode: 2 });
    internals.unknownCommand = () => {
      const name = internals.args[0] ?? "";
      const names = cmd.createHelp().visibleCommands(cmd).map((c) => c.name());
      fail(t("help.parse.unknownCommand", { name }) + didYouMean(name, names), "commander.unknownCommand");
    };
    internals.unknownOption = (flag) => {
      if (internals._allowUnknownOption) return;
      fail(t("help.parse.unknownOption", { flag }) + (flag.startsWith("--") ? didYouMean(flag, longOptions(cmd)) : ""), "commander.unknownOption");
    };
    internals.missingArgument = (name) => fail(t("help.parse.missingArgument", { name }), "commander.missingArgument");
    internals.optionMissingArgument = (option) => fail(t("help.parse.optionMissingArgument", { flags: option.flags }), "commander.optionMissingArgument");
    internals.missingMandatoryOptionValue = (option) => fail(t("help.parse.missingMandatory", { flags: option.flags }), "commander.missingMandatoryOptionValue");
    internals._excessArguments = (received) => {
      if (internals._allowExcessArguments) return;
      fail(t("help.parse.excessArguments", { command: cmd.name(), got: received.length, expected: internals.registeredArguments.length }), "commander.excessArguments");
    };
    cmd.commands.forEach(visit);
  };
  visit(program);
}
