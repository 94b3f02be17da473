/**
 * A running lab: lesson + topology + the containers of one instance. Start, check,
 * solve and reset are written once here and shared by the CLI, the UI and selftest.
 */
import type { EngineClient, LabContainer } from "../docker/engine.js";
import { ensureLabImage, labImageRef, type BuildEvent } from "../docker/image.js";
import {
  checkAborted,
  createContainers,
  createInstance,
  listInstances,
  removeInstance,
  type PhaseListener,
} from "../docker/instance.js";
import { LABEL, ONE_SHOT_INSTANCE } from "../docker/labels.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { loadLab, type LoadedLab } from "../lesson/load.js";
import { HOOK_WAIT_S } from "../probes/kinds/restart.js";
import { restartedNodes } from "../probes/registry.js";
import { runProbes, stepPasses, type ProbeResult } from "../probes/runner.js";
import type { ProbeContext } from "../probes/types.js";
import { deleteInstanceRecord, readInstanceRecord, saveInstanceRecord } from "../state/instances.js";
import { allocateSubnets } from "../topology/allocate.js";
import { renderTemplate, resolveTopology, templateVariables, type InterfaceMap, type ResolvedTopology } from "../topology/resolve.js";
import { usedIpv4Blocks } from "./host.js";
import { fenceInstance, unfenceInstances } from "./isolation.js";
import { missingRequirements, probeKernel, type KernelReport } from "./kernel.js";
import { planInstance } from "./plan.js";
import { discoverInterfaces, prepareServices } from "./services.js";
import { refuseUnsupportedEngine } from "./engine-support.js";

export interface LabSession {
  name: string;
  lab: LoadedLab;
  engine: EngineClient;
  topology: ResolvedTopology;
  containers: Record<string, string>;
  ifaces: InterfaceMap;
  vars: Record<string, string>;
}

/** What a lookup found of a running instance: its engine and its containers by node. */
export interface FoundInstance {
  name: string;
  engine: EngineClient;
  containers: Record<string, LabContainer>;
}

export const INSTANCE_NAME = /^[a-z0-9][a-z0-9-]{0,23}$/;

export function validateInstanceName(name: string): void {
  if (!INSTANCE_NAME.test(name)) {
    throw new UserError(t("errors.badInstanceNames", { names: `"${name}"` }));
  }
}

function assembleSession(
  name: string,
  lab: LoadedLab,
  engine: EngineClient,
  topology: ResolvedTopology,
  containers: Record<string, string>,
  ifaces: InterfaceMap,
): LabSession {
  return { name, lab, engine, topology, containers, ifaces, vars: templateVariables(topology, ifaces, name) };
}

export interface StartOptions {
  name?: string;
  lang?: string;
  signal?: AbortSignal;
  onImage?: (e: BuildEvent) => void;
  onPhase?: PhaseListener;
  /** Things worth a line of output that are not errors. */
  onNote?: (text: string) => void;
  /** What the engine's kernel has, when placing the lab already asked it (src/lab/locate.ts). */
  kernelReport?: KernelReport;
}

/**
 * Instances that cannot be used: some node missing or not running, or networks without
 * containers — what a kill -9 or a power cut in the middle of `start` leaves behind.
 */
export async function findLeftovers(engine: EngineClient): Promise<string[]> {
  const broken: string[] = [];
  for (const i of await listInstances(engine)) {
    const expected = await nodesOfLab(i.lab);
    const present = new Set(i.nodes.filter((n) => n.state === "running").map((n) => n.node));
    if (!i.nodes.length || expected.some((n) => !present.has(n)) || i.nodes.some((n) => n.state !== "running")) broken.push(i.name);
  }
  return broken;
}

/** A lab's node names, read once per process: each read is a lesson parse and validation. */
const labNodes = new Map<string, Promise<string[]>>();
function nodesOfLab(labId: string): Promise<string[]> {
  let nodes = labNodes.get(labId);
  if (!nodes) {
    nodes = loadLab(labId).then((l) => Object.keys(l.topology.nodes), () => []);
    labNodes.set(labId, nodes);
  }
  return nodes;
}

/**
 * Whether an instance of this lab already runs under `name` (a crash's leftovers do not
 * count: starting afresh clears them). The name taken by another lab is an error.
 */
export async function runningInstanceOf(engine: EngineClient, name: string, labId: string, leftovers?: string[]): Promise<boolean> {
  if ((leftovers ?? (await findLeftovers(engine))).includes(name)) return false;
  const existing = await engine.listContainers(name);
  if (!existing.length) return false;
  const other = existing[0]!.labels[LABEL.lab];
  if (other !== labId) {
    throw new UserError(t("errors.runsOtherLab", { name, lab: other }), t("errors.runsOtherLabHint", { name }));
  }
  return true;
}

