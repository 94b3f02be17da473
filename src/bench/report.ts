/** The bench's markdown table (bench/results/latest.md) and which targets are met. */
import { fmtMs } from "./common.js";
import { METHODS, type BenchResults, type StartMethod, type Target } from "./results.js";
import { vmMarkdown, vmTargets } from "./vm-report.js";

const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}×` : "–");
const verdict = (ok: boolean | undefined) => (ok === undefined ? "n/a" : ok ? "**met**" : "**missed**");

export function markdown(res: BenchResults, uiEnv: string[]): string {
  const L: string[] = [];
  const e = res.env;
  L.push(`# lvs-lab bench — ${res.date}`, "");
  L.push(`Engine ${e.engine.version} (API ${e.engine.apiVersion}), kernel ${e.engine.kernel}; ${e.cpus} CPUs, ${e.memGb} GB; node ${e.node}; ${e.compose}; image ${e.image}.`);
  L.push(`Other containers on the engine when the bench began: ${e.otherContainers}; load average ${e.loadAverage.map((l) => l.toFixed(2)).join(" ")} (shared machine: expect noise). Flags: ${e.flags}.`, "");
  if (res.start) {
    L.push("## Warm start (image present) until every node is ready", "");
    L.push("Ready = all containers running and every real server's responder listening (`ss -Hltn`), polled by the bench every 25 ms for every method alike. Interleaved runs; median (min–max).", "");
    L.push("| topology | method | how | runs | median | min | max | ratio to (a) | returned (median) |", "|---|---|---|---|---|---|---|---|---|");
    for (const [id, by] of Object.entries(res.start)) {
      for (const [m, s] of Object.entries(by) as Array<[StartMethod, NonNullable<(typeof by)[StartMethod]>]>) {
        L.push(`| ${id} | ${METHODS[m].label} | ${METHODS[m].how} | ${s.n} | ${fmtMs(s.median)} | ${fmtMs(s.min)} | ${fmtMs(s.max)} | ${m === "script" ? "1.00×" : ratio(s.median, by.script?.median)} | ${fmtMs(s.returnedMedian)} |`);
      }
    }
    L.push("", "nat is started with the library path (its lesson needs ip_vs, which this kernel lacks, so `lvs-lab start nat` refuses); dnat with all paths.");
    L.push("The baselines are generated from `topologies/<id>.yaml` through `planInstance` (same image, names, labels, env, capabilities, sysctls, addresses); the docker CLI and compose cannot set ReadonlyPaths, so they run with Docker's default masking (all of /proc/sys read-only), the closest equivalent. Subnet allocation for the baselines happens before the clock starts; lvs-lab's time includes its own allocation. Examples: `bench/results/generated/`.", "");
  }
  if (res.check) {
    const c = res.check;
    L.push("## Check latency (dnat, solved, all probes passing)", "");
    L.push("| what | samples | median | p95 | min | max | failed |", "|---|---|---|---|---|---|---|");
    for (const s of [c.five, c.openFive, c.step3, c.cli, c.baselineCli, c.cliFloor, c.baselineCliFloor, c.nodeFloor]) {
      if (s) L.push(`| ${s.label} | ${s.n} | ${fmtMs(s.median)} | ${fmtMs(s.p95)} | ${fmtMs(s.min)} | ${fmtMs(s.max)} | ${s.failed ?? "–"} |`);
    }
    if (c.cli) L.push("", `Inside the CLI process the check itself (its report's \`seconds\`) took ${fmtMs(c.cli.checkInsideMedian)} (median${c.baselineCli ? `; baseline ${fmtMs(c.baselineCli.checkInsideMedian)}` : ""}); the rest is node start-up, imports and openLab.`);
    L.push("");
  }
  if (res.stop?.singleStats && res.stop.parallelStats) {
    const { cli, inProcess, baselineCli } = res.stop.singleStats;
    const p = res.stop.parallelStats;
    const pb = res.stop.parallelBaselineStats;
    L.push("## Stop", "");
    L.push("| what | runs | median | min | max |", "|---|---|---|---|---|");
    L.push(`| one dnat instance, \`lvs-lab stop --name X\` (process) | ${cli.n} | ${fmtMs(cli.median)} | ${fmtMs(cli.min)} | ${fmtMs(cli.max)} |`);
    L.push(`| one dnat instance, in-process \`stopLab\` | ${inProcess.n} | ${fmtMs(inProcess.median)} | ${fmtMs(inProcess.min)} | ${fmtMs(inProcess.max)} |`);
    L.push(`| 4 instances, 4 \`lvs-lab stop --name\` processes in parallel (total) | ${p.n} | ${fmtMs(p.median)} | ${fmtMs(p.min)} | ${fmtMs(p.max)} |`);
    if (baselineCli.n) L.push(`| one dnat instance, baseline build's \`stop\` (process) | ${baselineCli.n} | ${fmtMs(baselineCli.median)} | ${fmtMs(baselineCli.min)} | ${fmtMs(baselineCli.max)} |`);
    if (pb?.n) L.push(`| 4 instances, 4 baseline \`stop\` processes in parallel (total) | ${pb.n} | ${fmtMs(pb.median)} | ${fmtMs(pb.min)} | ${fmtMs(pb.max)} |`);
    L.push("");
  }
  if (res.scale) {
    L.push("## Scale: N dnat instances started concurrently (`lvs-lab start` processes) until all ready", "");
    L.push("| instances | round | total | per instance | failures |", "|---|---|---|---|---|");
    for (const r of res.scale) {
      const failures = r.failures.length ? `${r.failures.length}: ${r.failures[0]!.replace(/\|/g, "/").replace(/\n/g, " ").slice(0, 120)}` : "0";
      L.push(`| ${r.instances} | ${r.round + 1} | ${fmtMs(r.totalMs)} | ${fmtMs(r.perInstanceMs)} | ${failures} |`);
    }
    L.push("");
  }
  if (res.ui) {
    L.push(`## TUI frugality (idle, live re-checking, ${res.ui.seconds} s${uiEnv.length ? `, env ${uiEnv.join(" ")}` : ""})`, "");
    L.push("| build | resident memory median | max | CPU (share of one core, whole window) | worst 1 s |", "|---|---|---|---|---|");
    for (const [build, u] of [["this", res.ui], ["baseline", res.uiBaseline]] as const) {
      if (!u) continue;
      if (u.available && u.rssMb && u.cpuPercent !== undefined) {
        L.push(`| ${build} | ${u.rssMb.median?.toFixed(1)} MB | ${u.rssMb.max?.toFixed(1)} MB | ${u.cpuPercent.toFixed(2)} % | ${u.cpuPercentMax1s?.toFixed(1)} % |`);
      } else L.push(`| ${build} | UI not available: ${u.reason} | | | |`);
    }
    L.push("");
  }
  if (res.vm) L.push(...vmMarkdown(res.vm));
  if (res.targets?.length) {
    L.push("## Targets", "");
    for (const t of res.targets) L.push(`- ${t.what}: ${t.value} → ${verdict(t.met)}`);
    L.push("");
  }
  return L.join("\n");
}

