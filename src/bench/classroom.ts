/**
 * One server for a whole class: N instances of a lab started side by side (as `lvs-lab
 * class provision` does), what each costs in memory, and how `check` behaves while N
 * UI-like loops re-check — latency, and whether every verdict is still the one a quiet
 * check gives.
 *
 * A section the bench runner can call (`measureClassroom`, `classroomMarkdown`) and a
 * command of its own, after a build:
 *
 *   node dist/bench/classroom.js [--count 20] [--parallel 20] [--loop-seconds 60] [--adaptive]
 *   node dist/bench/classroom.js --vm --lab nat --count 3
 *
 * It writes bench/results/classroom-<lab>-<count>[-adaptive].{json,md} (classroom-vm-… in
 * the VM). Its instances are named bench-class-NN (bench-vmclass-NN, or --prefix P: P-NN);
 * only those are removed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Engine, resolveDockerHost, type EngineClient } from "../docker/engine.js";
import { labImageRef } from "../docker/image.js";
import { instanceContainers, listInstances } from "../docker/instance.js";
import { numberedNames, provisionClass } from "../lab/provision.js";
import { checkStep, openLab, solveStep, stopLab, type LabSession } from "../lab/session.js";
import { stepPasses, type ProbeResult } from "../probes/runner.js";
import { recheckDelayMs } from "../ui/lesson-state.js";
import { fmtMs, now, root, sleep, stats, type Stats } from "./common.js";
import { containerMemoryByInstance, cpuTimes, dockerStats, isDaemon, isShimOf, memAvailableMiB, processPss } from "./host-usage.js";

export interface ClassroomOptions {
  engine: EngineClient;
  lab?: string;
  count?: number;
  /** Starts at a time (default: all at once). */
  parallel?: number;
  loopSeconds?: number;
  /** The UI's re-check interval. */
  intervalMs?: number;
  /** Re-check with the UI's load-adaptive delay (recheckDelayMs) instead of a fixed interval. */
  adaptive?: boolean;
  prefix?: string;
  log?: (line: string) => void;
}

interface Verdict {
  passed: boolean;
  failing: string[];
}

export interface ClassroomResult {
  lab: string;
  count: number;
  parallel: number;
  engine: string;
  adaptive: boolean;
  intervalMs: number;
  when: string;
  machine: { cpus: number; memoryGiB: number; loadBefore: number[] };
  otherInstancesOnEngine: number;
  start?: { totalS: number; perInstanceS: Stats; failed: Array<{ name: string; error: string }>; warnings: string[]; fenced?: number };
  memory?: { containersMiB: Stats; shimsMiBPerInstance?: number; daemonsGrowthMiBPerInstance?: number; hostMiBPerInstance?: number };
  /** Check latency by what is checked: "step N passing|failing". */
  quietCheckMs?: Record<string, Stats>;
  loadedCheckMs?: Record<string, Stats>;
  loadedAllMs?: Stats;
  checksPerSecond?: number;
  cpuBusyDuringLoops?: number;
  wrongVerdicts?: { count: number; examples: unknown[] };
  stopAllS?: number;
}

function verdictOf(results: ProbeResult[]): Verdict {
  return { passed: stepPasses(results), failing: results.filter((r) => !r.ok && !r.observation).map((r) => r.description).sort() };
}

const sameVerdict = (a: Verdict, b: Verdict) => a.passed === b.passed && JSON.stringify(a.failing) === JSON.stringify(b.failing);

/**
 * Learner i watches step i mod steps (every step is watched by someone); even learners
 * have solved it (their check must pass), odd ones have not (it must fail).
 */
function learnerState(i: number, steps: number): { step: number; solved: number } {
  const step = i % steps;
  return { step, solved: i % 2 === 0 ? step + 1 : step };
}

interface Learner {
  session: LabSession;
  step: number;
  solved: number;
  expected?: Verdict;
  group: string;
}

/**
 * One learner's UI as the engine sees it: check the step, wait, check again — the UI
 * starts its timer when a check ends, so the wait follows the check.
 */
