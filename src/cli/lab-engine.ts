/**
 * The engine `start` uses: the local one when its kernel has what the lab needs — after
 * loading the modules it has but has not loaded, when the learner says so (asked once at
 * a terminal, --yes for scripts; src/lab/modules.ts) — else lvs-lab's VM, booted here
 * when it is not running (src/lab/placement.ts decides). Where QEMU is missing, root on
 * Debian/Ubuntu at a terminal is asked once to install it.
 */
import { createInterface } from "node:readline/promises";
import { Engine, resolveDockerHost } from "../docker/engine.js";
import { ExitCode, UserError } from "../errors.js";
import { choosePlacement, hasVmLane, isYes, qemuAction, vmCostLine } from "../lab/placement.js";
import { sentences, t } from "../i18n/index.js";
import { bold, progressLine } from "./output.js";
import { plannedSteps, VmProgress } from "./vm-progress.js";

export interface LabEngineOptions {
  /** --vm true, --no-vm false, neither undefined. */
  vm?: boolean;
  /** --yes: load kernel modules that are only missing without asking. */
  yes?: boolean;
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
    const image = await ensureLabImage(local, (e) => progressLine(t("cli.imageProgress", { line: e.line })));
    const missing = await loadMissingModules(local, image, labId, missingRequirements(requirements, await probeKernel(local, image)), opts.yes);
    const placement = choosePlacement({ labId, missing, hostKernel: missing.length ? (await local.info()).kernel : "", vm: opts.vm, platform: process.platform });
    if (placement.where === "host") return local;
    return vmEngine(local, placement.why, opts.signal);
  }
  return vmEngine(local, undefined, opts.signal);
}

/**
 * Requirements the engine's kernel has as modules but has not loaded: loaded after one
 * question (or --yes), never silently; without a terminal and without --yes, the command
 * to run (exit 2). Returns what is still missing: what this kernel does not have at all.
 */
async function loadMissingModules(engine: Engine, image: string, labId: string, missing: string[], yes: boolean | undefined): Promise<string[]> {
  if (!missing.length) return missing;
  const modules = await import("../lab/modules.js");
  const report = await modules.reportModules(engine, image, modules.modulesFor(missing));
  const loadable = report && modules.loadableModules(missing, report);
  if (!report || !loadable) return missing;
  const action = modules.moduleAction({ labId, missing, modules: loadable, kernel: report.kernel, image, yes: Boolean(yes), interactive: interactive() });
  if (action.action === "refuse") throw action.error;
  if (action.action === "ask" && !isYes(await askOnce(`lvs-lab: ${action.question}`, t("modules.interrupted")))) {
    throw modules.declinedError(labId, image, loadable, hasVmLane(process.platform));
  }
  progressLine(t("modules.loading", { modules: loadable.join(" "), kernel: report.kernel }));
  await modules.loadModules(engine, image, loadable);
  const { missingRequirements, probeKernel } = await import("../lab/kernel.js");
  const still = missingRequirements(missing, await probeKernel(engine, image));
  if (still.length) throw new UserError(t("modules.stillMissing", { modules: loadable.join(" "), requirements: still.join(t("vm.and")) }));
  progressLine(t("modules.loaded", { modules: loadable.join(" ") }));
  return still;
}

/** One question on the terminal; Ctrl-C at the prompt ends with `interrupted` (exit 130). */
async function askOnce(question: string, interrupted: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // At a prompt readline takes Ctrl-C as a key, not a signal: it must still interrupt.
  const ctrlC = new AbortController();
  rl.on("SIGINT", () => ctrlC.abort());
  try {
    return await rl.question(question, { signal: ctrlC.signal });
  } catch (e) {
    if (ctrlC.signal.aborted) throw new UserError(interrupted, undefined, ExitCode.interrupted);
    throw e;
  } finally {
    rl.close();
  }
}

async function vmEngine(local: Engine, why: string | undefined, signal: AbortSignal): Promise<Engine> {
  const vm = await import("../vm/index.js");
  const { ensureLabImage } = await import("../docker/image.js");
  const labImage = await ensureLabImage(local, (e) => progressLine(t("cli.imageProgress", { line: e.line })));
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
  const answer = await askOnce(
    t("vm.errors.installNow", { commands: missing.map((m) => m.command).join(", "), packages: action.packages.join(" ") }),
    t("vm.errors.interruptedNothingInstalled"),
  );
  if (!isYes(answer)) throw new UserError(t("errors.vmToolsDeclined"), vmToolsError(missing).hint, ExitCode.environment);
  await installVmPackages(action.packages, progressLine);
  const still = missingVmTools(built);
  if (still.length) throw vmToolsError(still);
}
