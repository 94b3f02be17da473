import type { Command } from "commander";
import { t } from "../i18n/index.js";
import { ExitCode } from "../errors.js";
import { printJson } from "./output.js";

export function registerLint(program: Command): void {
  program
    .command("lint")
    .description(t("help.lint.about"))
    .option("--json", t("help.option.json"))
    .action(async (opts: { json?: boolean }) => {
      const { formatProblem, lintAll } = await import("../lesson/translation-lint.js");
      const report = await lintAll();
      process.exitCode = report.problems.length ? ExitCode.failed : ExitCode.ok;
      if (opts.json) return printJson(report);
      for (const p of report.problems) console.log(formatProblem(p));
      console.log(`${report.problems.length} problems; translations checked: ${report.translations.join(", ") || "none"}`);
    });
}