/** Creates a fresh instance of a lab; refuses to overwrite one that already runs. */
export async function startLab(labId: string, engine: EngineClient, opts: StartOptions = {}): Promise<LabSession> {
  const lab = await loadLab(labId, { lang: opts.lang });
  const name = opts.name ?? labId;
  validateInstanceName(name);
  await refuseUnsupportedEngine(engine);
  const leftovers = await findLeftovers(engine);
  if (await runningInstanceOf(engine, name, labId, leftovers)) {
    throw new UserError(t("errors.alreadyRuns", { name, lab: labId }), t("errors.alreadyRunsHint", { name }));
  }
  if (leftovers.includes(name)) {
    // A crashed or interrupted start of this very instance: clear it and build afresh.
    await removeInstance(engine, name);
    opts.onNote?.(t("cli.removedLeftovers", { name }));
  } else if (leftovers.length) {
    opts.onNote?.(t("cli.otherLeftovers", { names: leftovers.join(", ") }));
  }
  const image = await ensureLabImage(engine, opts.onImage ?? (() => undefined));
  if (lab.lesson.meta.requirements.length) {
    const missing = missingRequirements(lab.lesson.meta.requirements, opts.kernelReport ?? (await probeKernel(engine, image)));
    if (missing.length) {
      throw new UserError(
        t("vm.placement.needsModules", { lab: labId, count: missing.length, modules: missing.join(t("vm.and")), kernel: (await engine.info()).kernel }),
        t("errors.loadModulesOrVm", { commands: missing.map((m) => `\`modprobe ${m}\``).join(t("vm.and")), lab: labId }),
      );
    }
  }
  // Starts in this process take turns from choosing blocks until their networks exist.
  // Another process may still pick the same free block at the same moment: the engine
  // refuses the second network, and a fresh look at what is used, with a scattered
  // choice, picks another.
  for (let attempt = 1; ; attempt++) {
    const release = await allocationTurn(engine.host);
    try {
      const used = await usedIpv4Blocks(engine);
      const topology = resolveTopology(lab.topology, allocateSubnets(lab.topology, used, attempt > 1 ? { scatter: Math.random } : {}));
      const plan = planInstance(topology, name, image);
      // The fence needs only the networks' bridges: it goes up while the containers start.
      let fencing: Promise<Error | undefined> | undefined;
      const onNetworksCreated = () => {
        release();
        fencing = startFencing(engine, name, image);
      };
      const containers = await createInstance(engine, plan, name, { signal: opts.signal, onPhase: opts.onPhase, onNetworksCreated }).catch(async (e: unknown) => {
        if (fencing) await fencing.then(() => unfenceInstances(engine, image, name)).catch(() => undefined);
        throw e;
      });
      fencing ??= startFencing(engine, name, image);
      return await fencedWhileReadying(engine, name, image, opts, fencing, () => readyForLearner(name, lab, engine, topology, containers, opts));
    } catch (e) {
      release();
      const overlap = /overlap|already exists|conflicts/i.test(String((e as Error).message));
      if (!overlap || attempt >= 10 || e instanceof UserError) throw e;
      // Jitter, so that racing starts do not meet again at once.
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
    }
  }
}

/** Per engine, the tail of the queue of starts waiting to choose their blocks. */
const allocationQueue = new Map<string, Promise<void>>();

/** Waits for this process's earlier starts on the engine to have their networks; returns the release. */
async function allocationTurn(host: string): Promise<() => void> {
  const before = allocationQueue.get(host) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  allocationQueue.set(host, before.then(() => mine));
  await before;
  return release;
}

/** Fences the instance off (src/lab/isolation.ts); resolves with the error, if any, rather than failing. */
function startFencing(engine: EngineClient, name: string, image: string): Promise<Error | undefined> {
  return fenceInstance(engine, name, image).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
}

/**
 * The instance is fenced off while its containers are made ready: the learner gets no
 * shell before both are done. A host where the rules cannot be set (rootless Docker)
 * still gets its lab, with a warning; a failed start takes its rules along.
 */
async function fencedWhileReadying(
  engine: EngineClient,
  name: string,
  image: string,
  opts: { onNote?: (text: string) => void },
  fencing: Promise<Error | undefined>,
  readying: () => Promise<LabSession>,
): Promise<LabSession> {
  try {
    const session = await readying();
    const failed = await fencing;
    if (failed) opts.onNote?.(t("cli.notIsolated", { name, why: failed.message }));
    return session;
  } catch (e) {
    await fencing;
    await unfenceInstances(engine, image, name).catch(() => undefined);
    throw e;
  }
}

/**
 * Fresh containers become a lab: interfaces known, setup run, responders listening, the
 * instance recorded. On failure or abort the whole instance goes, as a half-built one
 * would only confuse the next command.
 */
