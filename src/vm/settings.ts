/**
 * The VM's settings from the environment: how much memory it gets, how long it may sit
 * idle, and whether the learner forced an accelerator (the automatic choice is accel.ts).
 */
import type { Accel } from "./qemu.js";

export const QEMU_BIN = "qemu-system-x86_64";

/**
 * Guest memory. With the root on a disk, QEMU holds what the guest uses (freed pages are
 * reported back): 650 MiB idle, 835 MiB with dr, 1078 MiB at the peak of failover's
 * selftest (two directors with keepalived, two real servers, a client, traffic). When
 * the root was a 0.5 GB initramfs kept in RAM, 1280 ran the guest out of memory with two
 * labs at once: 1536 is the ceiling and leaves room for a second lab.
 * LVS_LAB_VM_MEMORY_MIB overrides it (at least 768).
 */
export const DEFAULT_MEMORY_MIB = 1536;

/** TCG's translated-code cache: QEMU's default of 1 GiB ends up fully resident after an hour of labs. */
export const TCG_TB_SIZE_MIB = 256;

/** Minutes without a lab instance in it after which the VM powers itself off. */
export const DEFAULT_IDLE_MINUTES = 30;

/** LVS_LAB_VM_ACCEL=kvm|tcg, or undefined: decide automatically. */
export function forcedAccel(env: NodeJS.ProcessEnv = process.env): Accel | undefined {
  const v = env.LVS_LAB_VM_ACCEL?.trim().toLowerCase();
  return v === "kvm" || v === "tcg" ? v : undefined;
}

export function vmMemoryMiB(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.LVS_LAB_VM_MEMORY_MIB);
  return Number.isInteger(n) && n >= 768 ? n : DEFAULT_MEMORY_MIB;
}

/**
 * LVS_LAB_VM_RESUME=1: save the VM after a cold boot and resume later starts from it
 * (resume.ts). Off by default: a VM saved and then used on for selftests lost its network
 * after 35 min here (the guest's virtio-net transmit queue timed out; cause not found).
 */
export function vmResumeEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LVS_LAB_VM_RESUME === "1";
}

/** LVS_LAB_VM_IDLE_MINUTES: 0 never stops; unset or invalid: DEFAULT_IDLE_MINUTES. */
export function vmIdleMinutes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LVS_LAB_VM_IDLE_MINUTES;
  if (raw === undefined || raw.trim() === "") return DEFAULT_IDLE_MINUTES;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_IDLE_MINUTES;
}

/**
 * LVS_LAB_VM_PRELOAD=0: the VM boots without loading ip_vs, its schedulers and ipip and
 * states no kernel report (vm/init's lvslab.preload=0), like Docker Desktop's VM: the
 * stand-in on which loading the modules from a container is proved.
 */
export function vmPreloadsModules(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LVS_LAB_VM_PRELOAD?.trim() !== "0";
}
