import { z } from "zod";
import type { CommandOutput, ProbeKind, Verdict } from "../types.js";
import { alternatives, t } from "../../i18n/index.js";
import { probeBase, withExplain } from "./common.js";

/**
 * Per-interface keys whose effective value the kernel computes from conf/all/<key> and
 * conf/<iface>/<key>: the larger of the two (Documentation/networking/ip-sysctl.rst).
 * The sentence says what the interface's value is read for, to explain that lo's is not.
 */
const LARGER_OF_ALL_AND_IFACE = {
  arp_ignore: "probe.sysctl.loNotRead.arp_ignore",
  arp_announce: "probe.sysctl.loNotRead.arp_announce",
  rp_filter: "probe.sysctl.loNotRead.rp_filter",
} as const;
const isPerInterfaceKey = (key: string): key is keyof typeof LARGER_OF_ALL_AND_IFACE => Object.hasOwn(LARGER_OF_ALL_AND_IFACE, key);

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
    } else if (!isPerInterfaceKey(p.key)) {
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

const confPath = (iface: string, key: string) => `/proc/sys/net/ipv4/conf/${iface}/${key}`;

function judgeEffective(p: SysctlProbe & { iface: string }, [all, own, lo]: CommandOutput[]): Verdict {
  if (own!.exitCode !== 0) return { ok: false, message: withExplain(t("probe.sysctl.noIface", { node: p.node, iface: p.iface, path: confPath(p.iface, p.key) }), p) };
  if (all!.exitCode !== 0) return { ok: false, message: withExplain(t("probe.sysctl.noAll", { node: p.node, path: confPath("all", p.key), output: all!.output.trim() }), p) };
  const allValue = Number(all!.output.trim());
  const ownValue = Number(own!.output.trim());
  const effective = String(Math.max(allValue, ownValue));
  const reading = t("probe.sysctl.reading", { node: p.node, key: p.key, iface: p.iface, value: effective, all: allValue, own: ownValue });
  if (accepted(p).includes(effective)) return { ok: true, message: t("probe.sysctl.readingOk", { reading }) };
  const loValue = lo?.exitCode === 0 ? lo.output.trim() : undefined;
  const loMistake = loValue !== undefined && accepted(p).includes(loValue) && isPerInterfaceKey(p.key)
    ? t(LARGER_OF_ALL_AND_IFACE[p.key], { lo: loValue, iface: p.iface })
    : "";
  return { ok: false, message: withExplain(t("probe.sysctl.readingBad", { reading, accepted: alternatives(accepted(p)), lo: loMistake }), p) };
}

export const sysctlProbe: ProbeKind<SysctlProbe> = {
  kind: "sysctl",
  schema,
  describe: (p) =>
    p.title ?? t(p.iface ? "probe.sysctl.describeIface" : "probe.sysctl.describe", { node: p.node, key: p.key, iface: p.iface, accepted: alternatives(accepted(p)) }),
  collect: (p) => {
    if (!p.iface) return [{ round: 0, node: p.node, script: `cat /proc/sys/${p.key.replace(/\./g, "/")}` }];
    // lo is read only to recognise the classic mistake of setting the key there.
    const ifaces = p.iface === "lo" ? ["all", "lo"] : ["all", p.iface, "lo"];
    return ifaces.map((iface) => ({ round: 0 as const, node: p.node, script: `cat ${confPath(iface, p.key)}` }));
  },
  judge(p, outputs) {
    if (p.iface) return judgeEffective({ ...p, iface: p.iface }, outputs);
    const [out] = outputs;
    if (out!.exitCode !== 0) return { ok: false, message: withExplain(t("probe.sysctl.noSysctl", { node: p.node, key: p.key, output: out!.output.trim() }), p) };
    const actual = out!.output.trim();
    if (accepted(p).includes(actual)) return { ok: true, message: t("probe.sysctl.is", { node: p.node, key: p.key, value: actual }) };
    return { ok: false, message: withExplain(t("probe.sysctl.mustBe", { node: p.node, key: p.key, value: actual, accepted: alternatives(accepted(p)) }), p) };
  },
};
