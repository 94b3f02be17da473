import type { Command } from "commander";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { recordPrediction, saveProgress } from "../state/progress.js";
import { renderTemplate } from "../topology/resolve.js";
import { openTarget, stepIndex } from "./check.js";
import { bold, dim, printJson } from "./output.js";

export function registerPredict(program: Command): void {
  program
    .command("predict [choice]")
    .description(t("help.predict.about"))
    .option("--name <name>", t("help.option.name"))
    .option("--step <n>", t("help.predict.step"))
    .option("--json", t("help.option.json"))
    .action(async (choice: string | undefined, opts: { name?: string; step?: string; json?: boolean }) => {
      const { stepAt } = await import("../lab/session.js");
      const { session, progress } = await openTarget(opts.name);
      const nameFlag = await (await import("./context.js")).nameFlagFor(session.name, session.lab.lesson.meta.id);
      const index = stepIndex(opts.step, progress, session);
      const step = stepAt(session, index);
      if (!step.predict) throw new UserError(t("errors.noPrediction", { n: index + 1, title: step.title }));
      const r = (t: string) => renderTemplate(t, session.vars);
      const choices = step.predict.choices.map(r);
      let yours = progress.predictions[step.id];
      if (choice !== undefined) {
        const n = Number(choice);
        if (!Number.isInteger(n) || n < 1 || n > choices.length) throw new UserError(t("errors.answerRange", { max: choices.length }));
        if (progress.passed.includes(step.id)) throw new UserError(t("errors.predictionHindsight", { n: index + 1 }));
        if (yours !== undefined && yours !== n) throw new UserError(t("errors.predictedAlready", { n: yours }));
        const predicted = recordPrediction(progress, step.id, n);
        await saveProgress(session.name, predicted);
        await (await import("../class/report.js")).tellClass(session, { type: "predict", progress: predicted }, { json: opts.json, nameFlag });
        yours = n;
      }
      if (opts.json) return printJson({ step: index + 1, id: step.id, question: r(step.predict.question), choices, yours: yours ?? null });
      console.log(bold(r(step.predict.question)));
      choices.forEach((c, i) => console.log(`  ${i + 1}. ${c}${yours === i + 1 ? dim(t("cli.yourPrediction")) : ""}`));
      // A prediction asked with --step is answered with --step too: without it, the answer goes to the current step.
      const stepFlag = opts.step === undefined ? "" : ` --step ${index + 1}`;
      console.log(dim(t(yours === undefined ? "cli.predictHowTo" : "cli.predictMeasure", { flag: nameFlag, stepFlag })));
    });
}
