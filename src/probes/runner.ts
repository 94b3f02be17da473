/**
 * Runs probes against an instance: three rounds (state, traffic, after-traffic), and before
 * them, for a check that restarts nodes, a round that reads their state ahead of the restart;
 * in each round the commands for one node become one batched exec and nodes run in parallel.
 */
import { randomBytes } from "node:crypto";
import { inLanguage, language, t } from "../i18n/index.js";
import { renderTemplate } from "../topology/resolve.js";
import { probeKind, type Probe } from "./registry.js";
import type { Collect, CommandOutput, Hop, ProbeContext, Round, Verdict } from "./types.js";

export type NodeExec = (node: string, script: string) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

/** Restarts a node's container (a probe kind's `restarts`); resolves once it runs again. */
export type NodeRestart = (node: string) => Promise<void>;

export interface ProbeResult extends Verdict {
  kind: string;
  node: string;
  description: string;
  hint?: number;
  /** Shown, never counted: see probeBase.observe. */
  observation?: boolean;
  /** The verdict's message in English when the learner reads another language: selftest matches a mistake's words against it. */
  english?: string;
  /** The hops of `path` in English, for the same reason. */
  englishPath?: Hop[];
}

/** A step passes when every probe that is not an observation passes. */
export function stepPasses(results: ProbeResult[]): boolean {
  const counted = results.filter((r) => !r.observation);
  return counted.length > 0 && counted.every((r) => r.ok);
}

/** The probes that hold a step back. */
export function blocking(results: ProbeResult[]): ProbeResult[] {
  return results.filter((r) => !r.ok && !r.observation);
}

/** Fills {{variables}} into every string of a probe. */
export function renderProbe<T>(value: T, vars: Record<string, string>): T {
  if (typeof value === "string") return renderTemplate(value, vars) as T;
  if (Array.isArray(value)) return value.map((v) => renderProbe(v, vars)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [renderProbe(k, vars), renderProbe(v, vars)])) as T;
  }
  return value;
}

/** One script for many commands; each command's output is fenced by markers with its exit code. */
export function batchScript(scripts: string[], marker: string): string {
  return scripts.map((s, i) => `echo '${marker} ${i} begin'; ( ${s}\n) 2>&1; echo "${marker} ${i} end $?"`).join("\n");
}

export function splitBatch(output: string, count: number, marker: string): CommandOutput[] {
  const results: CommandOutput[] = [];
  for (let i = 0; i < count; i++) {
    const begin = output.indexOf(`${marker} ${i} begin\n`);
    const endMatch = new RegExp(`${marker} ${i} end (\\d+)`).exec(output);
    if (begin < 0 || !endMatch) {
      results.push({ exitCode: -1, output: "(no output: the batch did not get this far)" });
      continue;
    }
    const start = begin + `${marker} ${i} begin\n`.length;
    results.push({ exitCode: Number(endMatch[1]), output: output.slice(start, endMatch.index) });
  }
  return results;
}

export async function runProbes(probes: Probe[], ctx: ProbeContext, exec: NodeExec, restart?: NodeRestart): Promise<ProbeResult[]> {
  const rendered = probes.map((p) => renderProbe(p, ctx.vars));
  const plans = rendered.map((p) => probeKind(p.kind).collect(p, ctx));
  const outputs: CommandOutput[][] = plans.map((plan) => plan.map(() => ({ exitCode: -1, output: "" })));
  const restarting = [...new Set(rendered.flatMap((p) => probeKind(p.kind).restarts?.(p) ?? []))];
  /** Why a node could not be restarted: the probes that restart it fail with this. */
  const notRestarted = new Map<string, string>();
  for (const round of [-1, 0, 1, 2] as Round[]) {
    if (round === 0 && restarting.length) {
      await Promise.all(
        restarting.map(async (node) => {
          try {
            if (!restart) throw new Error("this check cannot restart containers");
            await restart(node);
          } catch (e) {
            notRestarted.set(node, e instanceof Error ? e.message : String(e));
          }
        }),
      );
    }
    const byNode = new Map<string, Array<{ probe: number; step: number; script: string }>>();
    plans.forEach((plan, probe) =>
      plan.forEach((c: Collect, step) => {
        if (c.round !== round) return;
        const list = byNode.get(c.node) ?? [];
        list.push({ probe, step, script: c.script });
        byNode.set(c.node, list);
      }),
    );
    await Promise.all(
      [...byNode.entries()].map(async ([node, items]) => {
        const marker = `@@lvs-lab-${randomBytes(4).toString("hex")}`;
        let results: CommandOutput[];
        try {
          const res = await exec(node, batchScript(items.map((i) => i.script), marker));
          results = splitBatch(res.stdout, items.length, marker);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          results = items.map(() => ({ exitCode: -1, output: `(could not run on ${node}: ${why})` }));
        }
        items.forEach((item, i) => (outputs[item.probe]![item.step] = results[i]!));
      }),
    );
  }
  return rendered.map((p, i) => {
    const kind = probeKind(p.kind);
    const failedRestart = (kind.restarts?.(p) ?? []).find((node) => notRestarted.has(node));
    const unreachable = failedRestart
      ? { output: `(${t("probe.restart.failed", { node: failedRestart, why: notRestarted.get(failedRestart) })})` }
      : outputs[i]!.find((o) => o.output.startsWith("(could not run on"));
    const verdict: Verdict = unreachable ? { ok: false, message: unreachable.output.slice(1, -1) + "." } : kind.judge(p, outputs[i]!, ctx);
    // Judges are pure: the same outputs judged in English give the words a lesson's mistakes name.
    const english = unreachable || language() === "en" ? undefined : inLanguage("en", () => kind.judge({ ...p, ...p.originalTexts }, outputs[i]!, ctx));
    return {
      ...verdict,
      ...(english ? { english: english.message, ...(english.path ? { englishPath: english.path } : {}) } : {}),
      kind: p.kind,
      node: p.node,
      description: kind.describe(p, ctx),
      ...(p.hint ? { hint: p.hint } : {}),
      ...(p.observe ? { observation: true } : {}),
    };
  });
}
