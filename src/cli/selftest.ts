import type { Command } from "commander";
import { ExitCode, UserError } from "../errors.js";
import type { LabProof } from "../lab/selftest.js";
import { bold, dim, green, printJson, progressLine, red } from "./output.js";
import { interruptSignal } from "./signals.js";

export function registerSelftest(program: Command): void {
  program
    .command("selftest [labs...]")
    .description("prove labs: each step fails before its solution, passes after it and after every variant, and fails with the expected words after every mistake (exit 0 all proved)")
    .option("--vm", "run in the lvs-lab VM")
    .option("--lang <lang>", "prove the lesson in this language")
    .option("--json", "machine-readable output")
    .action(async (labs: string[], opts: { vm?: boolean; json?: boolean; lang?: string }) => {
      const { engineFor } = await import("./context.js");
      const { ensureLabImage } = await import("../docker/image.js");
      const { probeKernel, missingRequirements } = await import("../lab/kernel.js");
      const { selftestLab, stepProved } = await import("../lab/selftest.js");
      const { listLabIds, loadLab } = await import("../lesson/load.js");
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
          lang: opts.lang,
          onCase: (step, c) => !opts.json && progressLine(`  ${id} step ${step} ${c.kind} ${c.name}: ${c.ok ? "as expected" : "NOT as expected"} (${c.seconds.toFixed(1)} s)`),
          onStep: (p) => !opts.json && progressLine(`  ${id} step ${p.step} ${stepProved(p) ? "proved" : "NOT proved"} (${p.seconds.toFixed(1)} s)`),
        });
        proofs.push(proof);
        if (signal.aborted) throw new UserError("Interrupted; the selftest instance was removed.", undefined, ExitCode.interrupted);
      }
      const ok = proofs.every((p) => p.ok);
      if (opts.json) printJson({ ok: ok && !notRun.length, engine: engine.host, proofs, notRun });
      else {
        console.log(bold("\nlab         step  fails before  passes after  variants  mistakes  seconds"));
        for (const p of proofs) {
          for (const s of p.steps) {
            const mark = (b: boolean) => (b ? green("yes") : red("NO "));
            const tally = (kind: string) => {
              const of = s.cases.filter((c) => c.kind === kind);
              const good = of.filter((c) => c.ok).length;
              return (good === of.length ? green : red)(`${good}/${of.length}`.padEnd(8));
            };
            console.log(
              `${p.lab.padEnd(11)} ${String(s.step).padStart(4)}  ${mark(s.failedBefore)}           ${mark(s.passedAfter)}           ${tally("variant")}  ${tally("mistake")}  ${s.seconds.toFixed(1).padStart(6)}  ${dim(s.id)}`,
            );
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
