import { z } from "zod";
import type { ProbeKind } from "../types.js";
import { t } from "../../i18n/index.js";
import { probeBase, withExplain } from "./common.js";

const schema = z
  .object({
    kind: z.literal("command"),
    ...probeBase,
    run: z.string(),
    exit: z.number().int().optional(),
    match: z.string().optional(),
    absent: z.string().optional(),
    /** The failure sentence (probes of this kind cannot guess what a failure means). */
    message: z.string(),
    after: z.enum(["state", "traffic"]).default("state"),
  })
  .strict();
export type CommandProbe = z.infer<typeof schema>;

export const commandProbe: ProbeKind<CommandProbe> = {
  kind: "command",
  schema,
  describe: (p) => p.title ?? t("probe.command.describe", { node: p.node, run: p.run }),
  collect: (p) => [{ round: p.after === "traffic" ? 2 : 0, node: p.node, script: p.run }],
  judge(p, [out]) {
    const problems: string[] = [];
    if (p.exit !== undefined && out!.exitCode !== p.exit) problems.push(t("probe.command.exitCode", { code: out!.exitCode }));
    if (p.exit === undefined && p.match === undefined && p.absent === undefined && out!.exitCode !== 0) problems.push(t("probe.command.exitCode", { code: out!.exitCode }));
    if (p.match !== undefined && !new RegExp(p.match, "m").test(out!.output)) problems.push(t("probe.command.lacks", { pattern: p.match }));
    if (p.absent !== undefined && new RegExp(p.absent, "m").test(out!.output)) problems.push(t("probe.command.has", { pattern: p.absent }));
    // The first line of output often is the measurement itself ("gap 0.7 s"): show it.
    const firstLine = out!.output.trim().split("\n")[0]?.slice(0, 120);
    const what = p.title ?? t("probe.command.asExpected", { node: p.node, run: p.run });
    if (!problems.length) return { ok: true, message: firstLine ? t("probe.command.okWithOutput", { what, first: firstLine }) : what };
    const seen = firstLine
      ? t("probe.command.says", { node: p.node, first: firstLine })
      : t("probe.command.gave", { node: p.node, run: p.run, problems: problems.join(t("probe.command.problemJoin")) });
    return { ok: false, message: withExplain(t("probe.command.failed", { message: p.message, seen }), p) };
  },
};
