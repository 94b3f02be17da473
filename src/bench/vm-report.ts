/**
 * The vm section's rows (pure): each figure beside its target from issue 13, whether it
 * is met, and where the time or memory goes as measured in the same run, as a markdown
 * table and as entries of the bench's Targets list.
 */
import { DEFAULT_MEMORY_MIB, TCG_TB_SIZE_MIB } from "../vm/settings.js";
import { fmtMs, stats, type Stats } from "./common.js";
import type { SelftestRecord, Target, VmResults } from "./results.js";

export const SELFTEST_LABS = ["nat", "schedulers", "dr", "tun", "failover"] as const;

/** Issue 13's targets on this 2-core machine without KVM, and issue 24's for a cached VM (resumed, not booted). */
export const VM_LIMITS = {
  firstStartMs: 3 * 60_000,
  cachedStartMs: 15_000,
  startMs: 10_000,
  execMs: 1_000,
  checkMs: 1_000,
  qemuRssMiB: 1536,
  givenMiB: 1536,
  selftestSeconds: 12 * 60,
} as const;

export interface VmRow {
  what: string;
  samples: string;
  median: string;
  p95: string;
  max: string;
  target: string;
  /** The row's name in the bench's Targets list (rows with a target). */
  short?: string;
  /** met, missed, undefined when there is no target or nothing to judge. */
  met?: boolean;
  /** Said instead of met/missed (e.g. "not measured in this run"). */
  note?: string;
  /** Where the time or memory goes, from figures of the same run. */
  why?: string;
}

/** `start`'s progress lines on stderr ("· containers: ready in 27.6 s") → seconds by phase. */
export function startPhases(output: string): Record<string, number> {
  const phases: Record<string, number> = {};
  for (const m of output.matchAll(/^· (\w+): ready in ([\d.]+) s$/gm)) if (m[1] !== "lab") phases[m[1]!] = Number(m[2]);
  return phases;
}

const seconds = (s: number) => `${s.toFixed(1)} s`;
const median = (xs: number[] | undefined) => stats(xs ?? []).median;

const mib = (x: number | undefined) => (x === undefined ? "–" : `${Math.round(x)} MiB`);
const within = (value: number | undefined, limit: number) => (value === undefined ? undefined : value <= limit);

function timed(what: string, s: Stats, extra: Partial<Pick<VmRow, "target" | "short" | "met" | "why">> & { failed?: number } = {}): VmRow {
  const failed = extra.failed ? ` (${extra.failed} failed)` : "";
  return { what, samples: `${s.n}${failed}`, median: fmtMs(s.median), p95: fmtMs(s.p95), max: fmtMs(s.max), target: extra.target ?? "–", short: extra.short, met: extra.met, why: extra.why };
}

/** Where `start dr` spends its time: its own phases, and one bare container beside them. */
function startWhy(vm: VmResults): string | undefined {
  const phases = Object.entries(vm.startPhases ?? {}).map(([name, xs]) => `${name} ${seconds(median(xs) ?? 0)}`);
  const bare = median(vm.bareContainerMs);
  const parts = [
    phases.length ? `its phases (median): ${phases.join(", ")}` : undefined,
    bare === undefined ? undefined : `one bare \`docker run --rm --network none --entrypoint true\` of the lab image in the VM, no lvs-lab code: ${fmtMs(bare)}; Docker under an emulated CPU is the wall (runc, the shim, network set-up per container)`,
  ].filter(Boolean);
  return parts.length ? parts.join("; ") : undefined;
}

/**
 * The starts that boot or build the VM, composed from the phases measured on this machine
 * (timings.json: the bench never boots the shared VM) and this run's `start dr`.
 */
