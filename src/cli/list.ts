import type { Command } from "commander";
import { bold, dim, printJson } from "./output.js";

export function registerList(program: Command): void {
  program
    .command("list")
    .description("list the labs")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const { loadAllLabs } = await import("../lesson/load.js");
      const labs = await loadAllLabs();
      const rows = labs.map(({ lesson }) => ({
        id: lesson.meta.id,
        title: lesson.meta.title,
        summary: lesson.meta.summary,
        level: lesson.meta.level,
        requirements: lesson.meta.requirements,
        steps: lesson.steps.length,
      }));
      if (opts.json) return printJson(rows);
      for (const r of rows) {
        const needs = r.requirements.length ? dim(`  needs ${r.requirements.join(", ")}`) : "";
        console.log(`${bold(r.id.padEnd(11))} ${r.title} ${dim(`(${r.level}, ${r.steps} steps)`)}${needs}\n${" ".repeat(12)}${dim(r.summary)}`);
      }
    });
}
