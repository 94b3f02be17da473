/**
 * Commander's own words in the help (Usage:, Options:, "display help for command", the
 * defaults) in the current language, and descriptions wrapped in terminal columns: a
 * Chinese line may break between any two characters, and each takes two columns. English
 * keeps commander's help untouched.
 */
import { Help, type Command, type Option } from "commander";
import stringWidth from "string-width";
import { breakPieces } from "../text/breaks.js";
import { language, t } from "../i18n/index.js";

const TITLES: Record<string, string> = {
  "Usage:": "help.builtin.usage",
  "Arguments:": "help.builtin.arguments",
  "Options:": "help.builtin.options",
  "Global Options:": "help.builtin.globalOptions",
  "Commands:": "help.builtin.commands",
};

export function wrapColumns(text: string, width: number): string {
  return text
    .split("\n")
    .map((line) => {
      const lines: string[] = [];
      let current = "";
      for (const piece of breakPieces(line)) {
        if (current && stringWidth(current + piece) > width) {
          lines.push(current);
          current = piece.trimStart();
        } else current += piece;
      }
      return [...lines, current].join("\n");
    })
    .join("\n");
}

/** Applies the language to `program` and every command under it (call once they are all added). */
export function localizeHelp(program: Command): void {
  if (language() === "en") return;
  const visit = (cmd: Command) => {
    cmd.helpOption("-h, --help", t("help.builtin.help"));
    if (cmd.commands.length) cmd.helpCommand("help [command]", t("help.builtin.help"));
    cmd.configureHelp({
      styleTitle: (title) => (TITLES[title] ? t(TITLES[title] as Parameters<typeof t>[0]) : title),
      optionDescription: (option: Option) =>
        Help.prototype.optionDescription.call(new Help(), option).replace(/ ?\(default: (.*)\)$/, (_, value: string) => t("help.builtin.default", { value })),
      displayWidth: (text) => stringWidth(text),
      boxWrap: (text, width) => (width < 40 ? text : wrapColumns(text, width)),
    });
    cmd.commands.forEach(visit);
  };
  visit(program);
}
