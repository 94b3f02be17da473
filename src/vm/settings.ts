/**
 * The VM's settings from the environment: how it is accelerated and how much memory it gets.
 */
import type { Accel } from "./qemu.js";

export const QEMU_BIN = "qemu-system-x86_64";

/** TCG unless LVS_LAB_VM_ACCEL=kvm: telling a working KVM from one that hangs stock kernels needs a trial boot. */
export function vmAccel(env: NodeJS.ProcessEnv = process.env): Accel {
  return env.LVS_LAB_VM_ACCEL === "kvm" ? "kvm" : "tcg";
}

export function vmMemoryMiB(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.LVS_LAB_VM_MEMORY_MIB);
  return Number.isInteger(n) && n >= 1024 ? n : 6144;
}
