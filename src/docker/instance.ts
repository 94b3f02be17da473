/**
 * Creating, finding and removing one lab instance on an engine. Everything is found by
 * label; an instance that failed or was interrupted half-way is removed again.
 */
import { ExitCode, UserError } from "../errors.js";
import type { InstancePlan } from "../topology/plan.js";
import type { ResolvedTopology, InterfaceMap } from "../topology/resolve.js";
import { renderTemplate, templateVariables } from "../topology/resolve.js";
import type { Engine, ExecResult, LabContainer } from "./engine.js";
import { LABEL } from "./labels.js";

export type Phase = "networks" | "containers" | "services";
export type PhaseListener = (phase: Phase, state: "start" | "done", detail?: string) => void;

export interface InstanceSummary {
  name: string;
  lab: string;
  nodes: Array<{ node: string; role: string; state: string; id: string }>;
  networks: string[];
}

/** Groups everything lvs-lab labelled on this engine by instance. */
export async function listInstances(engine: Engine): Promise<InstanceSummary[]> {
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
    if (c.labels[LABEL.instance] === "__probe__") continue;
    entry(c.labels).nodes.push({ node: c.labels[LABEL.node] ?? c.name, role: c.labels[LABEL.role] ?? "?", state: c.state, id: c.id });
  }
  for (const n of networks) entry(n.labels).networks.push(n.labels[LABEL.network] ?? n.name);
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** node name → container id of one instance. */
export async function instanceContainers(engine: Engine, instance: string): Promise<Record<string, LabContainer>> {
  const list = await engine.listContainers(instance);
  return Object.fromEntries(list.map((c) => [c.labels[LABEL.node] ?? c.name, c]));
}

/** Removes every container, then every network, of the instance. Safe to call twice. */
export async function removeInstance(engine: Engine, instance: string): Promise<{ containers: number; networks: number }> {
  const containers = await engine.listContainers(instance);
  await Promise.all(containers.map((c) => engine.removeContainer(c.id)));
  const networks = await engine.listNetworks(instance);
  await Promise.all(networks.map((n) => engine.removeNetwork(n.id)));
  return { containers: containers.length, networks: networks.length };
}

/** Throws the interruption error once Ctrl-C/SIGTERM aborted the start; callers clean up. */
export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new UserError("Interrupted: the half-built lab was removed again.", undefined, ExitCode.interrupted);
}

/**
 * Builds the instance: networks in parallel, then containers in parallel, then waits
 * until every node has its addresses and every real server's responder listens.
 * On any failure or abort, everything already created is removed before rethrowing.
 */
export async function createInstance(
  engine: Engine,
  plan: InstancePlan,
  instance: string,
  opts: { signal?: AbortSignal; onPhase?: PhaseListener } = {},
): Promise<Record<string, string>> {
  const { signal, onPhase = () => undefined } = opts;
  try {
    checkAborted(signal);
    onPhase("networks", "start", `${plan.networks.length} networks`);
    await settleAll(plan.networks.map((n) => engine.createNetwork(n)));
    onPhase("networks", "done");
    checkAborted(signal);
    onPhase("containers", "start", `${plan.containers.length} containers`);
    const ids = await settleAll(
      plan.containers.map(async (c) => {
        const id = await engine.createContainer(c);
        checkAborted(signal);
        await engine.startContainer(id);
        return [c.node, id] as const;
      }),
    );
    onPhase("containers", "done");
    return Object.fromEntries(ids);
  } catch (e) {
    await removeInstance(engine, instance).catch(() => undefined);
    throw e;
  }
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

/** One `ip -o -4 addr` per node tells which interface carries which network's address. */
export async function discoverInterfaces(
  engine: Engine,
  topology: ResolvedTopology,
  containers: Record<string, string>,
): Promise<InterfaceMap> {
  const entries = await Promise.all(
    Object.values(topology.nodes).map(async (node) => {
      const id = containers[node.name];
      if (!id) throw new UserError(`The container of node ${node.name} is missing.`, "Run `lvs-lab reset` to recreate the lab.");
      const res = await engine.exec(id, ["ip", "-o", "-4", "addr", "show"], { what: `the interfaces of ${node.name}` });
      const byAddress = parseAddressList(res.stdout);
      const map: Record<string, string> = {};
      for (const [net, address] of Object.entries(node.addresses)) {
        const iface = byAddress[address];
        if (iface) map[net] = iface;
      }
      return [node.name, map] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** `ip -o -4 addr show` → address → interface ("eth0", "lo" …). */
export function parseAddressList(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+([\d.]+)\//.exec(line);
    if (m) out[m[2]!] = m[1]!;
  }
  return out;
}

/**
 * Runs the topology's setup commands (templated) and waits until the real servers'
 * responders listen: the lab is ready when a learner can use it.
 */
export async function prepareServices(
  engine: Engine,
  topology: ResolvedTopology,
  containers: Record<string, string>,
  ifaces: InterfaceMap | Promise<InterfaceMap>,
  instance: string,
): Promise<void> {
  // Only setup commands need the interface names: nodes without any start waiting for
  // their responders at once, while the interfaces are still being discovered.
  let vars: Promise<Record<string, string>> | undefined;
  const variables = () => (vars ??= Promise.resolve(ifaces).then((i) => templateVariables(topology, i, instance)));
  await Promise.all(
    Object.values(topology.nodes).map(async (node) => {
      const id = containers[node.name]!;
      for (const command of node.setup) {
        const script = renderTemplate(command, await variables());
        const res = await engine.execScript(id, script, { what: `setup of ${node.name}` });
        if (res.exitCode !== 0) throw new UserError(`Setting up ${node.name} failed at "${script}": ${(res.stderr || res.stdout).trim()}`);
      }
      if (node.serve.length) await waitForListeners(engine, id, node.name, node.serve);
    }),
  );
}

async function waitForListeners(engine: Engine, id: string, node: string, ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: ExecResult | undefined;
  while (Date.now() < deadline) {
    last = await engine.exec(id, ["ss", "-Hltn"], { what: `the responder on ${node}` });
    const listening = new Set([...last.stdout.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1])));
    if (ports.every((p) => listening.has(p))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new UserError(`The HTTP responder on ${node} did not start listening on ${ports.join(", ")} within 20 s.`);
}