async function uiLoop(l: Learner, until: number, delay: (lastMs: number, quickestMs: number) => number, samples: Map<string, number[]>, wrong: unknown[]): Promise<void> {
  const quickest: Record<string, number> = {};
  while (now() < until) {
    const began = now();
    let outcome = "error";
    try {
      const got = verdictOf(await checkStep(l.session, l.step));
      outcome = String(got.passed);
      if (!sameVerdict(got, l.expected!)) wrong.push({ instance: l.session.name, step: l.step + 1, expected: l.expected, got });
    } catch (e) {
      wrong.push({ instance: l.session.name, step: l.step + 1, error: (e as Error).message });
    }
    const ms = now() - began;
    samples.get(l.group)!.push(ms);
    // As the UI keeps it: the quickest check of this step and outcome so far.
    quickest[outcome] = Math.min(quickest[outcome] ?? Infinity, ms);
    await sleep(delay(ms, quickest[outcome]!));
  }
}

const statsByGroup = (m: Map<string, number[]>) => Object.fromEntries([...m].sort().map(([k, v]) => [k, stats(v)]));

export async function measureClassroom(o: ClassroomOptions): Promise<ClassroomResult> {
  const { engine, lab = "dnat", count = 20, loopSeconds = 60, intervalMs = 2000, adaptive = false, prefix = "bench-class", log = () => undefined } = o;
  const parallel = o.parallel ?? count;
  const local = engine.isLocal();
  const out: ClassroomResult = {
    lab,
    count,
    parallel,
    engine: engine.host,
    adaptive,
    intervalMs,
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), loadBefore: loadavg().map((l) => Number(l.toFixed(2))) },
    otherInstancesOnEngine: (await listInstances(engine)).filter((i) => !i.name.startsWith(`${prefix}-`)).length,
  };
  await removeMine(engine, prefix);
  const before = local ? { available: memAvailableMiB(), daemons: processPss(isDaemon) } : undefined;

  log(`starting ${count} ${lab} instances, ${parallel} at a time`);
  const began = now();
  const started = await provisionClass(lab, engine, numberedNames(prefix, count), {
    parallel,
    onResult: (r) => log(`  ${r.name} ${r.state} in ${r.seconds.toFixed(1)} s${r.error ? `: ${r.error}` : ""}`),
  });
  out.start = {
    totalS: Number(((now() - began) / 1000).toFixed(1)),
    perInstanceS: stats(started.map((r) => r.seconds)),
    failed: started.filter((r) => r.state !== "started").map((r) => ({ name: r.name, error: r.error ?? r.state })),
    warnings: started.flatMap((r) => r.notes.filter((n) => n.startsWith("warning:"))),
  };
  log(`started in ${out.start.totalS} s; ${out.start.failed.length} failed`);
  try {
    const names = started.filter((r) => r.state === "started").map((r) => r.name);
    await sleep(3000); // the starts' own work settles before memory is read
    const sessions = await Promise.all(names.map(async (name) => openLab({ name, engine, containers: await instanceContainers(engine, name) })));
    out.start.fenced = await countFenced(engine, sessions);
    log(`${out.start.fenced} of ${names.length} instances have all their firewall rules`);
    out.memory = { containersMiB: stats(Object.values(containerMemoryByInstance(dockerStats(engine.host), names))) };
    if (before && names.length) {
      out.memory.shimsMiBPerInstance = round1(processPss(isShimOf(new Set(sessions.flatMap((s) => Object.values(s.containers))))) / names.length);
      out.memory.daemonsGrowthMiBPerInstance = round1((processPss(isDaemon) - before.daemons) / names.length);
      out.memory.hostMiBPerInstance = round1((before.available - memAvailableMiB()) / names.length);
    }
    log(`memory: containers ${out.memory.containersMiB.median?.toFixed(1)} MiB per instance (median)`);

    const steps = sessions[0]?.lab.lesson.steps.length ?? 1;
    const learners: Learner[] = sessions.map((session, i) => ({ session, ...learnerState(i, steps), group: "" }));
    await Promise.all(learners.map(async (l) => { for (let k = 0; k < l.solved; k++) await solveStep(l.session, k); }));
    // The verdict each learner's step gets from a quiet check, one learner at a time.
    const quiet = new Map<string, number[]>();
    for (const l of learners) {
      const t = now();
      l.expected = verdictOf(await checkStep(l.session, l.step));
      l.group = `step ${l.step + 1} ${l.expected.passed ? "passing" : "failing"}`;
      if (!quiet.has(l.group)) quiet.set(l.group, []);
      quiet.get(l.group)!.push(now() - t);
      if (l.expected.passed !== l.solved > l.step) log(`  note: ${l.session.name} step ${l.step + 1} ${l.expected.passed ? "passes" : "fails"} with ${l.solved} steps solved`);
    }
    out.quietCheckMs = statsByGroup(quiet);

    log(`${learners.length} UI loops for ${loopSeconds} s, every ${intervalMs} ms${adaptive ? " (adaptive)" : ""}`);
    const samples = new Map([...quiet.keys()].map((k) => [k, [] as number[]]));
    const wrong: unknown[] = [];
    const delay = adaptive ? (lastMs: number, quickestMs: number) => recheckDelayMs(intervalMs, lastMs, quickestMs) : () => intervalMs;
    const cpu0 = cpuTimes();
    const until = now() + loopSeconds * 1000;
    // Staggered, as learners do not all open their UI in the same second.
    await Promise.all(learners.map(async (l, i) => { await sleep((i * intervalMs) / learners.length); await uiLoop(l, until, delay, samples, wrong); }));
    const cpu1 = cpuTimes();
    out.loadedCheckMs = statsByGroup(samples);
    out.loadedAllMs = stats([...samples.values()].flat());
    out.checksPerSecond = round1(out.loadedAllMs.n / loopSeconds);
    out.wrongVerdicts = { count: wrong.length, examples: wrong.slice(0, 5) };
    if (local) out.cpuBusyDuringLoops = Number(((cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total)).toFixed(3));
    log(`check under load: p50 ${fmtMs(out.loadedAllMs.median)}, p95 ${fmtMs(out.loadedAllMs.p95)}; ${wrong.length} wrong verdicts`);
  } finally {
    const t = now();
    await removeMine(engine, prefix);
    out.stopAllS = round1((now() - t) / 1000);
    log(`removed in ${out.stopAllS} s`);
  }
  return out;
}