function composedStarts(vm: VmResults, startMedian: number | undefined): VmRow[] {
  if (!vm.vmPhases || startMedian === undefined) return [];
  const { build, disk, boot } = vm.vmPhases;
  const row = (what: string, ms: number, target: string, short: string, limit: number, why: string): VmRow => ({ what, samples: "–", median: fmtMs(ms), p95: "–", max: "–", target, short, met: ms <= limit, why });
  const lab = `\`start dr\` with the VM running ${fmtMs(startMedian)}`;
  // A cached VM is resumed from its saved state once one was saved here; before that, booted.
  const cached =
    vm.resumeSeconds === undefined
      ? row("`start dr` with the VM cached, not running (boot from timings.json + this run's start)", boot * 1000 + startMedian, "≤ 15 s", "start dr with the VM cached, not running", VM_LIMITS.cachedStartMs, `boot ${seconds(boot)} (no resume measured here yet), ${lab}`)
      : row("`start dr` with the VM cached, not running (resume from timings.json + this run's start)", vm.resumeSeconds * 1000 + startMedian, "≤ 15 s", "start dr with the VM cached, not running", VM_LIMITS.cachedStartMs, `resume of the saved VM ${seconds(vm.resumeSeconds)} (a cold boot: ${seconds(boot)}), ${lab}`);
  return [
    row("first `start dr`, nothing cached (build + data disk + boot from timings.json, + this run's start)", (build + disk + boot) * 1000 + startMedian, "≤ 3 min", "first start dr, nothing cached", VM_LIMITS.firstStartMs, `build ${seconds(build)}, data disk ${seconds(disk)}, boot ${seconds(boot)}, ${lab}`),
    cached,
  ];
}

/** The selftest row from bench/results/selftest-vm.json, or "not measured in this run". */
function selftestRow(rec: SelftestRecord | undefined): VmRow {
  const what = `\`selftest\` of ${SELFTEST_LABS.join(", ")}, total`;
  const target = `≤ ${VM_LIMITS.selftestSeconds / 60} min`;
  const short = "selftest of the five LVS labs";
  if (!rec) return { what, samples: "–", median: "–", p95: "–", max: "–", target, short, note: "not measured in this run" };
  const missing = rec.labs ? SELFTEST_LABS.filter((l) => rec.labs![l] === undefined) : [];
  const from = `${what} (selftest-vm.json, ${rec.date.slice(0, 10)})`;
  const row = { what: from, samples: "1", median: fmtMs(rec.totalSeconds * 1000), p95: "–", max: "–", target, short };
  if (missing.length) return { ...row, note: `n/a: ${missing.join(", ")} not in the record` };
  const why = `each lab alone: ${SELFTEST_LABS.map((l) => `${l} ${Math.round(rec.labs![l]!)} s`).join(", ")}; every step and case replays under an emulated CPU`;
  return { ...row, met: within(rec.totalSeconds, VM_LIMITS.selftestSeconds), why };
}

export function vmRows(vm: VmResults): VmRow[] {
  const rows: VmRow[] = [];
  const start = stats(vm.startMs);
  rows.push(...composedStarts(vm, start.median));
  if (start.n) rows.push(timed("`start dr --no-ui` with the VM running (process, until it returned)", start, { target: "≤ 10 s (median)", short: "start dr with the VM running", met: within(start.median, VM_LIMITS.startMs), why: startWhy(vm) }));
  const stop = stats(vm.stopMs);
  if (stop.n) rows.push(timed("`stop --name` of it (process)", stop));
  const runner = stats(vm.runnerMs);
  if (runner.n) {
    const what = `one command on the director (\`${vm.execCommand}\`): Engine.exec, command runner`;
    rows.push(timed(what, runner, { failed: vm.execFailed.runner, target: "≤ 1 s (p95)", short: "one command on a node (command runner)", met: within(runner.p95, VM_LIMITS.execMs), why: `the emulated CPU's share between the VM's processes (median ${fmtMs(runner.median)}, max ${fmtMs(runner.max)})` }));
  }
  if (vm.runnerFirstMs !== undefined) rows.push({ what: "the runner's first command (opens it: one docker exec)", samples: "1", median: fmtMs(vm.runnerFirstMs), p95: "–", max: "–", target: "–" });
  const docker = stats(vm.dockerExecMs);
  if (docker.n) rows.push(timed("the same command, plain `docker exec` (docker CLI, DOCKER_HOST of the VM)", docker, { failed: vm.execFailed.dockerExec }));
  const check = stats(vm.checkMs);
  if (check.n || vm.checkErrors.length) {
    const inside = stats(vm.checkInsideMs).median;
    const errors = vm.checkErrors.length ? `; ${vm.checkErrors.length} gave no report: ${vm.checkErrors[0]!.replace(/\|/g, "/")}` : "";
    const what = `\`check --name X --step 1 --json\` of dr (process; the check itself ${fmtMs(inside)} median${errors})`;
    const opening = vm.runnerFirstMs === undefined ? "" : `, opening each node's command runner (one \`docker exec\`, the first command above: ${fmtMs(vm.runnerFirstMs)}; the nodes in parallel on one emulated CPU)`;
    const why = `a new process: Node's start and lvs-lab's modules${opening}, then the probes (the check itself ${fmtMs(inside)})`;
    rows.push(timed(what, check, { failed: vm.checkFailed, target: "≤ 1 s (median)", short: "one check of dr step 1 (CLI process)", met: within(check.median, VM_LIMITS.checkMs), why }));
  }
  const rss = stats(vm.qemuRss.map((s) => s.mib));
  if (rss.n) {
    const lifetime = vm.qemuLifetimePeakMiB === undefined ? "" : `; its peak since boot ${mib(vm.qemuLifetimePeakMiB)}`;
    const what = `QEMU resident memory (VmRSS, every second during the section${lifetime})`;
    const why = `the guest's pages in use (freed ones are reported back) and TCG's code cache (at most ${TCG_TB_SIZE_MIB} MiB)${vm.otherInstances ? `; ${vm.otherInstances} other lab(s) in the VM count too` : ""}`;
    rows.push({ what, samples: String(rss.n), median: mib(rss.median), p95: mib(rss.p95), max: mib(rss.max), target: "≤ 1.5 GiB (peak)", short: "QEMU resident", met: within(rss.max, VM_LIMITS.qemuRssMiB), why });
  }
  if (vm.givenMiB !== undefined) {
    const met = within(vm.givenMiB, VM_LIMITS.givenMiB);
    const why = met ? undefined : `LVS_LAB_VM_MEMORY_MIB asked for more than the default ${DEFAULT_MEMORY_MIB} MiB (the tests do, to keep several labs up)`;
    rows.push({ what: "memory given to the VM", samples: "–", median: mib(vm.givenMiB), p95: "–", max: "–", target: "≤ 1.5 GiB", short: "memory given to the VM", met, why });
  }
  rows.push(selftestRow(vm.selftest));
  return rows;
}

