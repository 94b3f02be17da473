/**
 * One server for a whole class: N instances of a lab started side by side (as `lvs-lab
 * class provision` does), what each costs in memory, and how `check` behaves while N
 * UI-like loops re-check — latency, and whether every verdict is still the one a quiet
 * check gives.
 *
 * A section the bench runner can call (`measureClassroom`, `classroomMarkdown`) and a
 * command of its own, after a build:
 *
 *   node dist/bench/classroom.js [--count 20] [--parallel 20] [--phase-seconds 45] [--rounds 2]
 *                                [--pacings fixed,adaptive] [--prefix P]
 *   node dist/bench/classroom.js --vm --lab nat --count 3 [--docker-host tcp://127.0.0.1:23750]
 *
 * It writes bench/results/classroom-<lab>-<count>.{json,md} (classroom-vm-… in
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
import { fencedByHost } from "../lab/isolation.js";
import { numberedNames, provisionClass } from "../lab/provision.js";
import { checkStep, openLab, solveStep, stopLab, type LabSession } from "../lab/session.js";
import { stepPasses, type ProbeResult } from "../probes/runner.js";
import { recheckDelayMs } from "../ui/lesson-state.js";
import { fmtMs, now, root, sleep, stats, type Stats } from "./common.js";
import { containerCpuSeconds, containerMemoryByInstance, cpuTimes, dockerStats, isDaemon, isShim, isShimOf, memAvailableMiB, processCpuSeconds, processPss } from "./host-usage.js";

export interface ClassroomOptions {
  engine: EngineClient;
  lab?: string;
  count?: number;
  /** Starts at a time (default: all at once). */
  parallel?: number;
  /** Seconds of UI loops per phase; phases alternate between the pacings, `rounds` times. */
  phaseSeconds?: number;
  rounds?: number;
  /** The UI's re-check interval. */
  intervalMs?: number;
  /** fixed: the interval after every check; adaptive: the UI's load-adaptive pause (recheckDelayMs). */
  pacings?: Pacing[];
  prefix?: string;
  log?: (line: string) => void;
}

export type Pacing = "fixed" | "adaptive";

/** Checks while every learner's UI loop runs, under one pacing. */
export interface LoadedPhase {
  seconds: number;
  checkMs: Record<string, Stats>;
  allMs: Stats;
  checksPerSecond: number;
  /** Cores the checks cost: probes in the instances' containers, dockerd + containerd + shims, the lvs-lab sessions. */
  cores?: { containers: number; engine: number; lvsLab: number };
  /** Every process on the machine. */
  cpuBusy?: number;
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
  pacings: Pacing[];
  intervalMs: number;
  when: string;
  machine: { cpus: number; memoryGiB: number; loadBefore: number[] };
  otherInstancesOnEngine: number;
  start?: { totalS: number; perInstanceS: Stats; failed: Array<{ name: string; error: string }>; warnings: string[]; fenced?: number };
  memory?: { containersMiB: Stats; shimsMiBPerInstance?: number; daemonsGrowthMiBPerInstance?: number; hostMiBPerInstance?: number };
  /** Check latency by what is checked: "step N passing|failing", one learner at a time. */
  quietCheckMs?: Record<string, Stats>;
  loaded?: Partial<Record<Pacing, LoadedPhase>>;
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
  /** As the UI keeps it: the quickest check of this step per outcome so far. */
  quickestMs: Record<string, number>;
}

/**
 * One learner's UI as the engine sees it: check the step, wait, check again — the UI
 * starts its timer when a check ends, so the wait follows the check.
 */
async function uiLoop(l: Learner, until: number, delay: (lastMs: number, quickestMs: number) => number, samples: Map<string, number[]>, wrong: unknown[]): Promise<void> {
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
    l.quickestMs[outcome] = Math.min(l.quickestMs[outcome] ?? Infinity, ms);
    await sleep(Math.max(0, Math.min(delay(ms, l.quickestMs[outcome]!), until - now())));
  }
}

