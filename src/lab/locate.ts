/**
 * The road to a lab's engine, the one the CLI, the UI, selftest and the class take: where
 * an instance runs (looked up, nothing changed on the way), and where a new lab goes
 * (placeLab: the local engine when its kernel has what the lab needs, else lvs-lab's VM,
 * booted when it is not running; src/lab/placement.ts decides). One Engine per host in a
 * process, so a host's labels and exec agents are asked once. The terminal — questions,
 * progress lines — is the caller's, through PlaceHooks.
 */
import { Engine, resolveDockerHost, type EngineClient } from "../docker/engine.js";
import { instanceContainers, listInstances } from "../docker/instance.js";
import { ExitCode, UserError } from "../errors.js";
import { sentences, t } from "../i18n/index.js";
import { deleteInstanceRecord, readInstanceRecord, type InstanceRecord } from "../state/instances.js";
import { missingRequirements, probeKernel, type KernelReport } from "./kernel.js";
import { runningInstanceOf, type FoundInstance } from "./session.js";
import { choosePlacement, hasVmLane, isYes, qemuAction, vmCostLine, type PhaseSeconds, type VmReadiness } from "./placement.js";

const engines = new Map<string, Engine>();

/** This process's one Engine for a host. */
export function engineAt(host: string): Engine {
  let engine = engines.get(host);
  if (!engine) {
    engine = new Engine(host);
    engines.set(host, engine);
  }
  return engine;
}

/** DOCKER_HOST's engine, else the local socket's. */
export function localEngine(): Engine {
  return engineAt(resolveDockerHost());
}

/** The engine for new work: the VM's with --vm, else DOCKER_HOST or the local socket. */
export async function engineFor(opts: { vm?: boolean }): Promise<Engine> {
  if (opts.vm) {
    const { vmDockerHost } = await import("../vm/index.js");
    const host = await vmDockerHost();
    if (!host) throw new UserError(t("errors.vmNotRunning"), t("errors.vmNotRunningHint"));
    return engineAt(host);
  }
  return localEngine();
}

/** Every engine that may hold instances: the default one and, when it runs, the VM's. */
export async function knownEngines(): Promise<Engine[]> {
  const found = [localEngine()];
  const { vmDockerHost } = await import("../vm/index.js");
  const vmHost = await vmDockerHost().catch(() => undefined);
  if (vmHost && vmHost !== found[0]!.host) found.push(engineAt(vmHost));
  return found;
}

/** The first of the candidates where an instance of this name has containers; an engine that does not answer holds none. */
export async function engineHolding<E extends EngineClient>(name: string, candidates: E[]): Promise<E | undefined> {
  for (const e of candidates) {
    if ((await e.listContainers(name).catch(() => [])).length) return e;
  }
  return undefined;
}

/** The engine where an instance of this name has containers: its record's first, then every known engine. Only looks. */
export async function locateInstance(name: string): Promise<Engine | undefined> {
  const record = await readInstanceRecord(name);
  const candidates = record ? [engineAt(record.dockerHost)] : [];
  for (const e of await knownEngines()) if (!candidates.includes(e)) candidates.push(e);
  return engineHolding(name, candidates);
}

/** An instance's record is of no more use (its VM went, and the instance with it). */
export async function forgetInstance(name: string): Promise<void> {
  await deleteInstanceRecord(name);
}

/** Why an instance recorded in the VM cannot be reached: the VM is no longer the one it ran in. Undefined when it may be. */
async function goneWithVm(name: string, record: InstanceRecord): Promise<UserError | undefined> {
  const { isVmDockerHost, vmStatus } = await import("../vm/index.js");
  if (record.dockerHost === resolveDockerHost() || !isVmDockerHost(record.dockerHost)) return undefined;
  const vm = await vmStatus();
  if (vm.running && vm.dockerHost === record.dockerHost) return undefined;
  const how = vm.stoppedIdle
    ? t("errors.vmGoneIdle", { at: vm.stoppedIdle.at, minutes: vm.stoppedIdle.idleMinutes })
    : t(vm.running ? "errors.vmGoneRestarted" : "errors.vmGoneStopped");
  return new UserError(t("errors.vmGone", { name, how }), t("errors.vmGoneHint", { lab: record.lab, flag: name !== record.lab ? ` --name ${name}` : "" }));
}

