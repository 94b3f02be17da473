/**
 * Check latency on a started and fully solved dnat instance: in-process (a fixed list of
 * five probes, the same with a fresh session, dnat step 3 as written) and as whole CLI
 * processes, with the floors `--version` and `node -e 0`.
 */
import { instanceContainers } from "../docker/instance.js";
import { checkStep, openLab, probeContext, solveStep, startLab, type LabSession } from "../lab/session.js";
import { checkBlockSchema } from "../probes/registry.js";
import { runProbes, type NodeExec, type ProbeResult } from "../probes/runner.js";
import { cleanup, CLI, engine, fmtMs, log, now, run, stats, tracedEngine } from "./common.js";
import type { Flags } from "./flags.js";
import type { BenchResults, CheckResults } from "./results.js";

/**
 * Five probes on three nodes (director, rs1, client), all passing once dnat is solved,
 * none with sleeps or long timeouts (no reply-path capture).
 */
function dnatCheckProbes() {
  return checkBlockSchema.parse([
    { kind: "sysctl", node: "director", key: "net.ipv4.ip_forward", value: 1 },
    {
      kind: "iptables",
      node: "director",
      table: "nat",
      chain: "PREROUTING",
      packet: { in: "{{director.ext.iface}}", source: "{{client.ext}}", destination: "{{director.ext}}", protocol: "tcp", dport: 8001 },
      action: { target: "DNAT", to: "{{rs1.int}}:8000" },
    },
    { kind: "route", node: "rs1", to: "default", via: "{{director.int}}" },
    { kind: "address", node: "rs1", address: "{{rs1.int}}" },
    { kind: "http", node: "client", to: "{{director.ext}}:8001", count: 4, expect: { answers: "all", servers: ["rs1"], clientAddress: "{{client.ext}}" } },
  ]);
}

function execOn(s: Pick<LabSession, "engine" | "containers">): NodeExec {
  return (node, script) => s.engine.exec(s.containers[node]!, ["sh", "-c", script], { timeoutMs: 30_000, what: `the probes on ${node}` });
}

export async function sectionCheck(results: BenchResults, flags: Flags): Promise<void> {
  const name = "bench-check";
  const out: CheckResults = (results.check = {});
  try {
    const s0 = await startLab("dnat", engine, { name });
    for (let i = 0; i < s0.lab.lesson.steps.length; i++) await solveStep(s0, i);
    const open = async () => openLab({ name, engine, containers: await instanceContainers(engine, name) });
    const s = await open();
    const probes = dnatCheckProbes();
    const step3 = s.lab.lesson.steps[2]!;
    const series: Record<"five" | "step3" | "openFive", { label: string; samples: number[]; failed: number; fn: () => Promise<ProbeResult[]> }> = {
      five: { label: "5 probes on 3 nodes (in-memory list, runProbes)", samples: [], failed: 0, fn: () => runProbes(probes, probeContext(s), execOn(s)) },
      step3: { label: `dnat step 3 as written (${step3.checks.length} probes; http with reply-path capture)`, samples: [], failed: 0, fn: () => checkStep(s, 2) },
      openFive: {
        label: "openLab + 5 probes (a fresh session per check, as one CLI run does)",
        samples: [],
        failed: 0,
        fn: async () => {
          const s2 = await open();
          return runProbes(probes, probeContext(s2), execOn(s2));
        },
      },
    };
    for (const v of Object.values(series)) for (let i = 0; i < 2; i++) await v.fn(); // warm-up
    for (let i = 0; i < flags.samples; i++) {
      for (const v of Object.values(series)) {
        const began = now();
        const res = await v.fn();
        v.samples.push(now() - began);
        if (!res.every((r) => r.ok)) v.failed++;
      }
    }
    for (const [k, v] of Object.entries(series)) out[k as keyof typeof series] = { label: v.label, failed: v.failed, ...stats(v.samples), samples: v.samples.map(Math.round) };
    log(`in-process check: 5 probes median ${fmtMs(out.five?.median)} p95 ${fmtMs(out.five?.p95)}; step 3 p95 ${fmtMs(out.step3?.p95)}`);

    // Where one in-process check's time goes (engine calls of one 5-probe run).
    const t = tracedEngine();
    const ts = { ...s, engine: t.engine };
    await runProbes(probes, probeContext(ts), execOn(ts));
    t.reset();
    const began = now();
    await runProbes(probes, probeContext(ts), execOn(ts));
    out.fiveTrace = { totalMs: Math.round(now() - began), calls: [...t.calls] };

    // Whole CLI processes: node start-up + imports + openLab + check + progress file
    // (and the baseline build's, interleaved).
    const binaries = flags.baselineCli ? [CLI, flags.baselineCli] : [CLI];
    const cli = binaries.map(() => ({ samples: [] as number[], inside: [] as number[], failed: 0, floor: [] as number[] }));
    for (let i = 0; i < flags.samples; i++) {
      for (const [b, bin] of binaries.entries()) {
        const r = await run("node", [bin, "check", "--name", name, "--step", "3", "--json"]);
        cli[b]!.samples.push(r.ms);
        try {
          const report = JSON.parse(r.stdout) as { seconds: number; passed: boolean };
          cli[b]!.inside.push(report.seconds * 1000);
          if (!report.passed) cli[b]!.failed++;
        } catch {
          cli[b]!.failed++;
        }
        if (i < 5) cli[b]!.floor.push((await run("node", [bin, "--version"])).ms);
      }
    }
    const [mine, baseline] = cli;
    out.cli = { label: "`node bin/lvs-lab.js check --step 3 --json` (whole process)", failed: mine!.failed, ...stats(mine!.samples), samples: mine!.samples.map(Math.round), checkInsideMedian: stats(mine!.inside).median };
    out.cliFloor = { label: "`node bin/lvs-lab.js --version` (node + imports only)", ...stats(mine!.floor) };
    if (baseline) {
      out.baselineCli = { label: "the same check with the baseline build", failed: baseline.failed, ...stats(baseline.samples), samples: baseline.samples.map(Math.round), checkInsideMedian: stats(baseline.inside).median };
      out.baselineCliFloor = { label: "`--version` with the baseline build", ...stats(baseline.floor) };
    }
    out.nodeFloor = { label: "`node -e 0`", ...stats(await Promise.all([0, 1, 2].map(async () => (await run("node", ["-e", "0"])).ms))) };
    log(`CLI check: median ${fmtMs(out.cli.median)} p95 ${fmtMs(out.cli.p95)}; --version ${fmtMs(out.cliFloor.median)}`);
  } finally {
    await cleanup(name);
  }
}
