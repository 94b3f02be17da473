import type { Command } from "commander";
import { openTarget, stepIndex } from "./check.js";
import { t } from "../i18n/index.js";
import { elapsed, printJson, progressLine, seconds } from "./output.js";

export function registerReset(program: Command): void {
  program
    .command("reset")
    .description(t("help.reset.about"))
    .option("--name <name>", t("help.option.name"))
    .option("--step <n>", t("help.reset.step"))
    .option("--json", t("help.option.json"))
    .action(async (opts: { name?: string; step?: string; json?: boolean }) => {
      const began = Date.now();
      const { resetLab } = await import("../lab/session.js");
      const { session, progress } = await openTarget(opts.name, { allowBroken: true });
      const index = stepIndex(opts.step, progress, session);
      await resetLab(session, index);
      const step = session.lab.lesson.steps[index]!;
      if (opts.json) return printJson({ instance: session.name, step: { number: index + 1, id: step.id, title: step.title }, seconds: elapsed(began) });
      progressLine(t("cli.resetDone", { name: session.name, n: index + 1, took: seconds(began) }));
    });
}