const round1 = (x: number) => Number(x.toFixed(1));

/** Instances whose every bridge has its three rules in iptables and in ip6tables (src/lab/isolation.ts). */
async function countFenced(engine: EngineClient, sessions: LabSession[]): Promise<number> {
  const rules = (await engine.runOnHost(labImageRef(), "iptables-save -t filter; ip6tables-save -t filter", "reading the firewall rules")).stdout.split("\n");
  const per = new Map<string, number>();
  for (const line of rules) {
    const name = /--comment "?lvs-lab:([a-z0-9-]+)"?/.exec(line)?.[1];
    if (name) per.set(name, (per.get(name) ?? 0) + 1);
  }
  return sessions.filter((s) => per.get(s.name) === Object.keys(s.topology.networks).length * 3 * 2).length;
}

/** Only this measurement's own instances (prefix-…) are ever removed. */
async function removeMine(engine: EngineClient, prefix: string): Promise<void> {
  const mine = (await listInstances(engine)).filter((i) => i.name.startsWith(`${prefix}-`));
  await Promise.all(mine.map((i) => stopLab(engine, i.name)));
}

export function classroomMarkdown(r: ClassroomResult): string {
  const L = [
    `### ${r.count} × ${r.lab} on one engine (${r.engine}), ${r.parallel} starts at a time, re-check ${r.adaptive ? `adaptive (≥ ${r.intervalMs / 1000} s)` : `every ${r.intervalMs / 1000} s`}`,
    "",
    `${r.machine.cpus} cores, ${r.machine.memoryGiB} GiB; load average before ${r.machine.loadBefore.join(" / ")}; ${r.otherInstancesOnEngine} other instances on the engine; ${r.when}.`,
    "",
    "| measure | value |",
    "| --- | --- |",
  ];
  if (r.start) {
    L.push(`| start ${r.count} instances | ${r.start.totalS} s in all; each ${r.start.perInstanceS.median?.toFixed(1)} s median, ${r.start.perInstanceS.max?.toFixed(1)} s max; **${r.start.failed.length} failed** |`);
    L.push(`| instances fenced off (all their firewall rules present) | ${r.start.fenced ?? "–"} of ${r.count - r.start.failed.length} |`);
  }
  if (r.memory) {
    L.push(`| memory per instance: its containers (engine's cgroup usage) | ${r.memory.containersMiB.median?.toFixed(1)} MiB median, ${r.memory.containersMiB.max?.toFixed(1)} MiB max |`);
    if (r.memory.shimsMiBPerInstance !== undefined) {
      L.push(`| + their containerd shims (PSS) | ${r.memory.shimsMiBPerInstance} MiB |`);
      L.push(`| + dockerd and containerd growth (PSS) | ${r.memory.daemonsGrowthMiBPerInstance} MiB |`);
      L.push(`| host's MemAvailable drop (kernel included; noisy on a shared machine) | ${r.memory.hostMiBPerInstance} MiB |`);
    }
  }
  for (const [group, quiet] of Object.entries(r.quietCheckMs ?? {})) {
    const loaded = r.loadedCheckMs?.[group];
    L.push(`| check ${group}: quiet → under load | ${fmtMs(quiet.median)} → p50 ${fmtMs(loaded?.median)}, p95 ${fmtMs(loaded?.p95)}, max ${fmtMs(loaded?.max)} (${loaded?.n ?? 0} checks) |`);
  }
  if (r.loadedAllMs) L.push(`| all checks under load | p50 ${fmtMs(r.loadedAllMs.median)}, **p95 ${fmtMs(r.loadedAllMs.p95)}**, ${r.checksPerSecond} checks/s |`);
  if (r.cpuBusyDuringLoops !== undefined) L.push(`| CPU busy meanwhile (all cores, every process on the machine) | ${Math.round(r.cpuBusyDuringLoops * 100)} % |`);
  if (r.wrongVerdicts) L.push(`| verdicts under load that differ from the quiet check | **${r.wrongVerdicts.count}** |`);
  if (r.stopAllS !== undefined) L.push(`| remove all ${r.count} | ${r.stopAllS} s |`);
  return L.join("\n");
}

