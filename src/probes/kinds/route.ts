import { z } from "zod";
import { parseRoutes } from "../parse.js";
import type { ProbeKind } from "../types.js";
import { probeBase, who, withExplain } from "./common.js";

const schema = z
  .object({
    kind: z.literal("route"),
    ...probeBase,
    /** "default", a block "10.0.2.0/24" or a host address. */
    to: z.string(),
    via: z.string().optional(),
    dev: z.string().optional(),
    present: z.boolean().default(true),
  })
  .strict();
export type RouteProbe = z.infer<typeof schema>;

function sameDestination(a: string, b: string): boolean {
  return a.replace(/\/32$/, "") === b.replace(/\/32$/, "");
}

export const routeProbe: ProbeKind<RouteProbe> = {
  kind: "route",
  schema,
  describe: (p, ctx) =>
    p.title ?? `${p.node}: ${p.to === "default" ? "default route" : `route to ${p.to}`}${p.via ? ` via ${who(ctx, p.via)}` : ""}${p.dev ? ` dev ${p.dev}` : ""}`,
  collect: (p) => [{ round: 0, node: p.node, script: "ip -4 route show" }],
  judge(p, [out], ctx) {
    const subject = p.to === "default" ? `${p.node}'s default route` : `${p.node}'s route to ${p.to}`;
    const routes = parseRoutes(out!.output).filter((r) => sameDestination(r.to, p.to));
    const matching = routes.filter((r) => (!p.via || r.via === p.via) && (!p.dev || r.dev === p.dev));
    if (!p.present) {
      if (!matching.length) return { ok: true, message: `${p.node} has no such route to ${p.to}.` };
      return { ok: false, message: withExplain(`${p.node} still has a route to ${p.to}${matching[0]!.via ? ` via ${who(ctx, matching[0]!.via)}` : ""}.`, p) };
    }
    if (matching.length) {
      const r = matching[0]!;
      return { ok: true, message: `${subject} is ${r.via ? `via ${who(ctx, r.via)}` : `on ${r.dev}`}.` };
    }
    const wanted = [p.via ? `via ${who(ctx, p.via)}` : "", p.dev ? `on ${p.dev}` : ""].filter(Boolean).join(" ");
    if (!routes.length) return { ok: false, message: withExplain(`${p.node} has no ${p.to === "default" ? "default route" : `route to ${p.to}`}; it needs one ${wanted}.`, p) };
    const r = routes[0]!;
    const actual = r.via ? `via ${who(ctx, r.via)}` : `on ${r.dev}`;
    return { ok: false, message: withExplain(`${subject} is ${actual}, not ${wanted}.`, p) };
  },
};
