/**
 * Judges a probe on the outputs record-probe.mjs recorded on a real instance: the file
 * names the lab, its subnets and interfaces and the probe, then one section per command,
 * "### node=<node> exit=<code> $ <script>", exactly as collect() writes the script — a
 * probe whose scripts change no longer finds its outputs.
 */
import { readFileSync } from "node:fs";
import { checkBlockSchema, probeKind } from "../../src/probes/registry.js";
import { renderProbe } from "../../src/probes/runner.js";
import type { CommandOutput, ProbeContext, Verdict } from "../../src/probes/types.js";
import { parseTopology } from "../../src/topology/load.js";
import { resolveTopology, templateVariables } from "../../src/topology/resolve.js";

export interface ProbeRecording {
  ctx: ProbeContext;
  probe: object;
  outputs: Map<string, CommandOutput>;
}

export function readProbeRecording(fixture: string): ProbeRecording {
  const text = readFileSync(new URL(`../fixtures/${fixture}`, import.meta.url), "utf8");
  const header = (name: string) => new RegExp(`^# ${name}: (.*)$`, "m").exec(text)?.[1] ?? "";
  const lab = header("lab");
  const yaml = readFileSync(new URL(`../../topologies/${lab}.yaml`, import.meta.url), "utf8");
  const topology = resolveTopology(parseTopology(yaml, `${lab}.yaml`), JSON.parse(header("subnets")) as Record<string, string>);
  const ifaces = JSON.parse(header("ifaces")) as Record<string, Record<string, string>>;
  const outputs = new Map<string, CommandOutput>();
  for (const part of text.split(/^(?=### node=)/m)) {
    const head = /^### node=(\S+) exit=(-?\d+) \$ (.*)\n/.exec(part);
    if (head) outputs.set(`${head[1]} $ ${head[3]}`, { exitCode: Number(head[2]), output: part.slice(head[0].length) });
  }
  return { ctx: { topology, ifaces, vars: templateVariables(topology, ifaces, "recorded") }, probe: JSON.parse(header("probe")) as object, outputs };
}

/**
 * The recorded probe (or `override`, e.g. the same probe marked as an observation) judged on
 * its recording; `edit` may change the recorded outputs first (a packet added to a capture).
 */
export function judgeProbeRecording(fixture: string, override: object = {}, edit?: (outputs: Map<string, CommandOutput>) => void): Verdict {
  const { ctx, probe, outputs } = readProbeRecording(fixture);
  edit?.(outputs);
  const [parsed] = checkBlockSchema.parse([{ ...probe, ...override }]);
  const p = renderProbe(parsed!, ctx.vars);
  const kind = probeKind(p.kind);
  const collected = kind.collect(renderProbe(checkBlockSchema.parse([probe])[0]!, ctx.vars), ctx);
  return kind.judge(
    p,
    collected.map((c) => {
      const out = outputs.get(`${c.node} $ ${c.script}`);
      if (!out) throw new Error(`${fixture} has no recording of \`${c.script}\` on ${c.node}`);
      return out;
    }),
    ctx,
  );
}
