import { z } from "zod";
import { METHOD_FLAG, parseIpvsSave, type ForwardMethod } from "../command-output.js";
import { ownerOf } from "../../topology/resolve.js";
import type { ProbeContext, ProbeKind } from "../types.js";
import { t } from "../../i18n/index.js";
import { endpoint, probeBase, splitEndpoint, addressWithOwner, withExplain } from "./common.js";

const realServer = z
  .object({
    address: endpoint,
    method: z.enum(["masq", "route", "tunnel"]).optional(),
    weight: z.number().int().min(0).max(65535).optional(),
  })
  .strict();

const schema = z
  .object({
    kind: z.literal("ipvs"),
    ...probeBase,
    protocol: z.enum(["tcp", "udp"]).default("tcp"),
    service: endpoint,
    scheduler: z.string().optional(),
    persistent: z.boolean().optional(),
    realServers: z.array(realServer).optional(),
    /** No real servers other than the listed ones. */
    exact: z.boolean().default(false),
    present: z.boolean().default(true),
  })
  .strict();
export type IpvsProbe = z.infer<typeof schema>;

function methodMismatch(ctx: ProbeContext, host: string, have: ForwardMethod, want: ForwardMethod): string {
  return t("probe.ipvs.methodMismatch", {
    who: addressWithOwner(ctx, host),
    haveFlag: METHOD_FLAG[have],
    have: t(`probe.ipvs.method.${have}`),
    wantFlag: METHOD_FLAG[want],
    want: t(`probe.ipvs.method.${want}`),
  });
}

/** ipvsadm's own words when the kernel has no IPVS; probes turn them into one clear sentence. */
export const NO_IPVS = /Can't initialize ipvs|Protocol not available/;

export const ipvsProbe: ProbeKind<IpvsProbe> = {
  kind: "ipvs",
  schema,
  describe: (p) =>
    p.title ??
    t("probe.ipvs.describe", {
      node: p.node,
      protocol: p.protocol,
      service: p.service,
      scheduler: p.scheduler ? ` -s ${p.scheduler}` : "",
      servers: p.realServers ? t("probe.ipvs.withServers", { count: p.realServers.length }) : "",
    }),
  collect: (p) => [{ round: 0, node: p.node, script: "ipvsadm -Sn" }],
  judge(p, [out], ctx) {
    if (NO_IPVS.test(out!.output)) {
      return { ok: false, message: t("probe.ipvs.noIpvs", { node: p.node }) };
    }
    const svc = parseIpvsSave(out!.output).find((s) => s.protocol === p.protocol && s.address === p.service);
    const name = `${p.protocol.toUpperCase()} ${p.service}`;
    if (!p.present) {
      return svc
        ? { ok: false, message: withExplain(t("probe.ipvs.stillHas", { node: p.node, name }), p) }
        : { ok: true, message: t("probe.ipvs.noneOk", { node: p.node, name }) };
    }
    if (!svc) {
      const others = parseIpvsSave(out!.output).map((s) => `${s.protocol.toUpperCase()} ${s.address}`);
      const seen = others.length ? t("probe.ipvs.itHas", { list: others.join(", ") }) : t("probe.ipvs.listsNone");
      return { ok: false, message: withExplain(t("probe.ipvs.missing", { node: p.node, name, seen }), p) };
    }
    if (p.scheduler && svc.scheduler !== p.scheduler) {
      return { ok: false, message: withExplain(t("probe.ipvs.scheduler", { node: p.node, name, have: svc.scheduler, want: p.scheduler, service: p.service }), p) };
    }
    if (p.persistent !== undefined && Boolean(svc.persistent) !== p.persistent) {
      if (svc.persistent) return { ok: false, message: withExplain(t("probe.ipvs.persistent", { node: p.node, name }), p) };
      // A -p given to another service of the node is the likely slip: name where it went.
      const elsewhere = parseIpvsSave(out!.output).find((s) => s.persistent && s.address !== svc.address);
      const message = elsewhere
        ? t("probe.ipvs.persistentElsewhere", { node: p.node, name, other: `${elsewhere.protocol.toUpperCase()} ${elsewhere.address}` })
        : t("probe.ipvs.notPersistent", { node: p.node, name });
      return { ok: false, message: withExplain(message, p) };
    }
    for (const want of p.realServers ?? []) {
      const host = splitEndpoint(want.address).host;
      const have = svc.realServers.find((r) => r.address === want.address);
      if (!have) {
        const sameHost = svc.realServers.find((r) => splitEndpoint(r.address).host === host);
        if (sameHost && want.method && sameHost.method !== want.method) {
          // With -g or -i ipvsadm replaces the real server's port by the service's: the flag is the mistake.
          return { ok: false, message: withExplain(t("probe.ipvs.onNode", { node: p.node, what: methodMismatch(ctx, host, sameHost.method, want.method) }), p) };
        }
        const extra = sameHost ? t("probe.ipvs.wrongPort", { address: sameHost.address }) : "";
        const owner = ownerOf(ctx.topology, host);
        const server = owner ? t("probe.ipvs.ownerAddress", { owner, address: want.address }) : want.address;
        return { ok: false, message: withExplain(t("probe.ipvs.rsMissing", { node: p.node, server, name, extra }), p) };
      }
      if (want.method && have.method !== want.method) {
        return { ok: false, message: withExplain(t("probe.ipvs.onNode", { node: p.node, what: methodMismatch(ctx, host, have.method, want.method) }), p) };
      }
      if (want.weight !== undefined && have.weight !== want.weight) {
        const quiesced = have.weight === 0 ? t("probe.ipvs.quiesced") : "";
        return { ok: false, message: withExplain(t("probe.ipvs.weight", { node: p.node, who: addressWithOwner(ctx, host), have: have.weight, want: want.weight, quiesced }), p) };
      }
    }
    if (p.exact && p.realServers) {
      const extra = svc.realServers.filter((r) => !p.realServers!.some((w) => w.address === r.address));
      if (extra.length) return { ok: false, message: withExplain(t("probe.ipvs.extra", { node: p.node, name, list: extra.map((r) => r.address).join(", ") }), p) };
    }
    const list = svc.realServers.map((r) => `${r.address} ${METHOD_FLAG[r.method]} w${r.weight}`).join(", ");
    return { ok: true, message: t("probe.ipvs.ok", { node: p.node, name, scheduler: svc.scheduler, list: list || t("probe.ipvs.noServers") }) };
  },
};
