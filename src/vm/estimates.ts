/**
 * How long the VM's phases took on this machine last time (root/timings.json), so that a
 * start can say how long it will take. Until something was measured, figures from a
 * 2-core machine without KVM stand in (README).
 */
import { writeFileSync } from "node:fs";
import type { Accel } from "./qemu.js";
import type { VmPaths } from "./recipe.js";
import { readText } from "./run-state.js";

export interface VmEstimates {
  /** Seconds: vm/build.sh (download, build, pack). */
  build: number;
  /** Seconds: the data disk with the lab image (once per image). */
  disk: number;
  /** Seconds: a cached boot until the engine answers. */
  boot: number;
  /** Seconds: restoring the saved VM until the engine answers (resume.ts). */
  resume: number;
}

const DEFAULTS: Record<Accel, VmEstimates> = {
  tcg: { build: 90, disk: 240, boot: 25, resume: 5 },
  kvm: { build: 60, disk: 40, boot: 10, resume: 3 },
};
/** Seconds: the data disk made on this host (disk-on-host.ts), whatever the accelerator. */
const DISK_ON_HOST = 20;

type Recorded = Partial<Record<Accel, Partial<VmEstimates>>>;

function readRecorded(p: VmPaths): Recorded {
  try {
    return JSON.parse(readText(p.timingsFile) ?? "{}") as Recorded;
  } catch {
    return {};
  }
}

/** What was measured on this machine for one accelerator, nothing filled in. */
export function measuredTimings(p: VmPaths, accel: Accel): Partial<VmEstimates> {
  return readRecorded(p)[accel] ?? {};
}

/** `diskOnHost` is asked only when nothing was measured here (it runs `dockerd --version`). */
export function estimatesFor(p: VmPaths, accel: Accel, diskOnHost: () => boolean = () => false): VmEstimates {
  const got = readRecorded(p)[accel] ?? {};
  const fallback = (k: keyof VmEstimates) => (k === "disk" && diskOnHost() ? DISK_ON_HOST : DEFAULTS[accel][k]);
  const pick = (k: keyof VmEstimates) => (typeof got[k] === "number" && got[k]! > 0 ? got[k]! : fallback(k));
  return { build: pick("build"), disk: pick("disk"), boot: pick("boot"), resume: pick("resume") };
}

/** Keeps the phases measured this time (vmUp's timings), per accelerator. */
export function recordTimings(p: VmPaths, accel: Accel, timings: Record<string, number>): void {
  const all = readRecorded(p);
  const mine = { ...(all[accel] ?? {}) };
  for (const k of ["build", "disk", "boot", "resume"] as const) if (typeof timings[k] === "number") mine[k] = timings[k];
  try {
    writeFileSync(p.timingsFile, JSON.stringify({ ...all, [accel]: mine }, null, 2) + "\n");
  } catch {
    /* estimates are a nicety */
  }
}