/** Every learner's UI loop for `seconds`, under one pacing; what the checks took and cost. */
async function loadPhase(
  learners: Learner[],
  seconds: number,
  intervalMs: number,
  pacing: Pacing,
  local: boolean,
  wrong: unknown[],
): Promise<{ phase: LoadedPhase; samples: Record<string, number[]> }> {
  const samples = new Map(learners.map((l) => [l.group, [] as number[]]));
  const delay = pacing === "adaptive" ? (lastMs: number, quickestMs: number) => recheckDelayMs(intervalMs, lastMs, quickestMs) : () => intervalMs;
  const ids = learners.flatMap((l) => Object.values(l.session.containers));
  const costs = () => ({ containers: ids.reduce((a, id) => a + containerCpuSeconds(id), 0), engine: processCpuSeconds((a) => isDaemon(a) || isShim(a)), lvsLab: process.cpuUsage(), cpu: cpuTimes(), at: now() });
  const c0 = costs();
  const until = now() + seconds * 1000;
  // Staggered, as learners do not all open their UI in the same second.
  await Promise.all(learners.map(async (l, i) => { await sleep((i * intervalMs) / learners.length); await uiLoop(l, until, delay, samples, wrong); }));
  const c1 = costs();
  const wall = (c1.at - c0.at) / 1000;
  const lvsLab = process.cpuUsage(c0.lvsLab);
  const all = stats([...samples.values()].flat());
  const phase: LoadedPhase = {
    seconds: round1(wall),
    checkMs: statsByGroup(samples),
    allMs: all,
    checksPerSecond: round1(all.n / wall),
    ...(local
      ? {
          cores: { containers: round2((c1.containers - c0.containers) / wall), engine: round2((c1.engine - c0.engine) / wall), lvsLab: round2((lvsLab.user + lvsLab.system) / 1e6 / wall) },
          cpuBusy: round2((c1.cpu.busy - c0.cpu.busy) / (c1.cpu.total - c0.cpu.total)),
        }
      : {}),
  };
  return { phase, samples: Object.fromEntries(samples) };
}

/** Phases of one pacing taken together: every sample pooled, rates and cores averaged by time. */
function pooled(phases: Array<{ phase: LoadedPhase; samples: Record<string, number[]> }>): LoadedPhase {
  const groups = new Map<string, number[]>();
  for (const p of phases) for (const [g, xs] of Object.entries(p.samples)) groups.set(g, [...(groups.get(g) ?? []), ...xs]);
  const seconds = phases.reduce((a, p) => a + p.phase.seconds, 0);
  const avg = (f: (p: LoadedPhase) => number | undefined) => round2(phases.reduce((a, p) => a + (f(p.phase) ?? 0) * p.phase.seconds, 0) / seconds);
  const all = stats([...groups.values()].flat());
  const local = phases[0]?.phase.cores !== undefined;
  return {
    seconds: round1(seconds),
    checkMs: statsByGroup(groups),
    allMs: all,
    checksPerSecond: seconds ? round1(all.n / seconds) : 0,
    ...(local ? { cores: { containers: avg((p) => p.cores?.containers), engine: avg((p) => p.cores?.engine), lvsLab: avg((p) => p.cores?.lvsLab) }, cpuBusy: avg((p) => p.cpuBusy) } : {}),
  };
}

const statsByGroup = (m: Map<string, number[]>) => Object.fromEntries([...m].sort().map(([k, v]) => [k, stats(v)]));