async function main(argv: string[]): Promise<void> {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const vm = argv.includes("--vm");
  let host = resolveDockerHost();
  if (vm) {
    const { vmDockerHost } = await import("../vm/index.js");
    const vmHost = await vmDockerHost();
    if (!vmHost) throw new Error("the lvs-lab VM is not running (lvs-lab vm up)");
    host = vmHost;
  }
  const count = Number(arg("--count") ?? (vm ? 3 : 20));
  const result = await measureClassroom({
    engine: new Engine(host),
    lab: arg("--lab") ?? (vm ? "nat" : "dnat"),
    count,
    parallel: Number(arg("--parallel") ?? count),
    loopSeconds: Number(arg("--loop-seconds") ?? 60),
    adaptive: argv.includes("--adaptive"),
    // Another bench on the same engine sweeps bench-*: --prefix keeps two runs apart.
    prefix: arg("--prefix") ?? (vm ? "bench-vmclass" : "bench-class"),
    log: (l) => process.stderr.write(`[classroom] ${l}\n`),
  });
  const outDir = arg("--out") ?? join(root, "bench", "results");
  const tag = `classroom-${vm ? "vm-" : ""}${result.lab}-${count}${result.adaptive ? "-adaptive" : ""}`;
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, `${tag}.json`), JSON.stringify(result, null, 2) + "\n");
  await writeFile(join(outDir, `${tag}.md`), classroomMarkdown(result) + "\n");
  console.log(classroomMarkdown(result));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`[classroom] ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
