import { z } from "zod";
import { parseAddresses } from "../command-output.js";
import type { ProbeKind } from "../types.js";
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

export const addressProbe: ProbeKind<AddressProbe> = {
  kind: "address",
  schema,
  describe: (p) => p.title ?? `${p.node} ${p.present ? "has" : "does not have"} ${p.address}${p.iface ? ` on ${p.iface}` : ""}`,
  collect: (p) => [{ round: 0, node: p.node, script: "ip -o -4 addr show" }],
  judge(p, [out]) {
    const [ip, prefixText] = p.address.split("/");
    const found = parseAddresses(out!.output).filter((a) => a.address === ip);
    const where = found.map((a) => `${a.iface} as /${a.prefix}`).join(" and ");
    if (!p.present) {
      const wrong = found.filter((a) => !p.iface || a.iface === p.iface);
      if (!wrong.length) return { ok: true, message: `${p.node} does not have ${ip}${p.iface ? ` on ${p.iface}` : ""}.` };
      return { ok: false, message: withExplain(`${p.node} still has ${ip} on ${where}.`, p) };
    }
    if (!found.length) return { ok: false, message: withExplain(`${p.node} does not have ${ip} on any interface.`, p) };
    const onIface = p.iface ? found.filter((a) => a.iface === p.iface) : found;
    if (!onIface.length) return { ok: false, message: withExplain(`${p.node} has ${ip} on ${where}, but it belongs on ${p.iface}.`, p) };
    if (prefixText && !onIface.some((a) => a.prefix === Number(prefixText))) {
      return { ok: false, message: withExplain(`${p.node} has ${ip} on ${where}, but it must be /${prefixText}.`, p) };
    }
    return { ok: true, message: `${p.node} has ${ip} on ${where}.` };
  },
};
