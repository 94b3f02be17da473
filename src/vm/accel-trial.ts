/**
 * The automatic KVM-or-TCG choice of accel.ts, with its IO: /dev/kvm, QEMU's version, the
 * verdict cache (root/accel.json) and the trial boot, run through vm/run.sh like every QEMU
 * of ours so that it cannot outlive lvs-lab.
 */
import { execFile, spawn } from "node:child_process";
import { accessSync, closeSync, constants, openSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { accelKey, decideAccel, judgeTrial, parseVerdicts, reachedUserSpace, TRIAL_MARKER, type AccelVerdict, type KvmDevice } from "./accel.js";
import { firstLine, type BootGuard } from "./boot.js";
import { processAlive, trialArgv, type Accel } from "./qemu.js";
import { VM_SCRIPTS_DIR, type VmPaths } from "./recipe.js";
import { t } from "../i18n/index.js";
import { readText, sleep, type VmPhase } from "./run-state.js";
import { forcedAccel, QEMU_BIN } from "./settings.js";

/** A working KVM reaches user space in a few seconds; a broken one aborts at once or hangs. */
export const TRIAL_TIMEOUT_MS = 30_000;
const TRIAL_MEMORY_MIB = 256;

export function kvmDevice(path = "/dev/kvm"): KvmDevice {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return "usable";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : "denied";
  }
}

export async function qemuVersion(): Promise<string> {
  const { stdout } = await promisify(execFile)(QEMU_BIN, ["--version"], { timeout: 10_000 });
  return stdout.split("\n")[0]?.trim() ?? "unknown";
}

export interface AccelChoice {
  accel: Accel;
  /** Said once to the learner when KVM is not used although it might have been. */
  notice?: string;
}

/** Forced, cached, or decided now by a trial boot (the VM must be built: the trial boots its kernel). */
export async function chooseAccel(p: VmPaths, phase: (name: VmPhase, detail: string) => void, guard: BootGuard): Promise<AccelChoice> {
  const device = kvmDevice();
  const forced = forcedAccel();
  const key = device === "usable" && !forced ? accelKey(release(), await qemuVersion()) : "";
  const verdicts = parseVerdicts(readText(p.accelFile));
  const decision = decideAccel({ forced, device, cached: verdicts[key] });
  if (!("trial" in decision)) return { accel: decision.accel, notice: decision.notice };

  phase("accel", t("vm.phase.trial", { s: TRIAL_TIMEOUT_MS / 1000 }));
  const verdict = await trialBoot(p, "kvm", TRIAL_TIMEOUT_MS, guard);
  writeFileSync(p.accelFile, JSON.stringify({ ...verdicts, [key]: verdict }, null, 2) + "\n");
  if (verdict.accel === "kvm") return { accel: "kvm" };
  return { accel: "tcg", notice: `KVM does not work here (${verdict.reason}): QEMU emulates the CPU (TCG), which is slower. LVS_LAB_VM_ACCEL=kvm|tcg forces a choice.` };
}

/** Boots the VM's kernel to user space with `accel`; the verdict says whether it got there in time. */
export async function trialBoot(p: VmPaths, accel: Accel, timeoutMs: number, guard: BootGuard): Promise<AccelVerdict> {
  const argv = trialArgv({ kernel: p.kernel, initrd: p.initrd, accel, memoryMiB: TRIAL_MEMORY_MIB }, TRIAL_MARKER);
  writeFileSync(p.trialLog, `# ${new Date().toISOString()} ${QEMU_BIN} ${argv.join(" ")}\n`);
  const logFd = openSync(p.trialLog, "a");
  const started = Date.now();
  const wrapper = spawn("sh", [join(VM_SCRIPTS_DIR, "run.sh"), p.trialLog, QEMU_BIN, ...argv], { detached: true, stdio: ["pipe", "pipe", logFd] });
  closeSync(logFd);
  const pid = await firstLine(wrapper);
  guard.track(wrapper, pid);
  let timedOut = false;
  for (;;) {
    if (reachedUserSpace(readText(p.trialLog) ?? "") || !processAlive(pid)) break;
    if (Date.now() - started > timeoutMs) {
      timedOut = true;
      break;
    }
    await sleep(200);
  }
  const seconds = (Date.now() - started) / 1000;
  await guard.stopTracked();
  return judgeTrial({ console: readText(p.trialLog) ?? "", timedOut, seconds }, accel);
}
