#!/usr/bin/env node
/**
 * Records what one probe's commands print on a running instance, for tests that judge
 * the probe on real outputs (test/helpers/recorded-probe.ts reads the file back).
 *   node test/helpers/record-probe.mjs INSTANCE FIXTURE '{"kind":"http","to":"{{vip}}:80"}'
 * Uses the compiled code in dist/ (npx tsc first).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { targetInstance } from "../../dist/lab/locate.js";
import { instanceContainers } from "../../dist/docker/instance.js";
import { discoverInterfaces } from "../../dist/lab/services.js";
import { readInstanceRecord } from "../../dist/state/instances.js";
import { LABEL } from "../../dist/docker/labels.js";
import { checkBlockSchema, probeKind } from "../../dist/probes/registry.js";
import { batchScript, renderProbe, splitBatch } from "../../dist/probes/runner.js";
import { loadTopology } from "../../dist/topology/load.js";
import { resolveTopology, templateVariables } from "../../dist/topology/resolve.js";

const [instance, fixture, probeJson] = process.argv.slice(2);
if (!instance || !fixture || !probeJson) throw new Error("usage: record-probe.mjs INSTANCE FIXTURE PROBE_JSON");
// Only the topology, not the lesson: a lesson being edited elsewhere must not stop a recording.
const { engine } = await targetInstance(instance);
const found = await instanceContainers(engine, instance);
const lab = Object.values(found)[0].labels[LABEL.lab];
const networks = await engine.listNetworks(instance);
const subnets = Object.fromEntries(networks.map((n) => [n.labels[LABEL.network] ?? n.name, n.subnets[0] ?? ""]));
const topology = resolveTopology(await loadTopology(lab), subnets);
const containers = Object.fromEntries(Object.entries(found).map(([node, c]) => [node, c.id]));
const ifaces = (await readInstanceRecord(instance))?.ifaces ?? (await discoverInterfaces(engine, topology, containers));
const ctx = { topology, ifaces, vars: templateVariables(topology, ifaces, instance) };
const [parsed] = checkBlockSchema.parse([JSON.parse(probeJson)]);
const probe = renderProbe(parsed, ctx.vars);
const plan = probeKind(probe.kind).collect(probe, ctx);
const outputs = plan.map(() => ({ exitCode: -1, output: "" }));
for (const round of [0, 1, 2]) {
  const byNode = new Map();
  plan.forEach((c, i) => c.round === round && byNode.set(c.node, [...(byNode.get(c.node) ?? []), i]));
  await Promise.all(
    [...byNode].map(async ([node, steps]) => {
      const marker = `@@lvs-lab-${randomBytes(4).toString("hex")}`;
      const res = await engine.execScript(containers[node], batchScript(steps.map((i) => plan[i].script), marker), { timeoutMs: 120_000, what: node });
      splitBatch(res.stdout, steps.length, marker).forEach((o, k) => (outputs[steps[k]] = o));
    }),
  );
}
const header = [`# lab: ${lab}`, `# subnets: ${JSON.stringify(subnets)}`, `# ifaces: ${JSON.stringify(ifaces)}`, `# probe: ${probeJson}`];
const sections = plan.map((c, i) => `### node=${c.node} exit=${outputs[i].exitCode} $ ${c.script}\n${outputs[i].output}`);
const file = new URL(`../fixtures/${fixture}`, import.meta.url);
mkdirSync(dirname(file.pathname), { recursive: true });
writeFileSync(file, header.join("\n") + "\n" + sections.join(""));
const verdict = probeKind(probe.kind).judge(probe, outputs, ctx);
console.log(JSON.stringify(verdict, null, 2));