export async function measureClassroom(o: ClassroomOptions): Promise<ClassroomResult> {
  const { engine, lab = "dnat", count = 20, phaseSeconds = 45, rounds = 2, intervalMs = 2000, pacings = ["fixed", "adaptive"], prefix = "bench-class", log = () => undefined } = o;
  const parallel = o.parallel ?? count;
  const local = engine.isLocal();
  const out: ClassroomResult = {
    lab,
    count,
    parallel,
    engine: engine.host,
    pacings,
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
    const learners: Learner[] = sessions.map((session, i) => ({ session, ...learnerState(i, steps), group: "", quickestMs: {} }));
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

    // Pacings alternate (fixed, adaptive, fixed, adaptive …) so that both meet the same
    // machine: on a shared one, other work comes and goes.
    const wrong: unknown[] = [];
    const phases = new Map<Pacing, Array<{ phase: LoadedPhase; samples: Record<string, number[]> }>>(pacings.map((p) => [p, []]));
    for (let round = 0; round < rounds; round++) {
      for (const pacing of pacings) {
        log(`${learners.length} UI loops, ${pacing} pacing, ${phaseSeconds} s (round ${round + 1} of ${rounds})`);
        const done = await loadPhase(learners, phaseSeconds, intervalMs, pacing, local, wrong);
        phases.get(pacing)!.push(done);
        log(`  ${done.phase.checksPerSecond} checks/s, p50 ${fmtMs(done.phase.allMs.median)}, p95 ${fmtMs(done.phase.allMs.p95)}${done.phase.cores ? `, ${coresOf(done.phase).toFixed(2)} cores` : ""}`);
      }
    }
    out.loaded = Object.fromEntries([...phases].map(([pacing, list]) => [pacing, pooled(list)]));
    out.wrongVerdicts = { count: wrong.length, examples: wrong.slice(0, 5) };
    log(`${wrong.length} verdicts differ from the quiet check`);
  } finally {
    const t = now();
    await removeMine(engine, prefix);
    out.stopAllS = round1((now() - t) / 1000);
    log(`removed in ${out.stopAllS} s`);
  }
  return out;
}

const round1 = (x: number) => Number(x.toFixed(1));
const round2 = (x: number) => Number(x.toFixed(2));
const coresOf = (p: LoadedPhase) => (p.cores ? p.cores.containers + p.cores.engine + p.cores.lvsLab : NaN);

/**
 * Instances whose every bridge has its three rules in iptables and in ip6tables
 * (src/lab/isolation.ts); in lvs-lab's VM, which fences every bridge at once, all of them
 * when its six rules for `br-+` are there.
 */