async function readyForLearner(
  name: string,
  lab: LoadedLab,
  engine: EngineClient,
  topology: ResolvedTopology,
  containers: Record<string, string>,
  opts: { signal?: AbortSignal; onPhase?: PhaseListener },
): Promise<LabSession> {
  try {
    opts.onPhase?.("services", "start", t("ui.startup.services"));
    // Discovering interfaces and waiting for the responders overlap (one exec round less).
    const discovering = discoverInterfaces(engine, topology, containers);
    const [ifaces] = await Promise.all([discovering, prepareServices(engine, topology, containers, discovering, name)]);
    checkAborted(opts.signal);
    await saveInstanceRecord({
      name,
      lab: lab.lesson.meta.id,
      dockerHost: engine.host,
      subnets: Object.fromEntries(Object.values(topology.networks).map((n) => [n.name, n.subnet])),
      ifaces,
      createdAt: new Date().toISOString(),
    });
    opts.onPhase?.("services", "done");
    return assembleSession(name, lab, engine, topology, containers, ifaces);
  } catch (e) {
    await removeFencedInstance(engine, name).catch(() => undefined);
    throw e;
  }
}

/**
 * Removes the instance; its firewall rules go once its containers are gone. A rule left
 * behind (the lab image was removed, the helper could not run) names a bridge that no
 * longer exists, so it matches nothing: the stop goes on, and `stop --all` sweeps it.
 */
function removeFencedInstance(engine: EngineClient, name: string): Promise<{ containers: number; networks: number }> {
  return removeInstance(engine, name, () => unfenceInstances(engine, labImageRef(), name).catch(() => undefined));
}

/** Reattaches to a running instance that a lookup found, its subnets read from the engine's networks. */
export async function openLab(found: FoundInstance, opts: { lang?: string; allowBroken?: boolean } = {}): Promise<LabSession> {
  const { name, engine } = found;
  const first = Object.values(found.containers)[0];
  if (!first) throw new UserError(t("errors.noInstance", { name }), t("errors.noInstanceHint"));
  const lab = await loadLab(first.labels[LABEL.lab] ?? "", { lang: opts.lang });
  const networks = await engine.listNetworks(name);
  const subnets = Object.fromEntries(networks.map((n) => [n.labels[LABEL.network] ?? n.name, n.subnets[0] ?? ""]));
  const topology = resolveTopology(lab.topology, subnets);
  const containers = Object.fromEntries(Object.entries(found.containers).map(([node, c]) => [node, c.id]));
  const missing = Object.keys(topology.nodes).filter((n) => !containers[n]);
  if (opts.allowBroken) return assembleSession(name, lab, engine, topology, containers, {});
  if (missing.length) throw new UserError(t("errors.instanceMissing", { name, nodes: missing.join(", ") }), t("errors.instanceMissingHint", { name }));
  const stopped = Object.entries(found.containers).filter(([, c]) => c.state !== "running").map(([n]) => n);
  if (stopped.length) throw new UserError(t("errors.nodesStopped", { name, nodes: stopped.join(", "), count: stopped.length }), t("errors.nodesStoppedHint", { name }));
  const record = await readInstanceRecord(name);
  const ifaces = record && record.lab === lab.lesson.meta.id ? record.ifaces : await discoverInterfaces(engine, topology, containers);
  return assembleSession(name, lab, engine, topology, containers, ifaces);
}

export function probeContext(s: LabSession): ProbeContext {
  return { topology: s.topology, ifaces: s.ifaces, vars: s.vars };
}

export function stepAt(s: LabSession, index: number) {
  const step = s.lab.lesson.steps[index];
  if (!step) throw new UserError(t("errors.noSuchStep", { lab: s.lab.lesson.meta.id, max: s.lab.lesson.steps.length, n: index + 1 }));
  return step;
}

export interface CheckOptions {
  /** When the step became current: `{{stepSeconds}}` counts from here (default: a minute ago). */
  stepStartedAt?: string;
  /** Trace failed requests on every node (ProbeContext.trace); default on. */
  trace?: boolean;
}

const DEFAULT_LOOKBACK_S = 60;

export async function checkStep(s: LabSession, index: number, opts: CheckOptions = {}): Promise<ProbeResult[]> {
  const step = stepAt(s, index);
  const since = opts.stepStartedAt ? Date.parse(opts.stepStartedAt) : NaN;
  const stepSeconds = Number.isNaN(since) ? DEFAULT_LOOKBACK_S : Math.max(1, Math.ceil((Date.now() - since) / 1000));
  const ctx = { ...probeContext(s), vars: { ...s.vars, stepSeconds: String(stepSeconds) }, trace: opts.trace ?? true };
  // A check that restarts a node waits, in its first exec there, for the node's start hook too.
  const timeoutMs = 30_000 + (restartedNodes(step.checks).length ? HOOK_WAIT_S * 1000 : 0);
  const container = (node: string) => {
    const id = s.containers[node];
    if (!id) throw new Error(`no container for node ${node}`);
    return id;
  };
  return runProbes(
    step.checks,
    ctx,
    (node, script) => s.engine.execScript(container(node), script, { timeoutMs, what: `the probes on ${node}` }),
    (node) => s.engine.restartContainer(container(node)),
  );
}

