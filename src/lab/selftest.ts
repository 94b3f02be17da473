/**
 * Proves a lab: on a fresh instance, for every step in order, the step's probes fail
 * before its reference solution and all pass after it.
 */
import type { Engine } from "../docker/engine.js";
import { checkStep, solveStep, startLab, stopLab } from "./session.js";
import type { ProbeResult } from "../probes/run.js";

export interface StepProof {
  step: number;
  id: string;
  title: string;
  failedBefore: boolean;
  passedAfter: boolean;
  /** Messages of the probes that did not behave (empty when the step is proved). */
  surprises: string[];
  seconds: number;
}

export interface LabProof {
  lab: string;
  ok: boolean;
  steps: StepProof[];
  seconds: number;
  error?: string;
}

const SETTLE_TRIES = 5;
const SETTLE_DELAY_MS = 1500;

/** Some effects take a moment (VRRP elections, IPVS counters): re-check a few times before calling it. */
async function checkUntilPassed(run: () => Promise<ProbeResult[]>): Promise<ProbeResult[]> {
  let results = await run();
  for (let i = 1; i < SETTLE_TRIES && !results.every((r) => r.ok); i++) {
    await new Promise((r) => setTimeout(r, SETTLE_DELAY_MS));
    results = await run();
  }
  return results;
}

export async function selftestLab(
  labId: string,
  engine: Engine,
  opts: { signal?: AbortSignal; onStep?: (p: StepProof) => void } = {},
): Promise<LabProof> {
  const began = Date.now();
  const name = `st-${labId}-${process.pid % 100000}`;
  const steps: StepProof[] = [];
  try {
    const s = await startLab(labId, engine, { name, signal: opts.signal, lang: "en" });
    for (const [i, step] of s.lab.lesson.steps.entries()) {
      const stepBegan = Date.now();
      const before = await checkStep(s, i);
      await solveStep(s, i);
      const after = await checkUntilPassed(() => checkStep(s, i));
      const failedBefore = before.some((r) => !r.ok);
      const passedAfter = after.every((r) => r.ok);
      const surprises = [
        ...(failedBefore ? [] : ["every probe already passed before the solution"]),
        ...after.filter((r) => !r.ok).map((r) => `after the solution: ${r.message}`),
      ];
      const proof = { step: i + 1, id: step.id, title: step.title, failedBefore, passedAfter, surprises, seconds: (Date.now() - stepBegan) / 1000 };
      steps.push(proof);
      opts.onStep?.(proof);
      if (opts.signal?.aborted) break;
    }
    return { lab: labId, ok: steps.every((p) => p.failedBefore && p.passedAfter), steps, seconds: (Date.now() - began) / 1000 };
  } catch (e) {
    return { lab: labId, ok: false, steps, seconds: (Date.now() - began) / 1000, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await stopLab(engine, name).catch(() => undefined);
  }
}
