import type { Command } from "commander";
import { markSolvedWithHelp, saveProgress } from "../state/progress.js";
import { openTarget, stepIndex } from "./check.js";
import { t } from "../i18n/index.js";
import { dim, printJson, progressLine } from "./output.js";

export function registerSolve(program: Command): void {
  program
    .command("solve")
    .description(t("help.solve.about"))
    .option("--name <name>", t("help.option.name"))
    .option("--step <n>", t("help.solve.step"))
    .option("--all", t("help.solve.all"))
    .option("--to <n>", t("help.solve.to"))
    .option("--json", t("help.option.json"))
    .action(async (opts: { name?: string; step?: string; all?: boolean; to?: string; json?: boolean }) => {
      if (opts.to !== undefined) return (await import("./solve-to.js")).solveTo({ ...opts, to: opts.to });
      const { solveStep } = await import("../lab/session.js");
      const { session, progress } = await openTarget(opts.name);
      const nameFlag = await (await import("./context.js")).nameFlagFor(session.name, session.lab.lesson.meta.id);
      const first = stepIndex(opts.step, progress, session);
      const last = opts.all ? session.lab.lesson.steps.length - 1 : first;
      const runs = [];
      let updated = progress;
      for (let i = first; i <= last; i++) {
        const step = session.lab.lesson.steps[i]!;
        const done = await solveStep(session, i);
        runs.push({ step: i + 1, id: step.id, runs: done });
        if (!opts.json) {
          progressLine(t("cli.solveStep", { n: i + 1, title: step.title }));
          for (const r of done) console.log(`${dim(`${r.node}#`)} ${r.commands.split("\n").join(`\n${dim(`${r.node}#`)} `)}${r.output ? `\n${r.output}` : ""}`);
        }
        updated = markSolvedWithHelp(updated, step.id);
      }
      await saveProgress(session.name, updated);
      await (await import("../class/report.js")).tellClass(session, { type: "solve", progress: updated }, { json: opts.json, nameFlag });
      if (opts.json) printJson({ instance: session.name, solved: runs });
      else console.log(dim(`\n${t("cli.solveThenCheck", { flag: nameFlag })}`));
    });
}
