/**
 * Creating, finding and removing one lab instance on an engine. Everything is found by
 * label; an instance that failed or was interrupted half-way is removed again.
 */
import { ExitCode, UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import type { ContainerSpec, EngineClient, LabContainer, NetworkSpec } from "./engine.js";
import { LABEL, ONE_SHOT_INSTANCE } from "./labels.js";

/** The networks and containers of one instance, as the engine creates them. */
export interface InstanceSpec {
  networks: NetworkSpec[];
  containers: Array<ContainerSpec & { node: string }>;
}

export type Phase = "networks" | "containers" | "services";
export type PhaseListener = (phase: Phase, state: "start" | "done", detail?: string) => void;

export interface InstanceSummary {
  name: string;
  lab: string;
  nodes: Array<{ node: string; role: string; state: string; id: string }>;
  networks: string[];
}

/** Groups everything lvs-lab labelled on this engine by instance. */
export async function listInstances(engine: EngineClient): Promise<InstanceSummary[]> {
  const [containers, networks] = await Promise.all([engine.listContainers(), engine.listNetworks()]);
  const byName = new Map<string, InstanceSummary>();
  const entry = (labels: Record<string, string>) => {
    const name = labels[LABEL.instance] ?? "?";
    let found = byName.get(name);
    if (!found) {
      found = { name, lab: labels[LABEL.lab] ?? "?", nodes: [], networks: [] };
      byName.set(name, found);
    }
    return found;
  };
  for (const c of containers) {
    if (c.labels[LABEL.instance] === ONE_SHOT_INSTANCE) continue;
    entry(c.labels).nodes.push({ node: c.labels[LABEL.node] ?? c.name, role: c.labels[LABEL.role] ?? "?", state: c.state, id: c.id });
  }
  for (const n of networks) entry(n.labels).networks.push(n.labels[LABEL.network] ?? n.name);
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** node name → container id of one instance. */
export async function instanceContainers(engine: EngineClient, instance: string): Promise<Record<string, LabContainer>> {
  const list = await engine.listContainers(instance);
  return Object.fromEntries(list.map((c) => [c.labels[LABEL.node] ?? c.name, c]));
}

/**
 * Removes every container, then every network, of the instance. Safe to call twice.
 * `withNetworks` runs alongside the network removal, once no container is left.
 */
export async function removeInstance(
  engine: EngineClient,
  instance: string,
  withNetworks: () => Promise<unknown> = async () => undefined,
): Promise<{ containers: number; networks: number }> {
  const containers = await engine.listContainers(instance);
  await Promise.all(containers.map((c) => engine.removeContainer(c.id)));
  const networks = await engine.listNetworks(instance);
  await Promise.all([...networks.map((n) => engine.removeNetwork(n.id)), withNetworks()]);
  return { containers: containers.length, networks: networks.length };
}

/** Throws the interruption error once Ctrl-C/SIGTERM aborted the start; callers clean up. */
export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new UserError(t("errors.interruptedHalfBuilt"), undefined, ExitCode.interrupted);
}

/**
 * Builds the instance: networks in parallel, then containers in parallel. On any
 * failure or abort, everything already created is removed before rethrowing.
 */
export async function createInstance(
  engine: EngineClient,
  plan: InstanceSpec,
  instance: string,
  opts: { signal?: AbortSignal; onPhase?: PhaseListener; onNetworksCreated?: () => void } = {},
): Promise<Record<string, string>> {
  const { signal, onPhase = () => undefined } = opts;
  try {
    checkAborted(signal);
    onPhase("networks", "start", t("ui.startup.networks", { count: plan.networks.length }));
    await settleAll(plan.networks.map((n) => engine.createNetwork(n)));
    opts.onNetworksCreated?.();
    onPhase("networks", "done");
    checkAborted(signal);
    onPhase("containers", "start", t("ui.startup.containers", { count: plan.containers.length }));
    const ids = await createContainers(engine, plan.containers, { signal });
    onPhase("containers", "done");
    return ids;
  } catch (e) {
    await removeInstance(engine, instance).catch(() => undefined);
    throw e;
  }
}

/** Creates and starts containers in parallel: node → container id. Callers clean up on failure. */
export async function createContainers(
  engine: EngineClient,
  containers: Array<ContainerSpec & { node: string }>,
  opts: { signal?: AbortSignal } = {},
): Promise<Record<string, string>> {
  const ids = await settleAll(
    containers.map(async (c) => {
      const id = await engine.createContainer(c);
      checkAborted(opts.signal);
      await engine.startContainer(id);
      return [c.node, id] as const;
    }),
  );
  return Object.fromEntries(ids);
}

/**
 * Like Promise.all, but rejects only once every promise has settled: cleanup after a
 * failure must not run while sibling creations are still in flight, or what they create
 * afterwards is leaked (and a retry then meets duplicate network names).
 */
async function settleAll<T>(work: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}
