/** The Docker resources an instance consists of: a pure function of the resolved topology. */
import type { InstanceSpec } from "../docker/instance.js";
import { labelsFor } from "../docker/labels.js";
import type { ResolvedTopology } from "../topology/resolve.js";
import type { Role } from "../topology/schema.js";

/**
 * Everything else is dropped. NET_ADMIN/NET_RAW are the lab's tools; NET_BROADCAST is
 * keepalived's; SETUID/SETGID/CHOWN let tcpdump drop to its own user and hand it the
 * capture file, as it insists on doing when run as root.
 */
const BASE_CAPABILITIES = ["NET_ADMIN", "NET_RAW", "SETUID", "SETGID", "CHOWN"];
const CAPABILITIES: Record<Role, string[]> = {
  client: BASE_CAPABILITIES,
  director: [...BASE_CAPABILITIES, "NET_BROADCAST"],
  "backup-director": [...BASE_CAPABILITIES, "NET_BROADCAST"],
  realserver: BASE_CAPABILITIES,
  router: BASE_CAPABILITIES,
};

export function resourceName(instance: string, part: string): string {
  return `lvs-lab-${instance}-${part}`;
}

export function planInstance(t: ResolvedTopology, instance: string, image: string): InstanceSpec {
  const base = { instance, lab: t.id };
  const networks = Object.values(t.networks).map((net) => {
    const reserved = Object.fromEntries(
      Object.entries(t.vips)
        .filter(([, v]) => v.network === net.name && !Object.values(t.nodes).some((n) => n.addresses[net.name] === v.address))
        .map(([name, v]) => [name, v.address]),
    );
    return {
      key: net.name,
      name: resourceName(instance, net.name),
      subnet: net.subnet,
      gateway: net.gateway,
      mtu: net.mtu,
      reserved,
      labels: labelsFor({ ...base, network: net.name }),
    };
  });
  const containers = Object.values(t.nodes).map((node) => ({
    node: node.name,
    name: resourceName(instance, node.name),
    hostname: node.name,
    image,
    labels: labelsFor({ ...base, node: node.name, role: node.role }),
    env: { LVS_LAB_NODE: node.name, LVS_LAB_SERVE_PORTS: node.serve.join(" ") },
    capAdd: CAPABILITIES[node.role],
    sysctls: node.sysctls,
    addresses: Object.entries(node.addresses).map(([net, ip]) => ({ network: resourceName(instance, net), ip })),
  }));
  return { networks, containers };
}
