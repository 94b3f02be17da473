/**
 * Bringing a learner's lab to the start of a later step (`solve --to N`, a class
 * catch-up the learner accepted): every earlier step is checked, and the ones that do not
 * pass get their reference solution, are checked again and count as solved with help.
 * Steps the learner did themselves keep their pass. Work the learner did on a step that
 * passes is left alone; a step still failing after its solution stops the catch-up.
 */
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { markSolvedWithHelp, moveTo, recordPass, type Progress } from "../state/progress.js";
import { checkStep, solveStep, stepAt, type LabSession } from "./session.js";
import { stepPasses } from "../probes/runner.js";

export interface CaughtUp {
  progress: Progress;
  /** Steps (0-based) whose solution was applied. */
  solved: number[];
}

export async function catchUpTo(s: LabSession, progress: Progress, target: number, onStep?: (index: number, action: "checked" | "solved") => void): Promise<CaughtUp> {
  const ids = s.lab.lesson.steps.map((st) => st.id);
  stepAt(s, target);
  if (progress.step >= target) return { progress, solved: [] };
  let p = progress;
  const solved: number[] = [];
  for (let i = 0; i < target; i++) {
    if (!stepPasses(await checkStep(s, i))) {
      await solveStep(s, i);
      const again = await checkStep(s, i);
      if (!stepPasses(again)) {
        const why = again.find((r) => !r.ok && !r.observation)?.message ?? t("errors.stillFailsWhy");
        throw new UserError(t("errors.stillFails", { n: i + 1, title: stepAt(s, i).title, why }), t("errors.stillFailsHint", { step: target + 1, name: s.name }));
      }
      p = markSolvedWithHelp(p, ids[i]!);
      solved.push(i);
      onStep?.(i, "solved");
    } else onStep?.(i, "checked");
    p = recordPass(p, ids, i);
  }
  return { progress: moveTo(p, ids, target), solved };
}
