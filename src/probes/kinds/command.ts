import { z } from "zod";
import type { ProbeKind } from "../types.js";
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
  describe: (p) => p.title ?? `${p.node}: ${p.run}`,
  collect: (p) => [{ round: p.after === "traffic" ? 2 : 0, node: p.node, script: p.run }],
  judge(p, [out]) {
    const problems: string[] = [];
    if (p.exit !== undefined && out!.exitCode !== p.exit) problems.push(`exit code ${out!.exitCode}`);
    if (p.exit === undefined && p.match === undefined && p.absent === undefined && out!.exitCode !== 0) problems.push(`exit code ${out!.exitCode}`);
    if (p.match !== undefined && !new RegExp(p.match, "m").test(out!.output)) problems.push(`output lacks /${p.match}/`);
    if (p.absent !== undefined && new RegExp(p.absent, "m").test(out!.output)) problems.push(`output has /${p.absent}/`);
    // The first line of output often is the measurement itself ("gap 0.7 s"): show it.
    const firstLine = out!.output.trim().split("\n")[0]?.slice(0, 120);
    const what = p.title ?? `${p.node}: ${p.run} is as expected`;
    if (!problems.length) return { ok: true, message: firstLine ? `${what}: ${firstLine}` : what };
    const seen = firstLine ? `${p.node} says "${firstLine}"` : `${p.node}: \`${p.run}\` gave ${problems.join(", ")}`;
    return { ok: false, message: withExplain(`${p.message} (${seen})`, p) };
  },
};
