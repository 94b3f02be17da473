/**
 * `lvs-lab solve --to N`: the lab brought to the start of step N, the way a class
 * catch-up does it (see lab/catch-up.ts); the class, when joined, hears of it.
 */
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { saveProgress } from "../state/progress.js";
import { openTarget } from "./check.js";
import { dim, printJson, progressLine } from "./output.js";

export async function solveTo(opts: { name?: string; to: string; step?: string; all?: boolean; json?: boolean }): Promise<void> {
  if (opts.step || opts.all) throw new UserError(t("errors.toGoesAlone"));
  const [{ catchUpTo }, { tellClass }] = await Promise.all([import("../lab/catch-up.js"), import("../class/report.js")]);
  const { session, progress } = await openTarget(opts.name);
  const steps = session.lab.lesson.steps;
  const n = Number(opts.to);
  if (!Number.isInteger(n) || n < 1 || n > steps.length) throw new UserError(t("class.badTo", { max: steps.length }));
  if (progress.step >= n - 1) {
    if (opts.json) return printJson({ instance: session.name, to: n, solved: [], current: progress.step + 1 });
    return console.log(t("class.atStepAlready", { n: progress.step + 1 }));
  }
  const r = await catchUpTo(session, progress, n - 1, (i, action) => {
    if (!opts.json) progressLine(t("class.caughtUpStep", { n: i + 1, title: steps[i]!.title, what: t(action === "solved" ? "class.solutionApplied" : "class.passesAlready") }));
  });
  await saveProgress(session.name, r.progress);
  const nameFlag = await (await import("./context.js")).nameFlagFor(session.name, session.lab.lesson.meta.id);
  await tellClass(session, { type: "catch-up", progress: r.progress }, { json: opts.json, nameFlag });
  if (opts.json) return printJson({ instance: session.name, to: n, solved: r.solved.map((i) => i + 1), current: r.progress.step + 1 });
  console.log(t("class.atStart", { n, title: steps[n - 1]!.title }));
  const solved = r.solved.map((i) => i + 1);
  console.log(dim(solved.length ? t("class.solvedWithHelp", { count: solved.length, steps: solved.join(t("common.listSeparator")) }) : t("class.allPassedAlready")));
}
