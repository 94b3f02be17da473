/**
 * KVM or TCG, decided without asking the learner. /dev/kvm being there proves little: a
 * nested or restricted KVM may abort QEMU or hang a stock kernel. So where /dev/kvm can be
 * opened, a short trial boot decides, and its verdict is kept per host kernel and QEMU
 * version (either changing may change the answer). Pure; the trial itself is accel-trial.ts.
 */
import type { Accel } from "./qemu.js";

/** What opening /dev/kvm read-write says. */
export type KvmDevice = "usable" | "missing" | "denied";

export interface AccelVerdict {
  accel: Accel;
  /** One phrase: why, e.g. "the trial boot reached user space in 2.1 s". */
  reason: string;
  decidedAt: string;
}

/** Verdicts by accelKey(): the cache file's content. */
export type AccelVerdicts = Record<string, AccelVerdict>;

export type AccelDecision =
  | { accel: Accel; source: "forced" | "no-kvm" | "cached"; notice?: string }
  | { trial: true };

export function accelKey(hostKernel: string, qemuVersion: string): string {
  return `${hostKernel} | ${qemuVersion}`;
}

const FORCE_HINT = "LVS_LAB_VM_ACCEL=kvm|tcg forces a choice";

export function decideAccel(input: { forced?: Accel; device: KvmDevice; cached?: AccelVerdict }): AccelDecision {
  if (input.forced) return { accel: input.forced, source: "forced" };
  if (input.device === "missing") return { accel: "tcg", source: "no-kvm", notice: "no KVM here (/dev/kvm missing): QEMU emulates the CPU (TCG), which is slower" };
  if (input.device === "denied") {
    return { accel: "tcg", source: "no-kvm", notice: "/dev/kvm is not readable and writable for this user (group kvm?): QEMU emulates the CPU (TCG), which is slower" };
  }
  if (!input.cached) return { trial: true };
  const c = input.cached;
  return c.accel === "kvm"
    ? { accel: "kvm", source: "cached" }
    : { accel: "tcg", source: "cached", notice: `KVM did not work here earlier (${c.reason}): QEMU emulates the CPU (TCG), which is slower; ${FORCE_HINT}` };
}

/** Printed by the trial's init (rdinit=/bin/echo, busybox) once the kernel has reached user space. */
export const TRIAL_MARKER = "lvs-lab-accel-trial-ok";

export interface TrialOutcome {
  /** The console output (QEMU's stderr included). */
  console: string;
  /** QEMU was still running at the deadline without the marker. */
  timedOut: boolean;
  seconds: number;
}

/** The marker alone on a line: the kernel's own echo of its command line does not count. */
export function reachedUserSpace(console: string): boolean {
  return console.split("\n").some((l) => l.trim() === TRIAL_MARKER);
}

/**
 * The accelerator tried works when the kernel reached user space under it in time; anything
 * else falls back to TCG, with the cause.
 */
export function judgeTrial(o: TrialOutcome, tried: Accel = "kvm", now: Date = new Date()): AccelVerdict {
  const decidedAt = now.toISOString();
  const name = tried.toUpperCase();
  if (reachedUserSpace(o.console)) return { accel: tried, reason: `a trial boot with ${name} reached user space in ${o.seconds.toFixed(1)} s`, decidedAt };
  const lastError = o.console
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => !l.startsWith("#") && /error|assert|fail|panic|cannot|could not/i.test(l))
    .pop();
  const why = o.timedOut
    ? `a trial boot with ${name} showed no sign of life within ${o.seconds.toFixed(0)} s`
    : `a trial boot with ${name} ended ${lastError ? `with "${lastError.slice(0, 160)}"` : "before user space"}`;
  return { accel: "tcg", reason: why, decidedAt };
}

/** Parses the cache file; anything unreadable counts as no verdict at all. */
export function parseVerdicts(text: string | undefined): AccelVerdicts {
  if (!text) return {};
  try {
    const raw = JSON.parse(text) as unknown;
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) return {};
    const out: AccelVerdicts = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const val = v as Partial<AccelVerdict> | null;
      if (val && (val.accel === "kvm" || val.accel === "tcg") && typeof val.reason === "string" && typeof val.decidedAt === "string") {
        out[k] = { accel: val.accel, reason: val.reason, decidedAt: val.decidedAt };
      }
    }
    return out;
  } catch {
    return {};
  }
}