const within = (value: number | undefined, limit: number) => (value === undefined ? undefined : value <= limit);

export function targets(res: BenchResults): Target[] {
  const t: Target[] = [];
  const d = res.start?.dnat;
  const script = d?.script?.median;
  if (d?.cli) {
    const before = d.baselineCli ? ` (baseline build ${ratio(d.baselineCli.median, script)})` : "";
    t.push({ what: "warm start dnat (lvs-lab CLI, whole process) ≤ 1.3× script", value: ratio(d.cli.median, script) + before, met: within(d.cli.median, 1.3 * (script ?? NaN)) });
    t.push({ what: "warm start dnat (lvs-lab CLI) faster than docker-compose", value: `${fmtMs(d.cli.median)} vs ${fmtMs(d.compose?.median)}`, met: within(d.cli.median, d.compose?.median ?? NaN) });
  }
  if (d?.startLab) t.push({ what: "warm start dnat (in-process startLab()) ≤ 1.1× script", value: ratio(d.startLab.median, script), met: within(d.startLab.median, 1.1 * (script ?? NaN)) });
  const n = res.start?.nat;
  if (n?.library) {
    t.push({ what: "warm start nat (library) ≤ 1.1× script", value: ratio(n.library.median, n.script?.median), met: within(n.library.median, 1.1 * (n.script?.median ?? NaN)) });
    t.push({ what: "warm start nat (library) faster than docker-compose", value: `${fmtMs(n.library.median)} vs ${fmtMs(n.compose?.median)}`, met: within(n.library.median, n.compose?.median ?? NaN) });
  }
  const c = res.check;
  if (c?.five) t.push({ what: "one check ≤ 300 ms p95 in-process (5 probes, 3 nodes)", value: `p95 ${fmtMs(c.five.p95)}`, met: within(c.five.p95, 300) });
  if (c?.step3) t.push({ what: "one check of dnat step 3 as written ≤ 300 ms p95 in-process", value: `p95 ${fmtMs(c.step3.p95)}`, met: within(c.step3.p95, 300) });
  const s = res.stop;
  if (s?.singleStats && s.parallelStats) {
    t.push({ what: "stop ≤ 2 s (CLI, one instance)", value: fmtMs(s.singleStats.cli.median), met: within(s.singleStats.cli.median, 2000) });
    const before = s.parallelBaselineStats?.n ? ` (baseline build ${fmtMs(s.parallelBaselineStats.median)})` : "";
    t.push({ what: "stop of 4 instances in parallel ≤ 2 s", value: fmtMs(s.parallelStats.median) + before, met: within(s.parallelStats.median, 2000) });
  }
  const u = res.ui;
  if (u?.available && u.rssMb && u.cpuPercent !== undefined) {
    const before = res.uiBaseline?.rssMb ? ` (baseline build max ${res.uiBaseline.rssMb.max?.toFixed(1)} MB)` : "";
    t.push({ what: "TUI ≤ 120 MB resident", value: `max ${u.rssMb.max?.toFixed(1)} MB${before}`, met: within(u.rssMb.max, 120) });
    t.push({ what: "TUI ≤ 2 % of a core idle", value: `${u.cpuPercent.toFixed(2)} %`, met: within(u.cpuPercent, 2) });
  } else if (u) t.push({ what: "TUI ≤ 120 MB and ≤ 2 % CPU", value: "UI not available", met: undefined });
  t.push(...vmTargets(res.vm));
  return t;
}
