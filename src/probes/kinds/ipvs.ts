import { z } from "zod";
import { METHOD_FLAG, parseIpvsSave, type ForwardMethod } from "../command-output.js";
import { ownerOf } from "../../topology/resolve.js";
import type { ProbeContext, ProbeKind } from "../types.js";
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

const METHOD_WORDS: Record<ForwardMethod, string> = { masq: "masquerading/NAT", route: "direct routing", tunnel: "IP-in-IP tunnelling" };

function methodMismatch(ctx: ProbeContext, host: string, have: ForwardMethod, want: ForwardMethod): string {
  return `real server ${addressWithOwner(ctx, host)} is added with ${METHOD_FLAG[have]} (${METHOD_WORDS[have]}), this lab needs ${METHOD_FLAG[want]} (${METHOD_WORDS[want]}).`;
}

/** ipvsadm's own words when the kernel has no IPVS; probes turn them into one clear sentence. */
export const NO_IPVS = /Can't initialize ipvs|Protocol not available/;

export const ipvsProbe: ProbeKind<IpvsProbe> = {
  kind: "ipvs",
  schema,
  describe: (p) => p.title ?? `${p.node}: IPVS ${p.protocol} ${p.service}${p.scheduler ? ` -s ${p.scheduler}` : ""}${p.realServers ? ` with ${p.realServers.length} real servers` : ""}`,
  collect: (p) => [{ round: 0, node: p.node, script: "ipvsadm -Sn" }],
  judge(p, [out], ctx) {
    if (NO_IPVS.test(out!.output)) {
      return { ok: false, message: `The kernel running ${p.node} has no IPVS (ip_vs module): this lab needs a kernel with ip_vs (see \`lvs-lab doctor\`).` };
    }
    const svc = parseIpvsSave(out!.output).find((s) => s.protocol === p.protocol && s.address === p.service);
    const name = `${p.protocol.toUpperCase()} ${p.service}`;
    if (!p.present) {
      return svc
        ? { ok: false, message: withExplain(`${p.node} still has the virtual service ${name}.`, p) }
        : { ok: true, message: `${p.node} has no virtual service ${name}.` };
    }
    if (!svc) {
      const others = parseIpvsSave(out!.output).map((s) => `${s.protocol.toUpperCase()} ${s.address}`);
      const seen = others.length ? `it has ${others.join(", ")}` : "`ipvsadm -Ln` lists none";
      return { ok: false, message: withExplain(`${p.node} has no virtual service ${name} (${seen}).`, p) };
    }
    if (p.scheduler && svc.scheduler !== p.scheduler) {
      return { ok: false, message: withExplain(`${p.node}: virtual service ${name} uses scheduler ${svc.scheduler}, expected ${p.scheduler} (ipvsadm -E -t ${p.service} -s ${p.scheduler}).`, p) };
    }
    if (p.persistent !== undefined && Boolean(svc.persistent) !== p.persistent) {
      return { ok: false, message: withExplain(`${p.node}: virtual service ${name} is ${svc.persistent ? "" : "not "}persistent, expected ${p.persistent ? "-p" : "no -p"}.`, p) };
    }
    for (const want of p.realServers ?? []) {
      const host = splitEndpoint(want.address).host;
      const have = svc.realServers.find((r) => r.address === want.address);
      if (!have) {
        const sameHost = svc.realServers.find((r) => splitEndpoint(r.address).host === host);
        if (sameHost && want.method && sameHost.method !== want.method) {
          // With -g or -i ipvsadm replaces the real server's port by the service's: the flag is the mistake.
          return { ok: false, message: withExplain(`${p.node}: ${methodMismatch(ctx, host, sameHost.method, want.method)}`, p) };
        }
        const extra = sameHost ? ` (it has ${sameHost.address}: wrong port)` : "";
        const owner = ownerOf(ctx.topology, host);
        return { ok: false, message: withExplain(`${p.node}: real server ${owner ? `${owner} (${want.address})` : want.address} is missing from ${name}${extra}.`, p) };
      }
      if (want.method && have.method !== want.method) {
        return { ok: false, message: withExplain(`${p.node}: ${methodMismatch(ctx, host, have.method, want.method)}`, p) };
      }
      if (want.weight !== undefined && have.weight !== want.weight) {
        const quiesced = have.weight === 0 ? " — weight 0 means quiesced: it gets no new connections" : "";
        return { ok: false, message: withExplain(`${p.node}: real server ${addressWithOwner(ctx, host)} has weight ${have.weight}, expected ${want.weight}${quiesced}.`, p) };
      }
    }
    if (p.exact && p.realServers) {
      const extra = svc.realServers.filter((r) => !p.realServers!.some((w) => w.address === r.address));
      if (extra.length) return { ok: false, message: withExplain(`${p.node}: ${name} has real servers it should not: ${extra.map((r) => r.address).join(", ")}.`, p) };
    }
    const list = svc.realServers.map((r) => `${r.address} ${METHOD_FLAG[r.method]} w${r.weight}`).join(", ");
    return { ok: true, message: `${p.node}: ${name} -s ${svc.scheduler} → ${list || "no real servers"}.` };
  },
};
