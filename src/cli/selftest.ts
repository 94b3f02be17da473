import type { Command } from "commander";
import { ensureLabImage } from "../docker/image.js";
import { ExitCode, UserError } from "../errors.js";
import { probeKernel, missingRequirements } from "../lab/kernel.js";
import { selftestLab, type LabProof } from "../lab/selftest.js";
import { listLabIds, loadLab } from "../lesson/load.js";
import { engineFor } from "./context.js";
import { bold, dim, green, printJson, progressLine, red } from "./output.js";
import { interruptSignal } from "./signals.js";

export function registerSelftest(program: Command): void {
  program
    .command("selftest [labs...]")
    .description("prove labs: each step's probes fail before its solution and pass after (exit 0 all proved)")
    .option("--vm", "run in the lvs-lab VM")
    .option("--json", "machine-readable output")
    .action(async (labs: string[], opts: { vm?: boolean; json?: boolean }) => {
      const engine = await engineFor(opts);
      const ids = labs.length ? labs : await listLabIds();
      for (const id of ids) await loadLab(id);
      const image = await ensureLabImage(engine, (e) => progressLine(`image: ${e.line}`));
      const kernel = await probeKernel(engine, image);
      const proofs: LabProof[] = [];
      const notRun: Array<{ lab: string; reason: string }> = [];
      const signal = interruptSignal();
      for (const id of ids) {
        const { lesson } = await loadLab(id);
        const missing = missingRequirements(lesson.meta.requirements, kernel);
        if (missing.length) {
          notRun.push({ lab: id, reason: `needs ${missing.join(" and ")}, which the kernel of ${engine.host} lacks` });
          continue;
        }
        if (!opts.json) progressLine(`selftest ${id}…`);
        const proof = await selftestLab(id, engine, {
          signal,
          onStep: (p) => !opts.json && progressLine(`  ${id} step ${p.step} ${p.failedBefore && p.passedAfter ? "proved" : "NOT proved"} (${p.seconds.toFixed(1)} s)`),
        });
        proofs.push(proof);
        if (signal.aborted) throw new UserError("Interrupted; the selftest instance was removed.", undefined, ExitCode.interrupted);
      }
      const ok = proofs.every((p) => p.ok);
      if (opts.json) printJson({ ok: ok && !notRun.length, engine: engine.host, proofs, notRun });
      else {
        console.log(bold("\nlab         step  fails before  passes after  seconds"));
        for (const p of proofs) {
          for (const s of p.steps) {
            const mark = (b: boolean) => (b ? green("yes") : red("NO "));
            console.log(`${p.lab.padEnd(11)} ${String(s.step).padStart(4)}  ${mark(s.failedBefore)}           ${mark(s.passedAfter)}           ${s.seconds.toFixed(1).padStart(5)}  ${dim(s.id)}`);
            for (const why of s.surprises) console.log(`            ${red("→")} ${why}`);
          }
          if (p.error) console.log(`${p.lab.padEnd(11)} ${red("error")}: ${p.error}`);
          console.log(`${p.lab.padEnd(11)} ${p.ok ? green("PROVED") : red("FAILED")} in ${p.seconds.toFixed(1)} s`);
        }
        for (const n of notRun) console.log(`${n.lab.padEnd(11)} ${red("NOT RUN")}: ${n.reason} (try --vm)`);
      }
      process.exitCode = !ok ? ExitCode.failed : notRun.length ? ExitCode.environment : ExitCode.ok;
    });
}
