/**
 * What `status --json` tells graders' scripts about an instance beyond its containers:
 * each network's subnet, each node's address per network, and the lab's template
 * variables ({{vip}}, {{director.ext}}, {{director.ext.iface}} …) as the lesson fills them.
 * They are computed only for --json.
 */
import type { EngineClient } from "../docker/engine.js";
import type { LabSession } from "../lab/session.js";

export interface InstanceDetails {
  subnets: Record<string, string>;
  addresses: Record<string, Record<string, string>>;
  vars: Record<string, string>;
}

export async function instanceDetails(engine: EngineClient, name: string, broken: boolean): Promise<InstanceDetails | undefined> {
  const [{ instanceContainers }, { openLab }, { readInstanceRecord }] = await Promise.all([import("../docker/instance.js"), import("../lab/session.js"), import("../state/instances.js")]);
  try {
    // Interface names come from the record `start` kept; without one (an instance another
    // user started) they are left out rather than discovered with an exec on every node.
    const known = (await readInstanceRecord(name)) !== undefined;
    return sessionDetails(await openLab({ name, engine, containers: await instanceContainers(engine, name) }, { allowBroken: broken || !known }));
  } catch {
    // A half-built instance may not resolve; status still lists it.
    return undefined;
  }
}

/** The same, for a session already open (`start --json`). */
export function sessionDetails(s: LabSession): InstanceDetails {
  return {
    subnets: Object.fromEntries(Object.values(s.topology.networks).map((n) => [n.name, n.subnet])),
    addresses: Object.fromEntries(Object.values(s.topology.nodes).map((n) => [n.name, { ...n.addresses }])),
    vars: s.vars,
  };
}
