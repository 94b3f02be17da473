import { z } from "zod";
import { parseHttpSamples, parseIpvsConnections, parseIpvsSave, type IpvsConnection, type IpvsService } from "../command-output.js";
import { t } from "../../i18n/index.js";
import type { ProbeContext, ProbeKind, Spread, Verdict } from "../types.js";
import { endpoint, probeBase, splitEndpoint } from "./common.js";

/**
 * A persistent service seen from both ends: the client's requests (which real server
 * answered) and the director's connection table (`ipvsadm -Lnc`), whose lines with client
 * port 0 are the persistence templates that hold a client on its real server.
 */
const schema = z
  .object({
    kind: z.literal("persistence"),
    ...probeBase,
    /** The director: its IPVS table and templates. */
    node: z.string().default("director"),
    /** The node that sends the requests. */
    client: z.string().default("client"),
    service: endpoint,
    count: z.number().int().min(1).max(50).default(4),
    /**
     * sticky: every request lands on one real server and a template names it.
     * quiesced: they land on a server of weight 0, held there by its template.
     * moved: they land on a server of weight > 0 while another real server is drained
     * (weight 0, or removed from the service).
     */
    expect: z.enum(["sticky", "quiesced", "moved"]),
  })
  .strict();
export type PersistenceProbe = z.infer<typeof schema>;

const SECTION = "### lvs-lab";
const EXPIRE_QUIESCENT = "/proc/sys/net/ipv4/vs/expire_quiescent_template";

/** The sender's address on the service's network (the template's source). */
function clientAddress(p: PersistenceProbe, ctx: ProbeContext): string | undefined {
  const node = ctx.topology.nodes[p.client];
  const host = splitEndpoint(p.service).host;
  const vip = Object.values(ctx.topology.vips).find((v) => v.address === host);
  return (vip && node?.addresses[vip.network]) || Object.values(node?.addresses ?? {})[0];
}

/** Weight of a node's entry in the service; undefined when the node is not a real server of it. */
function weightOf(ctx: ProbeContext, svc: IpvsService, node: string): number | undefined {
  const addresses = Object.values(ctx.topology.nodes[node]?.addresses ?? {});
  return svc.realServers.find((r) => addresses.includes(splitEndpoint(r.address).host))?.weight;
}

/** The topology's real servers that take no new clients: weight 0, or removed from the service. */
function drained(ctx: ProbeContext, svc: IpvsService): Array<{ server: string; removed: boolean }> {
  return Object.entries(ctx.topology.nodes)
    .filter(([, n]) => n.role === "realserver")
    .flatMap(([server]) => {
      const weight = weightOf(ctx, svc, server);
      return weight === undefined || weight === 0 ? [{ server, removed: weight === undefined }] : [];
    });
}

/** "rs3 (weight 0), rs1 (removed)" */
function listDrained(list: Array<{ server: string; removed: boolean }>): string {
  return list.map((d) => t(d.removed ? "probe.persistence.removed" : "probe.persistence.weight0", { server: d.server })).join(", ");
}

function describeTemplate(c: IpvsConnection): string {
  return t("probe.persistence.template", { source: c.source, virtual: c.virtual, destination: c.destination, state: c.state, expires: c.expires });
}

export const persistenceProbe: ProbeKind<PersistenceProbe> = {
  kind: "persistence",
  schema,
  describe: (p) => p.title ?? t(`probe.persistence.describe.${p.expect}`, { client: p.client, service: p.service, node: p.node }),
  collect: (p) => [
    {
      round: 1,
      node: p.client,
      script: `for i in $(seq ${p.count}); do out=$(curl -s -m 2 http://${p.service}/); rc=$?; if [ $rc -eq 0 ]; then echo "ok $out"; else echo "fail $rc"; fi; done`,
    },
    { round: 2, node: p.node, script: `ipvsadm -Sn; echo '${SECTION} connections'; ipvsadm -Lnc; echo '${SECTION} expire_quiescent_template'; cat ${EXPIRE_QUIESCENT}` },
  ],
  judge(p, [requests, table], ctx) {
    const [saved = "", connections = "", quiescent = ""] = table!.output.split(new RegExp(`^${SECTION} .*$`, "m"));
    const svc = parseIpvsSave(saved).find((s) => s.protocol === "tcp" && s.address === p.service);
    const name = `TCP ${p.service}`;
    const samples = parseHttpSamples(requests!.output);
    const answered = samples.filter((s) => s.ok && s.server);
    const counts: Record<string, number> = {};
    for (const s of answered) counts[s.server!] = (counts[s.server!] ?? 0) + 1;
    const spread: Spread = { counts, failed: samples.length - answered.length, total: samples.length };
    const summary = Object.entries(counts).map(([s, n]) => `${s} ${n}`).join(", ");
    const said = { node: p.node, client: p.client, service: p.service, name, total: samples.length, answered: answered.length, summary };
    const fail = (message: string): Verdict => ({ ok: false, spread, message });

    if (!svc) return fail(t("probe.persistence.noService", said));
    const servers = Object.keys(counts);
    const allAnswered = samples.length > 0 && answered.length === samples.length;
    // Without -p the spread is what the learner sees; the ipvs check beside this one names the missing -p.
    if (allAnswered && servers.length > 1) return fail(t("probe.persistence.spread", said));
    if (!svc.persistent) return fail(t("probe.ipvs.notPersistent", said));
    if (!allAnswered) return fail(t("probe.persistence.unanswered", { ...said, summary: summary ? t("probe.http.summary", { summary }) : "" }));
    const server = servers[0]!;
    const address = clientAddress(p, ctx);
    const template = parseIpvsConnections(connections).find((c) => c.source === `${address}:0` && c.virtual === p.service);
    if (!template) return fail(t("probe.persistence.noTemplate", { ...said, address }));
    const weight = weightOf(ctx, svc, server);
    const held = { ...said, server, weight, template: describeTemplate(template), eqt: quiescent.trim() };
    const off = drained(ctx, svc);

    if (p.expect === "sticky") return { ok: true, spread, message: t("probe.persistence.sticky", held) };
    if (p.expect === "quiesced") {
      if (weight === 0) return { ok: true, spread, message: t("probe.persistence.quiesced", held) };
      const removed = off.find((d) => d.removed);
      if (removed) return fail(t("probe.persistence.removedInstead", { ...held, removed: removed.server }));
      if (off.length && held.eqt === "1") return fail(t("probe.persistence.leftQuiesced", { ...held, drained: listDrained(off) }));
      return fail(t("probe.persistence.notQuiesced", held));
    }
    if (weight === 0) return fail(t("probe.persistence.stillQuiesced", held));
    if (!off.length) return fail(t("probe.persistence.nothingDrained", held));
    return { ok: true, spread, message: t("probe.persistence.moved", { ...held, drained: listDrained(off) }) };
  },
};
