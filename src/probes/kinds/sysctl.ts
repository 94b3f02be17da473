import { z } from "zod";
import type { ProbeKind } from "../types.js";
import { probeBase, withExplain } from "./common.js";

const schema = z
  .object({
    kind: z.literal("sysctl"),
    ...probeBase,
    key: z.string().regex(/^net\.[\w.{}-]+$/, "must be a net.* sysctl such as net.ipv4.ip_forward"),
    value: z.union([z.string(), z.number()]).transform(String),
  })
  .strict();
export type SysctlProbe = z.infer<typeof schema>;

export const sysctlProbe: ProbeKind<SysctlProbe> = {
  kind: "sysctl",
  schema,
  describe: (p) => p.title ?? `${p.key} = ${p.value} on ${p.node}`,
  collect: (p) => [{ round: 0, node: p.node, script: `cat /proc/sys/${p.key.replace(/\./g, "/")}` }],
  judge(p, [out]) {
    if (out!.exitCode !== 0) return { ok: false, message: withExplain(`${p.node} has no sysctl ${p.key} (${out!.output.trim()}).`, p) };
    const actual = out!.output.trim();
    if (actual === p.value) return { ok: true, message: `${p.node}: ${p.key} is ${actual}.` };
    return { ok: false, message: withExplain(`${p.node}: ${p.key} is ${actual}, it must be ${p.value}.`, p) };
  },
};
