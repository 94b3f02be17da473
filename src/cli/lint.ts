import type { Command } from "commander";
import { ExitCode } from "../errors.js";
import { printJson } from "./output.js";

export function registerLint(program: Command): void {
  program
    .command("lint")
    .description("check every lesson, every translation (labs/<lang>/) and the message catalogues (exit 1 on a problem)")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const { formatProblem, lintAll } = await import("../lesson/translation-lint.js");
      const report = await lintAll();
      process.exitCode = report.problems.length ? ExitCode.failed : ExitCode.ok;
      if (opts.json) return printJson(report);
      for (const p of report.problems) console.log(formatProblem(p));
      console.log(`${report.problems.length} problems; translations checked: ${report.translations.join(", ") || "none"}`);
      console.log(`Not in the catalogue yet (English in every language):\n${report.untranslated.map((u) => `  ${u}`).join("\n")}`);
    });
}
