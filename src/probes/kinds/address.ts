import { z } from "zod";
import { parseAddresses } from "../command-output.js";
import type { ProbeKind } from "../types.js";
import { t } from "../../i18n/index.js";
import { probeBase, withExplain } from "./common.js";

const schema = z
  .object({
    kind: z.literal("address"),
    ...probeBase,
    /** "198.51.100.77" or "198.51.100.77/32" (then the prefix must match too). */
    address: z.string(),
    iface: z.string().optional(),
    present: z.boolean().default(true),
  })
  .strict();
export type AddressProbe = z.infer<typeof schema>;

const onIface = (iface: string | undefined) => (iface ? t("probe.address.on", { iface }) : "");

export const addressProbe: ProbeKind<AddressProbe> = {
  kind: "address",
  schema,
  describe: (p) => p.title ?? t(p.present ? "probe.address.describeHas" : "probe.address.describeHasNot", { node: p.node, address: p.address, on: onIface(p.iface) }),
  collect: (p) => [{ round: 0, node: p.node, script: "ip -o -4 addr show" }],
  judge(p, [out]) {
    const [ip, prefixText] = p.address.split("/");
    const found = parseAddresses(out!.output).filter((a) => a.address === ip);
    const where = found.map((a) => t("probe.address.where", { iface: a.iface, prefix: a.prefix })).join(t("probe.address.whereJoin"));
    const said = { node: p.node, address: ip, where, iface: p.iface, prefix: prefixText };
    if (!p.present) {
      const wrong = found.filter((a) => !p.iface || a.iface === p.iface);
      if (!wrong.length) return { ok: true, message: t("probe.address.hasNot", { ...said, on: onIface(p.iface) }) };
      return { ok: false, message: withExplain(t("probe.address.stillHas", said), p) };
    }
    if (!found.length) return { ok: false, message: withExplain(t("probe.address.nowhere", said), p) };
    const onTheIface = p.iface ? found.filter((a) => a.iface === p.iface) : found;
    if (!onTheIface.length) return { ok: false, message: withExplain(t("probe.address.wrongIface", said), p) };
    if (prefixText && !onTheIface.some((a) => a.prefix === Number(prefixText))) {
      return { ok: false, message: withExplain(t("probe.address.wrongPrefix", said), p) };
    }
    return { ok: true, message: t("probe.address.has", said) };
  },
};
