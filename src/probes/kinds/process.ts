import { z } from "zod";
import type { ProbeKind } from "../types.js";
import { t } from "../../i18n/index.js";
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
  return t("probe.process.pids", { count: list.length, list: list.join(", ") });
}

export const processProbe: ProbeKind<ProcessProbe> = {
  kind: "process",
  schema,
  describe: (p) => p.title ?? t(p.present ? "probe.process.describeRuns" : "probe.process.describeNot", { name: p.name, node: p.node }),
  // -x: the whole name, so "keepalived" is not matched by a shell whose command line mentions it.
  collect: (p) => [{ round: 0, node: p.node, script: `pgrep -x ${p.name}` }],
  judge(p, [out]) {
    const running = out!.exitCode === 0;
    if (out!.exitCode > 1) return { ok: false, message: withExplain(t("probe.process.cannotList", { node: p.node, output: out!.output.trim() }), p) };
    const said = { name: p.name, node: p.node, pids: running ? pids(out!.output) : "" };
    if (running === p.present) {
      return { ok: true, message: running ? t("probe.process.runs", said) : t("probe.process.notRunning", said) };
    }
    return { ok: false, message: withExplain(running ? t("probe.process.stillRuns", said) : t("probe.process.notRunning", said), p) };
  },
};