async function countFenced(engine: EngineClient, sessions: LabSession[]): Promise<number> {
  const rules = (await engine.runOnHost(labImageRef(), "iptables-save -t filter; ip6tables-save -t filter", "reading the firewall rules")).stdout.split("\n");
  if (await fencedByHost(engine)) return rules.filter((l) => /^-A \S+ .*br-\+.* -j DROP$/.test(l)).length === 6 ? sessions.length : 0;
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

const mib1 = (x: number | undefined) => (x === undefined ? "–" : `${x.toFixed(1)} MiB`);

export function classroomMarkdown(r: ClassroomResult): string {
  const L = [
    `### ${r.count} × ${r.lab} on one engine (${r.engine}), ${r.parallel} starts at a time`,
    "",
    `${r.machine.cpus} cores, ${r.machine.memoryGiB} GiB; load average before ${r.machine.loadBefore.join(" / ")}; ${r.otherInstancesOnEngine} other instances on the engine; ${r.when}.`,
    "",
    "| measure | value |",
    "| --- | --- |",
  ];
  if (r.start) {
    L.push(`| start ${r.count} instances | ${r.start.totalS} s in all; each ${r.start.perInstanceS.median?.toFixed(1) ?? "–"} s median, ${r.start.perInstanceS.max?.toFixed(1) ?? "–"} s max; **${r.start.failed.length} failed** |`);
    L.push(`| instances fenced off (all their firewall rules present) | ${r.start.fenced ?? "–"} of ${r.count - r.start.failed.length} |`);
  }
  if (r.memory) {
    L.push(`| memory per instance: its containers (engine's cgroup usage) | ${mib1(r.memory.containersMiB.median)} median, ${mib1(r.memory.containersMiB.max)} max |`);
    if (r.memory.shimsMiBPerInstance !== undefined) {
      L.push(`| + their containerd shims (PSS) | ${mib1(r.memory.shimsMiBPerInstance)} |`);
      L.push(`| + dockerd and containerd growth (PSS) | ${mib1(r.memory.daemonsGrowthMiBPerInstance)} |`);
      L.push(`| host's MemAvailable drop (kernel included; noisy on a shared machine) | ${mib1(r.memory.hostMiBPerInstance)} |`);
    }
  }
  if (r.wrongVerdicts) L.push(`| verdicts under load that differ from the quiet check | **${r.wrongVerdicts.count}** of ${Object.values(r.loaded ?? {}).reduce((a, p) => a + p.allMs.n, 0)} |`);
  if (r.stopAllS !== undefined) L.push(`| remove all ${r.count} | ${r.stopAllS} s |`);
  const pacings = Object.keys(r.loaded ?? {}) as Pacing[];
  if (r.quietCheckMs && pacings.length) {
    const title = (p: Pacing) => (p === "fixed" ? `every ${r.intervalMs / 1000} s` : `adaptive (≥ ${r.intervalMs / 1000} s)`);
    L.push("", `Checks while all ${r.count} UIs re-check (p50 / p95), pacings alternating in phases:`, "");
    L.push(`| check | quiet (one at a time) | ${pacings.map(title).join(" | ")} |`, `| --- | --- | ${pacings.map(() => "---").join(" | ")} |`);
    for (const [group, quiet] of Object.entries(r.quietCheckMs)) {
      L.push(`| ${group} | ${fmtMs(quiet.median)} | ${pacings.map((p) => { const s = r.loaded![p]!.checkMs[group]; return `${fmtMs(s?.median)} / ${fmtMs(s?.p95)} (${s?.n ?? 0})`; }).join(" | ")} |`);
    }
    const row = (label: string, f: (p: LoadedPhase) => string) => L.push(`| ${label} | | ${pacings.map((p) => f(r.loaded![p]!)).join(" | ")} |`);
    row("all checks", (p) => `${fmtMs(p.allMs.median)} / **${fmtMs(p.allMs.p95)}**`);
    row("checks per second", (p) => String(p.checksPerSecond));
    if (r.loaded![pacings[0]!]!.cores) {
      row("cores the checks cost (probes + dockerd/containerd/shims + lvs-lab)", (p) => `**${coresOf(p).toFixed(2)}** (${p.cores!.containers} + ${p.cores!.engine} + ${p.cores!.lvsLab})`);
      row("CPU busy, every process on the machine", (p) => `${Math.round((p.cpuBusy ?? 0) * 100)} %`);
    }
  }
  return L.join("\n");
}

async function main(argv: string[]): Promise<void> {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const vm = argv.includes("--vm");
  // --docker-host names the engine outright (a VM too busy to answer the quick check of --vm).
  let host = arg("--docker-host") ?? resolveDockerHost();
  if (vm && !arg("--docker-host")) {
    const { vmDockerHost } = await import("../vm/index.js");
    // A busy VM may miss one quick "does the engine answer": ask thrice.
    let vmHost: string | undefined;
    for (let i = 0; i < 3 && !vmHost; i++) vmHost = await vmDockerHost();
    if (!vmHost) throw new Error("the lvs-lab VM is not running (lvs-lab vm up)");
    host = vmHost;
  }
  const count = Number(arg("--count") ?? (vm ? 3 : 20));
  const result = await measureClassroom({
    engine: new Engine(host),
    lab: arg("--lab") ?? (vm ? "nat" : "dnat"),
    count,
    parallel: Number(arg("--parallel") ?? count),
    phaseSeconds: Number(arg("--phase-seconds") ?? 45),
    rounds: Number(arg("--rounds") ?? 2),
    pacings: (arg("--pacings") ?? "fixed,adaptive").split(",") as Pacing[],
    // Another bench on the same engine sweeps bench-*: --prefix keeps two runs apart.
    prefix: arg("--prefix") ?? (vm ? "bench-vmclass" : "bench-class"),
    log: (l) => process.stderr.write(`[classroom] ${l}\n`),
  });
  const outDir = arg("--out") ?? join(root, "bench", "results");
  const tag = `classroom-${vm ? "vm-" : ""}${result.lab}-${count}`;
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
