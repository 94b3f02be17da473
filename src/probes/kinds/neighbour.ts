import { z } from "zod";
import { parseLinks, parseNeighbours } from "../command-output.js";
import type { ProbeKind, Round } from "../types.js";
import { t } from "../../i18n/index.js";
import { probeBase, addressWithOwner, withExplain } from "./common.js";

const schema = z
  .object({
    kind: z.literal("neighbour"),
    ...probeBase,
    address: z.string(),
    /** The node whose MAC the entry must hold (e.g. the director for the VIP). */
    owner: z.string(),
    /** Forget the entry first, so the answer reflects who replies to ARP right now. */
    fresh: z.boolean().default(false),
  })
  .strict();
export type NeighbourProbe = z.infer<typeof schema>;

export const neighbourProbe: ProbeKind<NeighbourProbe> = {
  kind: "neighbour",
  schema,
  describe: (p, ctx) => p.title ?? t("probe.neighbour.describe", { node: p.node, who: addressWithOwner(ctx, p.address), owner: p.owner }),
  collect(p, ctx) {
    // Read after any traffic of the step; resolve it with one ping when there is no entry yet.
    const flush = p.fresh ? `ip neigh flush to ${p.address}; ` : "";
    const read = `${flush}ip neigh show to ${p.address} | grep -q lladdr || ping -c1 -W1 ${p.address} >/dev/null 2>&1; ip neigh show to ${p.address}`;
    // A fresh entry is resolved before the step's traffic, so that traffic uses it.
    const round: Round = p.fresh ? 0 : 2;
    return [
      { round, node: p.node, script: read },
      ...Object.keys(ctx.topology.nodes).map((node) => ({ round, node, script: "ip -o link show" })),
    ];
  },
  judge(p, [neigh, ...links], ctx) {
    const mac = parseNeighbours(neigh!.output)[p.address];
    if (!mac) return { ok: false, message: withExplain(t("probe.neighbour.none", { node: p.node, who: addressWithOwner(ctx, p.address) }), p) };
    const nodes = Object.keys(ctx.topology.nodes);
    const owners = nodes.filter((_, i) => Object.values(parseLinks(links[i]!.output)).includes(mac));
    if (owners.includes(p.owner)) return { ok: true, message: t("probe.neighbour.ok", { node: p.node, address: p.address, mac, owner: p.owner }) };
    const holder = owners[0] ?? t("probe.neighbour.unknownHost");
    return { ok: false, message: withExplain(t("probe.neighbour.wrong", { node: p.node, address: p.address, mac, holder, owner: p.owner }), p) };
  },
};
