import { z } from "zod";
import type { CommandOutput, ProbeKind, Verdict } from "../types.js";
import { probeBase, withExplain } from "./common.js";

/**
 * Per-interface keys whose effective value the kernel computes from conf/all/<key> and
 * conf/<iface>/<key>: the larger of the two (Documentation/networking/ip-sysctl.rst).
 * `readFor` says what the interface's value is read for, to explain that lo's is not.
 */
const LARGER_OF_ALL_AND_IFACE: Record<string, { readFor: string }> = {
  arp_ignore: { readFor: "ARP requests arriving on" },
  arp_announce: { readFor: "ARP requests sent on" },
  rp_filter: { readFor: "packets arriving on" },
};

const scalar = z.union([z.string(), z.number()]).transform(String);

const schema = z
  .object({
    kind: z.literal("sysctl"),
    ...probeBase,
    /** A full key (net.ipv4.ip_forward), or with `iface` a per-interface key name (arp_ignore). */
    key: z.string(),
    /** The accepted value, or a list of accepted values: [1, 2]. */
    value: z.union([scalar, z.array(scalar).min(1)]),
    /** The interface the kernel reads the key for; the probe judges the effective value. */
    iface: z.string().regex(/^[\w.{}-]+$/, 'must be an interface name such as eth0 or "{{rs1.int.iface}}"').optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.iface === undefined) {
      if (!/^net\.[\w.{}-]+$/.test(p.key)) ctx.addIssue({ code: "custom", path: ["key"], message: "must be a net.* sysctl such as net.ipv4.ip_forward" });
    } else if (!LARGER_OF_ALL_AND_IFACE[p.key]) {
      const known = Object.keys(LARGER_OF_ALL_AND_IFACE).join(", ");
      ctx.addIssue({
        code: "custom",
        path: ["key"],
        message: `with iface, key is a per-interface key whose effective value lvs-lab knows how to compute (${known}); "${p.key}" is not one: drop iface and give the full key instead`,
      });
    }
  });
export type SysctlProbe = z.infer<typeof schema>;

const accepted = (p: SysctlProbe): string[] => (Array.isArray(p.value) ? p.value : [p.value]);

/** "1", "1 or 2", "0, 1 or 2". */
function alternatives(values: string[]): string {
  return values.length === 1 ? values[0]! : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
}

const confPath = (iface: string, key: string) => `/proc/sys/net/ipv4/conf/${iface}/${key}`;

function judgeEffective(p: SysctlProbe & { iface: string }, [all, own, lo]: CommandOutput[]): Verdict {
  if (own!.exitCode !== 0) return { ok: false, message: withExplain(`${p.node} has no interface ${p.iface} (no ${confPath(p.iface, p.key)}).`, p) };
  if (all!.exitCode !== 0) return { ok: false, message: withExplain(`${p.node} has no ${confPath("all", p.key)} (${all!.output.trim()}).`, p) };
  const allValue = Number(all!.output.trim());
  const ownValue = Number(own!.output.trim());
  const effective = String(Math.max(allValue, ownValue));
  const reading = `${p.node}: ${p.key} for ${p.iface} is ${effective} (the larger of all=${allValue} and ${p.iface}=${ownValue})`;
  if (accepted(p).includes(effective)) return { ok: true, message: `${reading}.` };
  const loValue = lo?.exitCode === 0 ? lo.output.trim() : undefined;
  const loMistake = loValue !== undefined && accepted(p).includes(loValue)
    ? ` lo's value ${loValue} is not read for ${LARGER_OF_ALL_AND_IFACE[p.key]!.readFor} ${p.iface}.`
    : "";
  return { ok: false, message: withExplain(`${reading}; it must be ${alternatives(accepted(p))}.${loMistake}`, p) };
}

export const sysctlProbe: ProbeKind<SysctlProbe> = {
  kind: "sysctl",
  schema,
  describe: (p) =>
    p.title ?? (p.iface ? `${p.node}: ${p.key} for ${p.iface} is ${alternatives(accepted(p))}` : `${p.key} = ${alternatives(accepted(p))} on ${p.node}`),
  collect: (p) => {
    if (!p.iface) return [{ round: 0, node: p.node, script: `cat /proc/sys/${p.key.replace(/\./g, "/")}` }];
    // lo is read only to recognise the classic mistake of setting the key there.
    const ifaces = p.iface === "lo" ? ["all", "lo"] : ["all", p.iface, "lo"];
    return ifaces.map((iface) => ({ round: 0 as const, node: p.node, script: `cat ${confPath(iface, p.key)}` }));
  },
  judge(p, outputs) {
    if (p.iface) return judgeEffective({ ...p, iface: p.iface }, outputs);
    const [out] = outputs;
    if (out!.exitCode !== 0) return { ok: false, message: withExplain(`${p.node} has no sysctl ${p.key} (${out!.output.trim()}).`, p) };
    const actual = out!.output.trim();
    if (accepted(p).includes(actual)) return { ok: true, message: `${p.node}: ${p.key} is ${actual}.` };
    return { ok: false, message: withExplain(`${p.node}: ${p.key} is ${actual}, it must be ${alternatives(accepted(p))}.`, p) };
  },
};
