import { z } from "zod";
import { blockContains, isHostAddress, prefixLength } from "../ipv4.js";
import { parseRouteGet, parseRoutes, type Route, type RouteChoice } from "../command-output.js";
import type { CommandOutput, ProbeContext, ProbeKind, Verdict } from "../types.js";
import { t } from "../../i18n/index.js";
import { probeBase, addressWithOwner, withExplain } from "./common.js";

const schema = z
  .object({
    kind: z.literal("route"),
    ...probeBase,
    /**
     * A host address: judged by the path the kernel picks for it (`ip route get`).
     * "default": the default route the kernel prefers. A block "10.0.2.0/24": a line in the table.
     */
    to: z.string(),
    via: z.string().optional(),
    dev: z.string().optional(),
    present: z.boolean().default(true),
  })
  .strict()
  .refine((p) => p.via !== undefined || p.dev !== undefined || p.to === "default" || !isHostAddress(p.to), {
    message: "a route probe to a host address needs via or dev: the path the kernel must pick",
  });
export type RouteProbe = z.infer<typeof schema>;

const metricOf = (r: Route) => r.metric ?? 0;

function sameDestination(a: string, b: string): boolean {
  return a.replace(/\/32$/, "") === b.replace(/\/32$/, "");
}

function fits(r: { via?: string; dev?: string }, p: RouteProbe): boolean {
  return (!p.via || r.via === p.via) && (!p.dev || r.dev === p.dev);
}

function wantedPath(p: RouteProbe, ctx: ProbeContext): string {
  return [p.via ? t("probe.route.via", { who: addressWithOwner(ctx, p.via) }) : "", p.dev ? t("probe.route.on", { dev: p.dev }) : ""].filter(Boolean).join(" ");
}

/** "via 10.0.1.50 (director)", "on eth1", or both when the probe asks for a device. */
function pathOf(r: { via?: string; dev?: string }, p: Pick<RouteProbe, "dev">, ctx: ProbeContext): string {
  const dev = p.dev || !r.via ? t("probe.route.on", { dev: r.dev }) : "";
  return [r.via ? t("probe.route.via", { who: addressWithOwner(ctx, r.via) }) : "", dev].filter(Boolean).join(" ");
}

function routeName(r: Route): string {
  return r.to === "default" ? t("probe.route.defaultRoute") : t("probe.route.routeTo", { to: r.to });
}

/** The route the kernel takes from the main table: longest prefix, then lowest metric, then first listed. */
function preferred(routes: Route[], address: string): Route | undefined {
  const candidates = routes.filter((r) => !r.table && blockContains(r.to, address));
  return candidates.reduce<Route | undefined>((best, r) => {
    if (!best) return r;
    const longer = prefixLength(r.to) - prefixLength(best.to);
    return longer > 0 || (longer === 0 && metricOf(r) < metricOf(best)) ? r : best;
  }, undefined);
}

/** Why a route the lesson wants exists but loses to the one the kernel uses. */
function whyUnused(wanted: Route, used: Route, p: RouteProbe, ctx: ProbeContext): string {
  const viaWanted = t("probe.route.theRoute", { route: routeName(wanted), path: pathOf(wanted, p, ctx) });
  const viaUsed = pathOf(used, p, ctx);
  if (prefixLength(used.to) > prefixLength(wanted.to)) return t("probe.route.moreSpecific", { route: routeName(used), path: viaUsed, wanted: viaWanted });
  if (metricOf(wanted) > metricOf(used)) {
    return t("probe.route.higherMetric", { wanted: viaWanted, metric: metricOf(wanted), path: viaUsed, usedMetric: metricOf(used) });
  }
  return t("probe.route.sameMetric", { wanted: viaWanted, path: viaUsed });
}

function judgeHost(p: RouteProbe, [got, table]: CommandOutput[], ctx: ProbeContext): Verdict {
  const target = addressWithOwner(ctx, p.to);
  const choice: RouteChoice | undefined = got!.exitCode === 0 ? parseRouteGet(got!.output) : undefined;
  if (!choice) {
    const why = got!.output.trim().split("\n")[0]!.replace(/^RTNETLINK answers: /, "");
    if (!p.present) return { ok: true, message: t("probe.route.host.noneOk", { node: p.node, target }) };
    return { ok: false, message: withExplain(t("probe.route.host.none", { node: p.node, target, why, wanted: wantedPath(p, ctx) }), p) };
  }
  const said = { node: p.node, target, actual: pathOf(choice, p, ctx), wanted: wantedPath(p, ctx) };
  if (!p.present) {
    if (!fits(choice, p)) return { ok: true, message: t("probe.route.host.otherOk", said) };
    return { ok: false, message: withExplain(t("probe.route.host.still", said), p) };
  }
  if (fits(choice, p)) return { ok: true, message: t("probe.route.host.ok", said) };
  const routes = parseRoutes(table!.output);
  const unused = routes.find((r) => !r.table && blockContains(r.to, p.to) && fits(r, p));
  const used = preferred(routes, p.to);
  // Only explain with the table when it agrees with the kernel's choice (no policy routing in between).
  const agrees = used && used.via === choice.via && used.dev === choice.dev;
  const why = unused && used && agrees ? t("probe.route.because", { reason: whyUnused(unused, used, p, ctx) }) : "";
  return { ok: false, message: withExplain(t("probe.route.host.wrong", { ...said, why }), p) };
}

