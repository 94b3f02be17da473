/**
 * The engine `start` uses: the local one when its kernel has what the lab needs, else
 * lvs-lab's VM, booted here when it is not running (src/lab/placement.ts decides). Where
 * QEMU is missing, root on Debian/Ubuntu at a terminal is asked once to install it.
 */
import { createInterface } from "node:readline/promises";
import { Engine, resolveDockerHost } from "../docker/engine.js";
import { ExitCode, UserError } from "../errors.js";
import { choosePlacement, isYes, qemuAction, vmCostLine } from "../lab/placement.js";
import { sentences } from "../i18n/index.js";
import { bold, progressLine } from "./output.js";
import { plannedSteps, VmProgress } from "./vm-progress.js";

export interface LabEngineOptions {
  /** --vm true, --no-vm false, neither undefined. */
  vm?: boolean;
  signal: AbortSignal;
}

/** Terminals on both ends of a question: stdin to answer, stderr to ask. */
function interactive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

export async function engineForLab(labId: string, opts: LabEngineOptions): Promise<Engine> {
  const local = new Engine(resolveDockerHost());
  if (opts.vm !== true) {
    const { loadLab } = await import("../lesson/load.js");
    const requirements = (await loadLab(labId)).lesson.meta.requirements;
    if (!requirements.length) return local;
    const { ensureLabImage } = await import("../docker/image.js");
    const { missingRequirements, probeKernel } = await import("../lab/kernel.js");
    const image = await ensureLabImage(local, (e) => progressLine(`image: ${e.line}`));
    const missing = missingRequirements(requirements, await probeKernel(local, image));
    const placement = choosePlacement({ labId, missing, hostKernel: missing.length ? (await local.info()).kernel : "", vm: opts.vm });
    if (placement.where === "host") return local;
    return vmEngine(local, placement.why, opts.signal);
  }
  return vmEngine(local, undefined, opts.signal);
}

async function vmEngine(local: Engine, why: string | undefined, signal: AbortSignal): Promise<Engine> {
  const vm = await import("../vm/index.js");
  const { ensureLabImage } = await import("../docker/image.js");
  const labImage = await ensureLabImage(local, (e) => progressLine(`image: ${e.line}`));
  const readiness = vm.vmStartPlan(await local.imageId(labImage), labImage);
  const estimates = vm.expectedEstimates();
  if (why) progressLine(sentences(why, vmCostLine(readiness, estimates)));
  else if (!readiness.running) progressLine(vmCostLine(readiness, estimates));
  if (!readiness.running) await ensureVmTools(readiness.built);

  const progress = new VmProgress(plannedSteps(readiness, estimates), estimates, { tty: Boolean(process.stderr.isTTY), write: (t) => process.stderr.write(t) });
  const began = Date.now();
  try {
    const { dockerHost, timings } = await vm.vmUp({ labImage, localDockerHost: local.host, signal, onPhase: (phase, detail) => progress.onPhase(phase, detail) });
    progress.finish(readiness.running && !timings.imageLoad ? undefined : `${bold("VM ready")} in ${Math.round((Date.now() - began) / 1000)} s (${dockerHost}).${idleText(vm.vmIdleMinutes())}`);
    return new Engine(dockerHost);
  } catch (e) {
    progress.finish();
    throw e;
  }
}

function idleText(minutes: number): string {
  return minutes > 0 ? ` It stops itself after ${minutes} min without a lab (LVS_LAB_VM_IDLE_MINUTES).` : "";
}

/** QEMU (and for a first build debootstrap, cpio, mkfs.ext4): present, installed after one question, or the command to run. */
async function ensureVmTools(built: boolean): Promise<void> {
  const { canInstallWithApt, installVmPackages, missingVmTools, vmToolsError } = await import("../vm/index.js");
  const missing = missingVmTools(built);
  const action = qemuAction({
    missingPackages: missing.map((t) => t.package),
    aptAsRoot: canInstallWithApt(),
    interactive: interactive(),
    refusal: vmToolsError(missing),
  });
  if (action.action === "ready") return;
  if (action.action === "refuse") throw action.error;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // At a prompt readline takes Ctrl-C as a key, not a signal: it must still interrupt.
  const ctrlC = new AbortController();
  rl.on("SIGINT", () => ctrlC.abort());
  let answer: string;
  try {
    answer = await rl.question(`lvs-lab: the VM needs ${missing.map((t) => t.command).join(", ")}, not installed. Install ${action.packages.join(" ")} with apt-get now? [Y/n] `, { signal: ctrlC.signal });
  } catch (e) {
    if (ctrlC.signal.aborted) throw new UserError("Interrupted; nothing was installed.", undefined, ExitCode.interrupted);
    throw e;
  } finally {
    rl.close();
  }
  if (!isYes(answer)) throw new UserError("Not installed, so the lab cannot start.", vmToolsError(missing).hint, ExitCode.environment);
  await installVmPackages(action.packages, progressLine);
  const still = missingVmTools(built);
  if (still.length) throw vmToolsError(still);
}
