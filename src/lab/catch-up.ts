/**
 * Bringing a learner's lab to the start of a later step (`solve --to N`, a class
 * catch-up the learner accepted): every earlier step is checked, and the ones that do not
 * pass get their reference solution, are checked again and count as solved with help.
 * Steps the learner did themselves keep their pass. Work the learner did on a step that
 * passes is left alone; a step still failing after its solution stops the catch-up.
 */
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { markSolvedWithHelp, moveTo, type Progress } from "../state/progress.js";
import { checkAndRecord, stepIdsOf } from "./lesson-run.js";
import { solveStep, stepAt, type LabSession } from "./session.js";

export interface CaughtUp {
  progress: Progress;
  /** Steps (0-based) whose solution was applied. */
  solved: number[];
}

export async function catchUpTo(s: LabSession, progress: Progress, target: number, onStep?: (index: number, action: "checked" | "solved") => void): Promise<CaughtUp> {
  stepAt(s, target);
  if (progress.step >= target) return { progress, solved: [] };
  let p = progress;
  const solved: number[] = [];
  for (let i = 0; i < target; i++) {
    const run = await checkAndRecord(s, p, i, { only: true });
    if (run.checks[0]!.passed) {
      p = run.progress;
      onStep?.(i, "checked");
      continue;
    }
    await solveStep(s, i);
    const again = await checkAndRecord(s, p, i, { only: true });
    if (!again.checks[0]!.passed) {
      const why = again.checks[0]!.results.find((r) => !r.ok && !r.observation)?.message ?? t("errors.stillFailsWhy");
      throw new UserError(t("errors.stillFails", { n: i + 1, title: stepAt(s, i).title, why }), t("errors.stillFailsHint", { step: target + 1, name: s.name }));
    }
    p = markSolvedWithHelp(again.progress, stepAt(s, i).id);
    solved.push(i);
    onStep?.(i, "solved");
  }
  return { progress: moveTo(p, stepIdsOf(s), target), solved };
}
