/** Stop (one instance, four in parallel) and scale (N instances started at once). */
import { startLab, stopLab } from "../lab/session.js";
import { cleanup, CLI, engine, fmtMs, log, mustSucceed, now, run, sleep, stats, topologyNodes, tracedEngine, waitReady } from "./common.js";
import type { Flags } from "./flags.js";
import type { BenchResults, StopResults } from "./results.js";

export async function sectionStop(results: BenchResults, flags: Flags): Promise<void> {
  const out: StopResults = (results.stop = { single: { cli: [], inProcess: [], baselineCli: [] }, parallel: [], parallelBaseline: [] });
  const binOf = (mode: "cli" | "baselineCli") => (mode === "cli" ? CLI : flags.baselineCli!);
  const processModes = flags.baselineCli ? (["cli", "baselineCli"] as const) : (["cli"] as const);
  for (let r = 0; r < flags.stopRuns; r++) {
    const modes = [...processModes, "inProcess" as const];
    for (const mode of r % 2 ? modes.reverse() : modes) {
      const name = `bench-stop-${mode[0]}${r}`;
      await startLab("dnat", engine, { name });
      await sleep(300);
      const began = now();
      if (mode === "inProcess") await stopLab(engine, name);
      else mustSucceed(await run("node", [binOf(mode), "stop", "--name", name]), `lvs-lab stop ${name}`);
      out.single[mode].push(now() - began);
      await cleanup(name);
    }
  }
  for (let r = 0; r < flags.parallelStopRuns; r++) {
    for (const mode of r % 2 ? [...processModes].reverse() : processModes) {
      const names = [0, 1, 2, 3].map((i) => `bench-pstop-${mode[0]}${r}-${i}`);
      for (const n of names) await startLab("dnat", engine, { name: n });
      await sleep(300);
      const began = now();
      const each = await Promise.all(names.map(async (n) => mustSucceed(await run("node", [binOf(mode), "stop", "--name", n]), `lvs-lab stop ${n}`).ms));
      (mode === "cli" ? out.parallel : out.parallelBaseline).push({ totalMs: now() - began, eachMs: each });
      await Promise.all(names.map(cleanup));
    }
  }
  // Where one removal's time goes.
  const t = tracedEngine();
  const name = "bench-stop-trace";
  await startLab("dnat", engine, { name });
  t.reset();
  const began = now();
  await stopLab(t.engine, name);
  out.trace = { totalMs: Math.round(now() - began), calls: [...t.calls] };
  await cleanup(name);
  out.singleStats = { cli: stats(out.single.cli), inProcess: stats(out.single.inProcess), baselineCli: stats(out.single.baselineCli) };
  out.parallelStats = stats(out.parallel.map((p) => p.totalMs));
  out.parallelBaselineStats = stats(out.parallelBaseline.map((p) => p.totalMs));
  log(`stop: CLI median ${fmtMs(out.singleStats.cli.median)}, 4 in parallel median ${fmtMs(out.parallelStats.median)}`);
}

export async function sectionScale(results: BenchResults, flags: Flags): Promise<void> {
  const nodes = await topologyNodes("dnat");
  const out = (results.scale = [] as NonNullable<BenchResults["scale"]>);
  for (let round = 0; round < flags.scaleRounds; round++) {
    for (const k of flags.scale) {
      const names = Array.from({ length: k }, (_, i) => `bench-sc${round}-${k}-${i}`);
      const began = now();
      try {
        const each = await Promise.all(
          names.map(async (n) => {
            const r = await run("node", [CLI, "start", "dnat", "--name", n, "--no-ui"]);
            if (r.code !== 0) return { ok: false, ms: r.ms, error: (r.stderr || r.stdout).trim().slice(-300) };
            await waitReady(n, nodes);
            return { ok: true, ms: now() - began, error: "" };
          }),
        );
        const total = now() - began;
        out.push({ round, instances: k, totalMs: Math.round(total), perInstanceMs: Math.round(total / k), failures: each.filter((e) => !e.ok).map((e) => e.error), eachMs: each.map((e) => Math.round(e.ms)) });
        log(`scale ${k}: ${fmtMs(total)} (${fmtMs(total / k)} per instance)${each.some((e) => !e.ok) ? " WITH FAILURES" : ""}`);
      } finally {
        await Promise.all(names.map(cleanup));
        await sleep(500);
      }
    }
  }
}