export interface StepCheck {
  index: number;
  results: ProbeResult[];
  passed: boolean;
}

/**
 * Checks the step at `from` and, while steps pass, the ones after it: one call takes a
 * learner who configured ahead as far as the state proves. With `all`, every step from
 * `from` on is checked whatever the outcome.
 */
export async function checkOnward(
  s: LabSession,
  from: number,
  opts: { all?: boolean; startedAt?: (index: number) => string | undefined; onStep?: (c: StepCheck) => void } = {},
): Promise<StepCheck[]> {
  const checks: StepCheck[] = [];
  for (let i = from; i < s.lab.lesson.steps.length; i++) {
    // A later step whose check restarts a node is checked only when it is the one asked for.
    if (i > from && restartedNodes(stepAt(s, i).checks).length) break;
    const results = await checkStep(s, i, { stepStartedAt: opts.startedAt?.(i) });
    const c = { index: i, results, passed: stepPasses(results) };
    checks.push(c);
    opts.onStep?.(c);
    if (!c.passed && !opts.all) break;
  }
  return checks;
}

export interface SolutionRun {
  node: string;
  commands: string;
  exitCode: number;
  output: string;
}

/** Types the reference solution of one step, as a learner would, and reports each block. */
export async function solveStep(s: LabSession, index: number): Promise<SolutionRun[]> {
  const runs: SolutionRun[] = [];
  for (const solution of stepAt(s, index).solutions) {
    const commands = renderTemplate(solution.commands, s.vars);
    const res = await s.engine.execScript(s.containers[solution.node]!, commands, { errexit: true, timeoutMs: 60_000, what: `the solution on ${solution.node}` });
    runs.push({ node: solution.node, commands, exitCode: res.exitCode, output: (res.stdout + res.stderr).trim() });
    if (res.exitCode !== 0) {
      throw new UserError(t("errors.solutionFailed", { node: solution.node, code: res.exitCode, output: (res.stderr || res.stdout).trim().slice(0, 300) }));
    }
  }
  return runs;
}

/**
 * A learner who stopped a lab and starts it again continues at their saved step: the
 * fresh containers get the reference solutions of the steps before it.
 */
export async function replaySteps(s: LabSession, count: number, onStep?: (index: number) => void): Promise<void> {
  for (let i = 0; i < Math.min(count, s.lab.lesson.steps.length); i++) {
    onStep?.(i);
    await solveStep(s, i);
  }
}

/**
 * Puts the lab back to the start of step `index`: fresh containers on the same networks
 * (so nothing a learner broke survives), made ready the way `start` does it, then the
 * reference solutions of earlier steps.
 */
export async function resetLab(s: LabSession, index: number, opts: { signal?: AbortSignal; onPhase?: PhaseListener } = {}): Promise<LabSession> {
  const plan = planInstance(s.topology, s.name, labImageRef());
  await Promise.all(Object.values(s.containers).map((id) => s.engine.removeContainer(id)));
  let containers: Record<string, string>;
  try {
    containers = await createContainers(s.engine, plan.containers, opts);
  } catch (e) {
    await removeFencedInstance(s.engine, s.name).catch(() => undefined);
    throw e;
  }
  const fresh = await readyForLearner(s.name, s.lab, s.engine, s.topology, containers, opts);
  await replaySteps(fresh, index);
  return fresh;
}

export async function stopLab(engine: EngineClient, name: string): Promise<{ containers: number; networks: number }> {
  const removed = await removeFencedInstance(engine, name);
  await deleteInstanceRecord(name);
  return removed;
}

/** Every instance on the engine, crashed ones included, then every lvs-lab firewall rule left on its host. */
export async function stopAllLabs(engine: EngineClient): Promise<Array<{ name: string; containers: number; networks: number }>> {
  const stopped = await Promise.all(
    (await listInstances(engine)).map(async (i) => {
      const removed = await removeInstance(engine, i.name);
      await deleteInstanceRecord(i.name);
      return { name: i.name, ...removed };
    }),
  );
  await unfenceInstances(engine, labImageRef());
  // One-shot containers remove themselves; an exited one is what a killed process left behind
  // (a running one may belong to another lvs-lab at work, so it stays).
  const oneShots = await engine.listContainers(ONE_SHOT_INSTANCE);
  await Promise.all(oneShots.filter((c) => c.state !== "running").map((c) => engine.removeContainer(c.id)));
  return stopped;
}
