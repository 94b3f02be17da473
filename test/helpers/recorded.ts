/**
 * Judges probes on command outputs recorded from real containers. A fixture holds one
 * section per command, headed "### exit=<code> $ <script>", exactly as the probe's
 * collect() writes the script: a probe whose scripts change no longer finds its outputs.
 */
import { readFileSync } from "node:fs";
import { checkBlockSchema, probeKind } from "../../src/probes/registry.js";
import { renderProbe } from "../../src/probes/runner.js";
import type { CommandOutput, ProbeContext, Verdict } from "../../src/probes/types.js";
import { parseTopology } from "../../src/topology/load.js";
import { resolveTopology, templateVariables } from "../../src/topology/resolve.js";

const topology = resolveTopology(parseTopology(readFileSync(new URL("../../topologies/dnat.yaml", import.meta.url), "utf8"), "dnat.yaml"), {});
const ifaces = { director: { ext: "eth0", int: "eth1" }, rs1: { int: "eth0" }, client: { ext: "eth0" } };
/** The dnat lab as it runs on the engine: the recordings come from it. */
export const dnatContext: ProbeContext = { topology, ifaces, vars: templateVariables(topology, ifaces, "pdnat") };

export function readRecording(name: string): Map<string, CommandOutput> {
  const text = readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");
  const sections = new Map<string, CommandOutput>();
  for (const part of text.split(/^(?=### exit=)/m)) {
    const header = /^### exit=(-?\d+) \$ (.*)\n/.exec(part);
    if (header) sections.set(header[2]!, { exitCode: Number(header[1]), output: part.slice(header[0].length) });
  }
  return sections;
}

/** Parses a probe as written in a check block, renders it and judges it on a recording. */
export function judgeRecorded(yaml: object, fixture: string, ctx: ProbeContext = dnatContext): Verdict {
  const [probe] = checkBlockSchema.parse([yaml]);
  const p = renderProbe(probe!, ctx.vars);
  const kind = probeKind(p.kind);
  const recording = readRecording(fixture);
  const outputs = kind.collect(p, ctx).map((c) => {
    const out = recording.get(c.script);
    if (!out) throw new Error(`${fixture} has no recording of \`${c.script}\` (it has: ${[...recording.keys()].join(" | ")})`);
    return out;
  });
  return kind.judge(p, outputs, ctx);
}
