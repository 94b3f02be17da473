/**
 * Checking a learner's steps and recording what passed, written once for `check`,
 * `check --watch`, the lesson screen and catch-ups (`solve --to`, a class's offer). What
 * happened comes back as events, plain data, for whoever reports it: the class hears of a
 * learner's lab through them and through nothing else.
 */
import { stepPasses } from "../probes/runner.js";
import { recordChecks, stepStartedAt, type Progress } from "../state/progress.js";
import { checkOnward, checkStep, type LabSession, type StepCheck } from "./session.js";

/** What happened to a learner's lesson; the class's event types are these. */
export type RunEventType = "start" | "check" | "solve" | "hint" | "predict" | "progress" | "catch-up";

export interface RunEvent {
  type: RunEventType;
  /** The progress after it happened. */
  progress: Progress;
  /** The verdicts of the steps checked (a check only). */
  checks?: StepCheck[];
}

export interface CheckedAndRecorded {
  checks: StepCheck[];
  progress: Progress;
  events: RunEvent[];
}

export interface CheckAndRecordOptions {
  /** Only the step at `from` (`check --step`, the lesson screen): no onward checks. */
  only?: boolean;
  /** Every step from `from` on, whatever the outcome (`check --all`). */
  all?: boolean;
}

export function stepIdsOf(s: LabSession): string[] {
  return s.lab.lesson.steps.map((st) => st.id);
}

/**
 * Checks the step at `from` (and, while they pass, the ones after it, see checkOnward),
 * each measured from when it became current, and records the passes by the rules of
 * state/progress.ts. Saving is the caller's: the lesson screen keeps its progress in its
 * reducer and saves every change of it, whatever caused it.
 */
export async function checkAndRecord(s: LabSession, progress: Progress, from: number, opts: CheckAndRecordOptions = {}): Promise<CheckedAndRecorded> {
  const ids = stepIdsOf(s);
  const startedAt = (i: number) => stepStartedAt(progress, ids, i);
  const checks = opts.only
    ? [await checkStep(s, from, { stepStartedAt: startedAt(from) }).then((results) => ({ index: from, results, passed: stepPasses(results) }))]
    : await checkOnward(s, from, { all: opts.all, startedAt });
  const recorded = recordChecks(progress, ids, checks);
  return { checks, progress: recorded, events: [{ type: "check", progress: recorded, checks }] };
}

/** A change of progress (a hint, a prediction, a solution shown, a pass) as the event that names it. */
export function progressEvent(before: Progress, after: Progress): RunEvent {
  return { type: changeType(before, after), progress: after };
}

/** What kind of change one progress is from another. */
export function changeType(before: Progress, after: Progress): RunEventType {
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  if (differs(before.hintsShown, after.hintsShown)) return "hint";
  if (differs(before.predictions, after.predictions)) return "predict";
  if (differs(before.solvedWithHelp, after.solvedWithHelp)) return "solve";
  return "progress";
}