/**
 * The instance a command is about: --name, else the lab's default instance, else the
 * only one running. Several running and none named is a question for the learner. An
 * instance that went with the VM is said so, and its record forgotten.
 */
export async function targetInstance(name: string | undefined): Promise<FoundInstance & { engine: Engine }> {
  let chosen = name;
  let engine: Engine | undefined;
  if (!chosen) {
    const all = (await Promise.all((await knownEngines()).map(async (e) => (await listInstances(e).catch(() => [])).map((i) => ({ i, e }))))).flat();
    if (all.length === 0) throw new UserError(t("errors.noneRunning"), t("errors.noneRunningHint"));
    if (all.length > 1) throw new UserError(t("errors.severalRunning", { names: all.map((x) => x.i.name).join(", ") }));
    chosen = all[0]!.i.name;
    engine = all[0]!.e;
  }
  const record = await readInstanceRecord(chosen);
  if (!engine && record) {
    const gone = await goneWithVm(chosen, record);
    if (gone) {
      await forgetInstance(chosen);
      throw gone;
    }
  }
  engine ??= record ? engineAt(record.dockerHost) : localEngine();
  const containers = await instanceContainers(engine, chosen);
  if (!Object.keys(containers).length) {
    throw new UserError(t("errors.noInstance", { name: chosen }), t("errors.noInstanceHint"));
  }
  return { name: chosen, engine, containers };
}

/** The instance of this lab already running under `name`, wherever it runs, with its containers; undefined when there is none. */
export async function runningInstance(name: string, labId: string): Promise<(FoundInstance & { engine: Engine }) | undefined> {
  const engine = await locateInstance(name);
  if (!engine) return undefined;
  if (!(await runningInstanceOf(engine, name, labId))) return undefined;
  return { name, engine, containers: await instanceContainers(engine, name) };
}

/** The terminal's part in placing a lab: lines to show, and one question where somebody can answer it. */
export interface PlaceHooks {
  /** stdin and stderr are terminals: a question can be asked. */
  interactive: boolean;
  /** One question; Ctrl-C at it throws a UserError with `interrupted` (exit 130). */
  ask(question: string, interrupted: string): Promise<string>;
  line(text: string): void;
  /** Shows the VM's start-up phases; finish gets what to say of a VM that had to come up, or nothing. */
  vmProgress(readiness: VmReadiness, estimates: PhaseSeconds): { onPhase(phase: string, detail: string): void; finish(ready?: { seconds: number; dockerHost: string; idleMinutes: number }): void };
}

export interface PlaceOptions {
  /** --vm true, --no-vm false, neither undefined. */
  vm?: boolean;
  /** --yes: load kernel modules that are only missing without asking. */
  yes?: boolean;
  signal: AbortSignal;
}

/** Where a new lab runs, and what that engine's kernel has (asked once, for startLab; undefined for a lab that needs no modules). */
export interface PlacedLab {
  engine: Engine;
  kernelReport?: KernelReport;
}

export async function placeLab(labId: string, opts: PlaceOptions, hooks: PlaceHooks): Promise<PlacedLab> {
  const local = localEngine();
  const { loadLab } = await import("../lesson/load.js");
  const requirements = (await loadLab(labId)).lesson.meta.requirements;
  if (opts.vm !== true) {
    if (!requirements.length) return { engine: local };
    const { ensureLabImage } = await import("../docker/image.js");
    const image = await ensureLabImage(local, (e) => hooks.line(t("cli.imageProgress", { line: e.line })));
    let report = await probeKernel(local, image);
    const loaded = await loadMissingModules(local, image, labId, missingRequirements(requirements, report), opts.yes, hooks);
    if (loaded) report = loaded;
    const missing = missingRequirements(requirements, report);
    const placement = choosePlacement({ labId, missing, hostKernel: missing.length ? (await local.info()).kernel : "", vm: opts.vm, platform: process.platform });
    if (placement.where === "host") return { engine: local, kernelReport: report };
    return placeInVm(local, requirements, placement.why, opts.signal, hooks);
  }
  return placeInVm(local, requirements, undefined, opts.signal, hooks);
}

