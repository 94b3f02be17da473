/**
 * A topology with its allocated blocks: every address concrete. Pure data, shared by the
 * container plan, the lessons' template variables and the probes' messages.
 */
import { t as say } from "../i18n/index.js";
import { hostAddress, parseCidr } from "./ipv4.js";
import type { Role, Topology } from "./schema.js";

export interface ResolvedNetwork {
  name: string;
  subnet: string;
  prefix: number;
  /** The bridge's own address on the engine host: Docker's default gateway. */
  gateway: string;
  mtu?: number;
}

export interface ResolvedNode {
  name: string;
  role: Role;
  /** network name → address */
  addresses: Record<string, string>;
  serve: number[];
  sysctls: Record<string, string>;
  setup: string[];
}

export interface ResolvedTopology {
  id: string;
  title: string;
  networks: Record<string, ResolvedNetwork>;
  nodes: Record<string, ResolvedNode>;
  vips: Record<string, { network: string; address: string }>;
}

export function resolveTopology(t: Topology, subnets: Record<string, string>): ResolvedTopology {
  const blocks = Object.fromEntries(Object.keys(t.networks).map((n) => [n, parseCidr(subnets[n] ?? t.networks[n]!.subnet)]));
  const networks = Object.fromEntries(
    Object.entries(t.networks).map(([name, n]) => {
      const block = blocks[name]!;
      return [name, { name, subnet: subnets[name] ?? n.subnet, prefix: block.prefix, gateway: hostAddress(block, 1), mtu: n.mtu }];
    }),
  );
  const nodes = Object.fromEntries(
    Object.entries(t.nodes).map(([name, n]) => [
      name,
      {
        name,
        role: n.role,
        addresses: Object.fromEntries(Object.entries(n.addresses).map(([net, host]) => [net, hostAddress(blocks[net]!, host)])),
        serve: n.serve ?? [],
        sysctls: Object.fromEntries(Object.entries(n.sysctls ?? {}).map(([k, v]) => [k, String(v)])),
        setup: n.setup ?? [],
      },
    ]),
  );
  const vips = Object.fromEntries(
    Object.entries(t.vips ?? {}).map(([name, v]) => [name, { network: v.network, address: hostAddress(blocks[v.network]!, v.host) }]),
  );
  return { id: t.id, title: t.title, networks, nodes, vips };
}

/** Who owns an address: "director", "rs1", "vip", "the engine host (int gateway)". */
export function ownerOf(t: ResolvedTopology, address: string): string | undefined {
  for (const node of Object.values(t.nodes)) {
    if (Object.values(node.addresses).includes(address)) return node.name;
  }
  for (const [name, v] of Object.entries(t.vips)) if (v.address === address) return say("probe.owner.vip", { vip: name.toUpperCase() });
  for (const net of Object.values(t.networks)) if (net.gateway === address) return say("probe.owner.gateway", { network: net.name });
  return undefined;
}

/** "10.0.1.50 (director)" — addresses in messages always say whose they are. */
export function describeAddress(t: ResolvedTopology, address: string): string {
  const owner = ownerOf(t, address);
  return owner ? `${address} (${owner})` : address;
}

/** Interface names inside each node, keyed node → network → iface; found at run time. */
export type InterfaceMap = Record<string, Record<string, string>>;

/** Template variables for lessons and probes: {{vip}}, {{rs1.int}}, {{director.ext.iface}} … */
export function templateVariables(t: ResolvedTopology, ifaces: InterfaceMap, instance: string): Record<string, string> {
  const vars: Record<string, string> = { instance, lab: t.id };
  for (const net of Object.values(t.networks)) {
    vars[`${net.name}.subnet`] = net.subnet;
    vars[`${net.name}.prefix`] = String(net.prefix);
    vars[`${net.name}.gateway`] = net.gateway;
  }
  for (const node of Object.values(t.nodes)) {
    for (const [net, address] of Object.entries(node.addresses)) {
      vars[`${node.name}.${net}`] = address;
      const iface = ifaces[node.name]?.[net];
      if (iface) vars[`${node.name}.${net}.iface`] = iface;
    }
  }
  for (const [name, v] of Object.entries(t.vips)) vars[name] = v.address;
  return vars;
}

/** Variable names a topology offers, known before the instance exists (for validation). */
/**
 * Variables known only when a step is checked, not from the topology: `stepSeconds`, the
 * seconds since the step became the learner's current one (measurements look back to it).
 */
export const CHECK_TIME_VARIABLES = ["stepSeconds"] as const;

export function templateVariableNames(t: ResolvedTopology): Set<string> {
  const ifaces: InterfaceMap = Object.fromEntries(
    Object.values(t.nodes).map((n) => [n.name, Object.fromEntries(Object.keys(n.addresses).map((net) => [net, "ethX"]))]),
  );
  return new Set([...Object.keys(templateVariables(t, ifaces, "x")), ...CHECK_TIME_VARIABLES]);
}

const VARIABLE = /\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g;

export function unknownVariables(text: string, known: Set<string>): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1]!).filter((v) => !known.has(v));
}

export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(VARIABLE, (whole, name: string) => vars[name] ?? whole);
}