const verdict = (r: VmRow) => r.note ?? (r.met === undefined ? (r.target === "–" ? "" : "n/a") : r.met ? "**met**" : "**missed**");

export function vmMarkdown(vm: VmResults): string[] {
  if (vm.skipped) return [`VM section skipped: ${vm.skipped}.`, ""];
  const L: string[] = [];
  const others = vm.otherInstances ? `; ${vm.otherInstances} other lab instance(s) in it when the section began (shared VM: expect noise)` : "";
  L.push(`## lvs-lab VM (QEMU ${vm.accel ?? "?"}, ${mib(vm.givenMiB)} given, ${vm.dockerHost ?? "?"}${others})`, "");
  L.push("| what | samples | median | p95 | max | target (issues 13, 24) | | where it goes (measured in this run) |", "|---|---|---|---|---|---|---|---|");
  for (const r of vmRows(vm)) L.push(`| ${r.what} | ${r.samples} | ${r.median} | ${r.p95} | ${r.max} | ${r.target} | ${verdict(r)} | ${(r.why ?? "").replace(/\|/g, "/")} |`);
  L.push("", "QEMU's memory is the whole VM's: every lab instance in it counts, other workers' too. Issue 13 sets the resident target for the failover lab; this section runs dr.", "");
  return L;
}

export function vmTargets(vm: VmResults | undefined): Target[] {
  if (!vm || vm.skipped) return [];
  return vmRows(vm)
    .filter((r) => r.short)
    .map((r) => ({ what: `VM: ${r.short} ${r.target}`, value: r.note ?? targetValue(r), met: r.met }));
}

/** The figure a row's target judges, as its target names it. */
function targetValue(r: VmRow): string {
  if (r.target.includes("(p95)")) return `p95 ${r.p95}`;
  if (r.target.includes("(peak)")) return `peak ${r.max}`;
  return r.median;
}

/** bench/results/selftest-vm.json's text → its record; undefined when it is not one. */
export function parseSelftestRecord(text: string): SelftestRecord | undefined {
  try {
    const o = JSON.parse(text) as Partial<SelftestRecord>;
    if (typeof o.date !== "string" || typeof o.totalSeconds !== "number" || !Number.isFinite(o.totalSeconds)) return undefined;
    const labs = o.labs && typeof o.labs === "object" ? Object.fromEntries(Object.entries(o.labs).filter(([, v]) => typeof v === "number")) : undefined;
    return { date: o.date, totalSeconds: o.totalSeconds, ...(labs ? { labs } : {}) };
  } catch {
    return undefined;
  }
}
