import type { Command } from "commander";
import { ExitCode, UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import type { LabSession, StepCheck } from "../lab/session.js";
import type { Prediction } from "../lesson/markdown-lesson.js";
import { isFinished, loadProgress, saveProgress, type Progress } from "../state/progress.js";
import { renderTemplate } from "../topology/resolve.js";
import { bold, dim, elapsed, formatProbe, green, printJson, red } from "./output.js";

import { holdingStep, type CheckReport, type PredictionReport, type StepReport } from "./check-report.js";

/** The instance a command is about, reopened as a lab session, with its saved progress. */
export async function openTarget(name: string | undefined, opts: { allowBroken?: boolean } = {}): Promise<{ session: LabSession; progress: Progress }> {
  const { targetInstance } = await import("../lab/locate.js");
  const { openLab } = await import("../lab/session.js");
  const target = await targetInstance(name);
  const session = await openLab(target, opts);
  const { progress, backedUpTo } = await loadProgress(target.name, session.lab.lesson.meta.id);
  if (backedUpTo) process.stderr.write(t("cli.progressUnreadable", { path: backedUpTo }));
  return { session, progress };
}

export function stepIndex(option: string | undefined, progress: Progress, session: LabSession): number {
  if (option === undefined) return Math.min(progress.step, session.lab.lesson.steps.length - 1);
  const n = Number(option);
  if (!Number.isInteger(n) || n < 1 || n > session.lab.lesson.steps.length) {
    throw new UserError(t("errors.badStep", { max: session.lab.lesson.steps.length }));
  }
  return n - 1;
}

function predictionReport(p: Prediction, vars: Record<string, string>, yours: number | undefined, passed: boolean): PredictionReport {
  const r = (t: string) => renderTemplate(t, vars);
  return {
    question: r(p.question),
    choices: p.choices.map(r),
    answer: p.answer,
    ...(yours !== undefined ? { yours } : {}),
    ...(passed ? { reveal: r(p.reveal) } : {}),
  };
}

function stepReport(session: LabSession, progress: Progress, c: StepCheck): StepReport {
  const step = session.lab.lesson.steps[c.index]!;
  const passed = c.passed || progress.passed.includes(step.id);
  return {
    number: c.index + 1,
    id: step.id,
    title: step.title,
    passed: c.passed,
    probes: c.results.map(({ kind, node, description, ok, message, hint, spread, observation, path }) => ({
      kind, node, description, observe: Boolean(observation), ok, message, hint, spread, path,
    })),
    ...(step.predict ? { prediction: predictionReport(step.predict, session.vars, progress.predictions[step.id], passed) } : {}),
  };
}

function printPrediction(p: PredictionReport): void {
  const yours = p.yours === undefined ? t("cli.predictionNone") : t(p.yours === p.answer ? "cli.predictionRight" : "cli.predictionYours", { n: p.yours });
  const answer = t("cli.predictionAnswer", { answer: p.answer, choice: p.choices[p.answer - 1], yours });
  console.log(`  ${bold(t("cli.prediction"))} ${p.question}\n  ${answer}\n  ${p.reveal}`);
}

function printStep(r: StepReport, of: number, detailed: boolean): void {
  const mark = r.passed ? green("✔") : red("✘");
  console.log(`${mark} ${bold(t("cli.stepHeading", { n: r.number, of, title: r.title }))}`);
  if (detailed) for (const p of r.probes) console.log(formatProbe({ ...p, observation: p.observe }));
  if (r.passed && r.prediction?.reveal) printPrediction(r.prediction);
}

function printReport(report: CheckReport, all: boolean, flag: string): void {
  const of = report.step.of;
  report.steps.forEach((s, i) => {
    // Steps passed on the way are listed; a later step that is not done yet is only named.
    if (all || i === 0 || s.passed) printStep(s, of, all || i === 0);
    else console.log(dim(`\n${t("cli.nextStep", { n: s.number, title: s.title })}`));
  });
  console.log(dim(t("cli.seconds", { s: report.seconds.toFixed(1) })));
  if (report.finished) console.log(green(`\n${t("cli.allDone", { flag })}`));
  else if (!report.passed) console.log(red(`\n${t("cli.notYet")}`) + dim(t("cli.notYetHints", { lab: report.lab, flag })));
  else if (report.steps.every((s) => s.passed)) console.log(green(`\n${t("cli.passedNext", { n: report.current })}`));
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description(t("help.check.about"))
    .option("--name <name>", t("help.option.name"))
    .option("--step <n>", t("help.check.step"))
    .option("--all", t("help.check.all"))
    .option("--json", t("help.check.json"))
    .option("--watch", t("help.check.watch"))
    .action(async (opts: { name?: string; step?: string; all?: boolean; json?: boolean; watch?: boolean }) => {
      if (opts.all && opts.step) throw new UserError(t("errors.allAndStep"));
      const { checkAndRecord, stepIdsOf } = await import("../lab/lesson-run.js");
      let { session, progress } = await openTarget(opts.name);
      const nameFlag = await (await import("./context.js")).nameFlagFor(session.name, session.lab.lesson.meta.id);
      const ids = stepIdsOf(session);
      const from = opts.all ? 0 : stepIndex(opts.step, progress, session);
      for (let round = 0; ; round++) {
        const began = Date.now();
        // Between rounds of --watch the learner may have solved, predicted or asked for a hint in another terminal.
        if (round > 0) progress = (await loadProgress(session.name, session.lab.lesson.meta.id)).progress;
        const run = await checkAndRecord(session, progress, from, { only: Boolean(opts.step), all: opts.all });
        const checks = run.checks;
        progress = run.progress;
        await saveProgress(session.name, progress);
        const steps = checks.map((c) => stepReport(session, progress, c));
        // Exit 0 means the step the learner was on passed; later steps only add to it.
        const passed = opts.all ? steps.every((s) => s.passed) : steps[0]!.passed;
        const finished = isFinished(progress, ids);
        const holding = holdingStep(steps);
        const report: CheckReport = {
          instance: session.name,
          lab: session.lab.lesson.meta.id,
          step: { number: holding.number, id: holding.id, title: holding.title, of: ids.length },
          passed,
          probes: holding.probes,
          steps,
          finished,
          current: progress.step + 1,
          seconds: elapsed(began),
        };
        if (opts.json) printJson(report);
        else printReport(report, Boolean(opts.all), nameFlag);
        const { tellClass } = await import("../class/report.js");
        for (const event of run.events) await tellClass(session, event, { json: opts.json, nameFlag });
        if (passed || !opts.watch) {
          process.exitCode = passed ? ExitCode.ok : ExitCode.failed;
          return;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
}
