import { z } from "zod";
import type { ProbeKind } from "../types.js";
import { probeBase, withExplain } from "./common.js";

const schema = z
  .object({
    kind: z.literal("process"),
    ...probeBase,
    /** The process name as in /proc/<pid>/comm (at most 15 characters), e.g. keepalived. */
    name: z.string().regex(/^[\w.:-]{1,15}$/, "must be a process name as /proc/<pid>/comm shows it, e.g. keepalived (at most 15 characters)"),
    present: z.boolean().default(true),
  })
  .strict();
export type ProcessProbe = z.infer<typeof schema>;

function pids(output: string): string {
  const list = output.split(/\s+/).filter((w) => /^\d+$/.test(w));
  return list.length === 1 ? `pid ${list[0]}` : `pids ${list.join(", ")}`;
}

export const processProbe: ProbeKind<ProcessProbe> = {
  kind: "process",
  schema,
  describe: (p) => p.title ?? `${p.name} ${p.present ? "runs" : "does not run"} on ${p.node}`,
  // -x: the whole name, so "keepalived" is not matched by a shell whose command line mentions it.
  collect: (p) => [{ round: 0, node: p.node, script: `pgrep -x ${p.name}` }],
  judge(p, [out]) {
    const running = out!.exitCode === 0;
    if (out!.exitCode > 1) return { ok: false, message: withExplain(`${p.node} could not list its processes (${out!.output.trim()}).`, p) };
    if (running === p.present) {
      return { ok: true, message: running ? `${p.name} runs on ${p.node} (${pids(out!.output)}).` : `${p.name} is not running on ${p.node}.` };
    }
    return { ok: false, message: withExplain(running ? `${p.name} still runs on ${p.node} (${pids(out!.output)}).` : `${p.name} is not running on ${p.node}.`, p) };
  },
};