function judgeDefault(p: RouteProbe, out: CommandOutput, ctx: ProbeContext): Verdict {
  const defaults = parseRoutes(out.output).filter((r) => r.to === "default" && !r.table);
  const matching = defaults.filter((r) => fits(r, p));
  if (!p.present) {
    if (!matching.length) return { ok: true, message: t("probe.route.default.noneOk", { node: p.node, wanted: wantedPath(p, ctx) }) };
    return { ok: false, message: withExplain(t("probe.route.default.still", { node: p.node, path: pathOf(matching[0]!, p, ctx) }), p) };
  }
  const used = defaults.reduce<Route | undefined>((best, r) => (!best || metricOf(r) < metricOf(best) ? r : best), undefined);
  if (!used) return { ok: false, message: withExplain(t("probe.route.default.none", { node: p.node, wanted: wantedPath(p, ctx) }), p) };
  if (fits(used, p)) return { ok: true, message: t("probe.route.default.ok", { node: p.node, path: pathOf(used, p, ctx) }) };
  const why = matching.length ? t("probe.route.because", { reason: whyUnused(matching[0]!, used, p, ctx) }) : "";
  return { ok: false, message: withExplain(t("probe.route.default.wrong", { node: p.node, path: pathOf(used, p, ctx), wanted: wantedPath(p, ctx), why }), p) };
}

/** A block keeps table semantics: the lesson asks for a line in the routing table. */
function judgeBlock(p: RouteProbe, out: CommandOutput, ctx: ProbeContext): Verdict {
  const routes = parseRoutes(out.output).filter((r) => sameDestination(r.to, p.to));
  const matching = routes.filter((r) => fits(r, p));
  if (!p.present) {
    if (!matching.length) return { ok: true, message: t("probe.route.block.noneOk", { node: p.node, to: p.to }) };
    const via = matching[0]!.via ? t("probe.route.viaSuffix", { who: addressWithOwner(ctx, matching[0]!.via) }) : "";
    return { ok: false, message: withExplain(t("probe.route.block.still", { node: p.node, to: p.to, via }), p) };
  }
  if (matching.length) return { ok: true, message: t("probe.route.block.ok", { node: p.node, to: p.to, path: pathOf(matching[0]!, p, ctx) }) };
  if (!routes.length) return { ok: false, message: withExplain(t("probe.route.block.none", { node: p.node, to: p.to, wanted: wantedPath(p, ctx) }), p) };
  return { ok: false, message: withExplain(t("probe.route.block.wrong", { node: p.node, to: p.to, path: pathOf(routes[0]!, p, ctx), wanted: wantedPath(p, ctx) }), p) };
}

export const routeProbe: ProbeKind<RouteProbe> = {
  kind: "route",
  schema,
  describe: (p, ctx) =>
    p.title ??
    t("probe.route.describe", {
      node: p.node,
      what: p.to === "default" ? t("probe.route.defaultRoute") : isHostAddress(p.to) ? t("probe.route.packetsFor", { who: addressWithOwner(ctx, p.to) }) : t("probe.route.routeTo", { to: p.to }),
      via: p.via ? t("probe.route.viaSuffix", { who: addressWithOwner(ctx, p.via) }) : "",
      dev: p.dev ? t("probe.route.onSuffix", { dev: p.dev }) : "",
    }),
  collect: (p) => [
    ...(p.to !== "default" && isHostAddress(p.to) ? [{ round: 0 as const, node: p.node, script: `ip -4 route get ${p.to.replace(/\/32$/, "")}` }] : []),
    { round: 0, node: p.node, script: "ip -4 route show" },
  ],
  judge(p, outputs, ctx) {
    if (p.to === "default") return judgeDefault(p, outputs[0]!, ctx);
    if (isHostAddress(p.to)) return judgeHost(p, outputs, ctx);
    return judgeBlock(p, outputs[0]!, ctx);
  },
};
