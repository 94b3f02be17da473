/**
 * What makes fresh containers a lab a learner can use: which interface carries which
 * network (Docker picks the names), the topology's setup commands, and responders that
 * listen.
 */
import type { EngineClient, ExecResult } from "../docker/engine.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { parseAddresses } from "../probes/command-output.js";
import { renderTemplate, templateVariables, type InterfaceMap, type ResolvedTopology } from "../topology/resolve.js";

/** One `ip -o -4 addr` per node tells which interface carries which network's address. */
export async function discoverInterfaces(
  engine: EngineClient,
  topology: ResolvedTopology,
  containers: Record<string, string>,
): Promise<InterfaceMap> {
  const entries = await Promise.all(
    Object.values(topology.nodes).map(async (node) => {
      const id = containers[node.name];
      if (!id) throw new UserError(t("errors.containerMissing", { node: node.name }), t("errors.containerMissingHint"));
      const res = await engine.exec(id, ["ip", "-o", "-4", "addr", "show"], { what: `the interfaces of ${node.name}` });
      const byAddress = Object.fromEntries(parseAddresses(res.stdout).map((a) => [a.address, a.iface]));
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

/**
 * Runs the topology's setup commands (templated) and waits until the real servers'
 * responders listen: the lab is ready when a learner can use it.
 */
export async function prepareServices(
  engine: EngineClient,
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
        if (res.exitCode !== 0) throw new UserError(t("errors.setupFailed", { node: node.name, script, output: (res.stderr || res.stdout).trim() }));
      }
      if (node.serve.length) await waitForListeners(engine, id, node.name, node.serve);
    }),
  );
}

async function waitForListeners(engine: EngineClient, id: string, node: string, ports: number[]): Promise<void> {
  // An emulated VM on a busy machine took over 20 s (one exec there alone takes seconds).
  const patience = engine.isLocal() ? 20 : 120;
  const deadline = Date.now() + patience * 1000;
  let last: ExecResult | undefined;
  while (Date.now() < deadline) {
    last = await engine.exec(id, ["ss", "-Hltn"], { what: `the responder on ${node}` });
    const listening = new Set([...last.stdout.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1])));
    if (ports.every((p) => listening.has(p))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new UserError(t("errors.responderNotListening", { node, ports: ports.join(", "), seconds: patience }));
}
