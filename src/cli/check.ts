import type { Command } from "commander";
import { ExitCode, UserError } from "../errors.js";
import { checkStep, openLab, stepAt, type LabSession } from "../lab/session.js";
import type { ProbeResult } from "../probes/run.js";
import { loadProgress, saveProgress, type Progress } from "../state/progress.js";
import { targetInstance } from "./context.js";
import { bold, dim, formatProbe, green, printJson, red } from "./output.js";

export interface CheckReport {
  instance: string;
  lab: string;
  step: { number: number; id: string; title: string; of: number };
  passed: boolean;
  probes: Array<Pick<ProbeResult, "kind" | "node" | "description" | "ok" | "message" | "hint" | "spread">>;
  seconds: number;
}

export async function openTarget(name: string | undefined, opts: { allowBroken?: boolean } = {}): Promise<{ session: LabSession; progress: Progress }> {
  const target = await targetInstance(name);
  const session = await openLab(target.name, target.engine, opts);
  const { progress, backedUpTo } = await loadProgress(target.name, session.lab.lesson.meta.id);
  if (backedUpTo) process.stderr.write(`lvs-lab: the saved progress was unreadable; it was moved to ${backedUpTo} and you start at step 1.\n`);
  return { session, progress };
}

export function stepIndex(option: string | undefined, progress: Progress, session: LabSession): number {
  if (option === undefined) return Math.min(progress.step, session.lab.lesson.steps.length - 1);
  const n = Number(option);
  if (!Number.isInteger(n) || n < 1 || n > session.lab.lesson.steps.length) {
    throw new UserError(`--step must be a number from 1 to ${session.lab.lesson.steps.length}.`);
  }
  return n - 1;
}

/** A passed step is remembered; checking the current step moves on to the next. */
export function recordResult(progress: Progress, session: LabSession, index: number, passed: boolean): Progress {
  const step = stepAt(session, index);
  if (!passed) return progress;
  const passedIds = progress.passed.includes(step.id) ? progress.passed : [...progress.passed, step.id];
  const last = session.lab.lesson.steps.length - 1;
  const next = index === progress.step ? Math.min(index + 1, last) : progress.step;
  return { ...progress, passed: passedIds, step: next };
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("run the probes of the current step (exit 0 pass, 1 fail, 2 environment problem)")
    .option("--name <name>", "instance name")
    .option("--step <n>", "check step n instead of the current one")
    .option("--json", "machine-readable output (stable, see README)")
    .option("--watch", "re-check every 2 s until the step passes")
    .action(async (opts: { name?: string; step?: string; json?: boolean; watch?: boolean }) => {
      const { session, progress } = await openTarget(opts.name);
      const index = stepIndex(opts.step, progress, session);
      const step = stepAt(session, index);
      for (;;) {
        const began = Date.now();
        const results = await checkStep(session, index);
        const passed = results.every((r) => r.ok);
        const report: CheckReport = {
          instance: session.name,
          lab: session.lab.lesson.meta.id,
          step: { number: index + 1, id: step.id, title: step.title, of: session.lab.lesson.steps.length },
          passed,
          probes: results.map(({ kind, node, description, ok, message, hint, spread }) => ({ kind, node, description, ok, message, hint, spread })),
          seconds: (Date.now() - began) / 1000,
        };
        const updated = recordResult(progress, session, index, passed);
        await saveProgress(session.name, updated);
        if (opts.json) printJson(report);
        else {
          console.log(`${bold(`Step ${index + 1}/${report.step.of}: ${step.title}`)} ${dim(`(${report.seconds.toFixed(1)} s)`)}`);
          for (const r of results) console.log(formatProbe(r));
          if (passed) {
            const next = session.lab.lesson.steps[updated.step];
            console.log(green(index === report.step.of - 1 ? "\nAll steps done. `lvs-lab stop` removes the lab." : `\nPassed. Next: step ${updated.step + 1}, ${next?.title}`));
          } else console.log(red("\nNot yet.") + dim(" Hints: the lesson's hint blocks (`lvs-lab start` shows the lesson)."));
        }
        if (passed || !opts.watch) {
          process.exitCode = passed ? ExitCode.ok : ExitCode.failed;
          return;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
}