/**
 * Requirements the engine's kernel has as modules but has not loaded: loaded after one
 * question (or --yes), never silently; without a terminal and without --yes, the command
 * to run (exit 2). Returns the kernel's report after loading, undefined when nothing was loaded.
 */
async function loadMissingModules(engine: Engine, image: string, labId: string, missing: string[], yes: boolean | undefined, hooks: PlaceHooks): Promise<KernelReport | undefined> {
  if (!missing.length) return undefined;
  const modules = await import("./modules.js");
  const report = await modules.reportModules(engine, image, modules.modulesFor(missing));
  const loadable = report && modules.loadableModules(missing, report);
  if (!report || !loadable) return undefined;
  const action = modules.moduleAction({ labId, missing, modules: loadable, kernel: report.kernel, image, yes: Boolean(yes), interactive: hooks.interactive });
  if (action.action === "refuse") throw action.error;
  if (action.action === "ask" && !isYes(await hooks.ask(`lvs-lab: ${action.question}`, t("modules.interrupted")))) {
    throw modules.declinedError(labId, image, loadable, hasVmLane(process.platform));
  }
  hooks.line(t("modules.loading", { modules: loadable.join(" "), kernel: report.kernel }));
  await modules.loadModules(engine, image, loadable);
  const after = await probeKernel(engine, image);
  const still = missingRequirements(missing, after);
  if (still.length) throw new UserError(t("modules.stillMissing", { modules: loadable.join(" "), requirements: still.join(t("vm.and")) }));
  hooks.line(t("modules.loaded", { modules: loadable.join(" ") }));
  return after;
}

async function placeInVm(local: Engine, requirements: string[], why: string | undefined, signal: AbortSignal, hooks: PlaceHooks): Promise<PlacedLab> {
  const vm = await import("../vm/index.js");
  const { ensureLabImage } = await import("../docker/image.js");
  const labImage = await ensureLabImage(local, (e) => hooks.line(t("cli.imageProgress", { line: e.line })));
  const readiness = vm.vmStartPlan(await local.imageId(labImage), labImage);
  const estimates = vm.expectedEstimates();
  if (why) hooks.line(sentences(why, vmCostLine(readiness, estimates)));
  else if (!readiness.running) hooks.line(vmCostLine(readiness, estimates));
  if (!readiness.running) await ensureVmTools(readiness.built, hooks);

  const progress = hooks.vmProgress(readiness, estimates);
  const began = Date.now();
  let engine: Engine;
  try {
    const { dockerHost, timings } = await vm.vmUp({ labImage, localDockerHost: local.host, signal, onPhase: (phase, detail) => progress.onPhase(phase, detail) });
    progress.finish(readiness.running && !timings.imageLoad ? undefined : { seconds: Math.round((Date.now() - began) / 1000), dockerHost, idleMinutes: vm.vmIdleMinutes() });
    engine = engineAt(dockerHost);
  } catch (e) {
    progress.finish();
    throw e;
  }
  // The VM states its kernel in its engine's labels: no container to ask it.
  return { engine, kernelReport: requirements.length ? await probeKernel(engine, labImage) : undefined };
}

/** QEMU (and for a first build debootstrap, cpio, mkfs.ext4): present, installed after one question, or the command to run. */
async function ensureVmTools(built: boolean, hooks: PlaceHooks): Promise<void> {
  const { canInstallWithApt, installVmPackages, missingVmTools, vmToolsError } = await import("../vm/index.js");
  const missing = missingVmTools(built);
  const action = qemuAction({
    missingPackages: missing.map((m) => m.package),
    aptAsRoot: canInstallWithApt(),
    interactive: hooks.interactive,
    refusal: vmToolsError(missing),
  });
  if (action.action === "ready") return;
  if (action.action === "refuse") throw action.error;
  const answer = await hooks.ask(
    t("vm.errors.installNow", { commands: missing.map((m) => m.command).join(", "), packages: action.packages.join(" ") }),
    t("vm.errors.interruptedNothingInstalled"),
  );
  if (!isYes(answer)) throw new UserError(t("errors.vmToolsDeclined"), vmToolsError(missing).hint, ExitCode.environment);
  await installVmPackages(action.packages, hooks.line);
  const still = missingVmTools(built);
  if (still.length) throw vmToolsError(still);
}
