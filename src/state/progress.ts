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
});
export type Progress = z.infer<typeof progressSchema>;

function progressPath(instance: string): string {
  return join(stateDir(), "progress", `${instance}.json`);
}

export function freshProgress(lab: string): Progress {
  return { lab, step: 0, passed: [], solvedWithHelp: [], hintsShown: {} };
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
