import type { Command } from "commander";
import { t } from "../i18n/index.js";
import { bold, dim, printJson } from "./output.js";

export function registerList(program: Command): void {
  program
    .command("list")
    .description(t("help.list.about"))
    .option("--json", t("help.option.json"))
    .action(async (opts: { json?: boolean }) => {
      const { listLabIds, loadLab } = await import("../lesson/load.js");
      // Each lab in the learner's language where a translation exists (titles and summaries).
      const labs = (await Promise.all((await listLabIds()).map((id) => loadLab(id)))).sort(
        (a, b) => a.lesson.meta.order - b.lesson.meta.order || a.lesson.meta.id.localeCompare(b.lesson.meta.id),
      );
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
        const needs = r.requirements.length ? dim(t("cli.listNeeds", { what: r.requirements.join(", ") })) : "";
        const about = t("cli.listAbout", { level: t(`cli.level.${r.level}`), count: r.steps });
        console.log(`${bold(r.id.padEnd(11))} ${r.title} ${dim(about)}${needs}\n${" ".repeat(12)}${dim(r.summary)}`);
      }
    });
}
