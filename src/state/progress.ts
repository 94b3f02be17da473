/**
 * A learner's progress in one instance: current step, passed steps, steps solved with
 * help, hints shown. Kept in the XDG state directory; a corrupt file is set aside and
 * the learner starts fresh instead of crashing.
 */
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { stateDir } from "../paths.js";
import { writeJsonAtomic } from "./instances.js";

const progressSchema = z.object({
  lab: z.string(),
  step: z.number().int().min(0),
  passed: z.array(z.string()),
  solvedWithHelp: z.array(z.string()),
  hintsShown: z.record(z.number().int().min(0)),
  /** The learner's answer (1-based choice) to a step's prediction, by step id. */
  predictions: z.record(z.number().int().min(1)).default({}),
  /** When each step became the current one (ISO time): measurements of a step start there. */
  startedAt: z.record(z.string()).default({}),
});
export type Progress = z.infer<typeof progressSchema>;

function progressPath(instance: string): string {
  return join(stateDir(), "progress", `${instance}.json`);
}

export function freshProgress(lab: string, now = new Date()): Progress {
  return { lab, step: 0, passed: [], solvedWithHelp: [], hintsShown: {}, predictions: {}, startedAt: { [STARTED_FIRST]: now.toISOString() } };
}

// The first step's id is not known here; its start is filed under this key until it is.
const STARTED_FIRST = "*";

/*
 * The rules of progress, pure, shared by the CLI and the UI. Steps are identified by id,
 * positions by index into the lesson's steps.
 */

/** When the step at `index` became current (for measurements that look back to it). */
export function stepStartedAt(progress: Progress, stepIds: string[], index: number): string | undefined {
  return progress.startedAt[stepIds[index]!] ?? (index === 0 ? progress.startedAt[STARTED_FIRST] : undefined);
}

/** Makes the step at `index` the current one, remembering when it started. */
export function moveTo(progress: Progress, stepIds: string[], index: number, now = new Date()): Progress {
  if (index === progress.step && stepStartedAt(progress, stepIds, index)) return progress;
  const id = stepIds[index]!;
  return { ...progress, step: index, startedAt: { ...progress.startedAt, [id]: now.toISOString() } };
}

/**
 * A passed step is remembered; when it is the current one, the next step becomes
 * current (the last step stays current once passed).
 */
export function recordPass(progress: Progress, stepIds: string[], index: number, now = new Date()): Progress {
  const id = stepIds[index]!;
  const passed = progress.passed.includes(id) ? progress.passed : [...progress.passed, id];
  const withPass = { ...progress, passed };
  if (index !== progress.step || index >= stepIds.length - 1) return withPass;
  return moveTo(withPass, stepIds, index + 1, now);
}

/** The passes among a check's steps recorded in order (recordPass for each step that passed). */
export function recordChecks(progress: Progress, stepIds: string[], checks: Array<{ index: number; passed: boolean }>, now = new Date()): Progress {
  return checks.reduce((p, c) => (c.passed ? recordPass(p, stepIds, c.index, now) : p), progress);
}

export function isFinished(progress: Progress, stepIds: string[]): boolean {
  return stepIds.every((id) => progress.passed.includes(id));
}

export function markSolvedWithHelp(progress: Progress, stepId: string): Progress {
  return progress.solvedWithHelp.includes(stepId) ? progress : { ...progress, solvedWithHelp: [...progress.solvedWithHelp, stepId] };
}

/** One hint more for a step, up to `available`; returns the progress unchanged when all are shown. */
export function revealHint(progress: Progress, stepId: string, available: number): Progress {
  const shown = progress.hintsShown[stepId] ?? 0;
  if (shown >= available) return progress;
  return { ...progress, hintsShown: { ...progress.hintsShown, [stepId]: shown + 1 } };
}

/** The learner's prediction is kept once: a second answer after the measurement would be hindsight. */
export function recordPrediction(progress: Progress, stepId: string, choice: number): Progress {
  if (progress.predictions[stepId] !== undefined || progress.passed.includes(stepId)) return progress;
  return { ...progress, predictions: { ...progress.predictions, [stepId]: choice } };
}

export interface LoadedProgress {
  progress: Progress;
  /** Set when a corrupt file was moved aside to this path. */
  backedUpTo?: string;
}

export async function loadProgress(instance: string, lab: string): Promise<LoadedProgress> {
  const path = progressPath(instance);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return { progress: freshProgress(lab) };
  }
  try {
    const progress = progressSchema.parse(JSON.parse(text));
    return { progress: progress.lab === lab ? progress : freshProgress(lab) };
  } catch {
    const backedUpTo = `${path}.corrupt-${Date.now()}`;
    await rename(path, backedUpTo).catch(() => undefined);
    return { progress: freshProgress(lab), backedUpTo };
  }
}

export async function saveProgress(instance: string, progress: Progress): Promise<void> {
  await mkdir(join(stateDir(), "progress"), { recursive: true });
  await writeJsonAtomic(progressPath(instance), progress);
}

export async function deleteProgress(instance: string): Promise<void> {
  await rm(progressPath(instance), { force: true });
}
