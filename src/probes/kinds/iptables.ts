import { z } from "zod";
import { parseIptablesSave } from "../netfilter/iptables-save.js";
import { TERMINAL_TARGETS, ruleApplies, type Action, type Hook, type Packet, type Rule, type Table } from "../netfilter/model.js";
import { parseNftRuleset } from "../netfilter/nft.js";
import { walkHook, type Hit, type Walk } from "../netfilter/walk.js";
import type { CommandOutput, ProbeContext, ProbeKind, Verdict } from "../types.js";
import { failingReasons } from "../netfilter/reasons.js";
import { t } from "../../i18n/index.js";
import { probeBase, addressWithOwner, withExplain } from "./common.js";

const CHAINS_OF_TABLE = {
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  raw: ["PREROUTING", "OUTPUT"],
} as const;
type TableName = keyof typeof CHAINS_OF_TABLE;

/** nftables chain types that do the work of each iptables table. */
const NFT_TYPES: Record<TableName, string[]> = { nat: ["nat"], filter: ["filter"], mangle: ["filter", "route"], raw: ["filter"] };

const text = z.union([z.string(), z.number()]).transform(String);

const schema = z
  .object({
    kind: z.literal("iptables"),
    ...probeBase,
    table: z.enum(["filter", "nat", "mangle", "raw"]).default("filter"),
    /** The iptables chain; for native nftables, the base chains on the same hook. */
    chain: z.enum(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]),
    /** The lab's traffic: the first packet of its connection, as far as it matters here. */
    packet: z
      .object({ in: z.string().optional(), out: z.string().optional(), source: z.string().optional(), destination: z.string().optional(), protocol: z.string().optional(), dport: text.optional() })
      .strict(),
    /** What a rule must do to that packet: the target, and for DNAT/SNAT "addr:port" or "addr". */
    action: z.object({ target: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an iptables target such as DNAT, SNAT, MASQUERADE, ACCEPT or DROP"), to: text.optional() }).strict(),
    /** false: no rule may do this to the packet. */
    present: z.boolean().default(true),
  })
  .strict()
  .refine((p) => (CHAINS_OF_TABLE[p.table] as readonly string[]).includes(p.chain), (p) => ({
    path: ["chain"],
    message: `the ${p.table} table has no ${p.chain} chain (it has ${CHAINS_OF_TABLE[p.table].join(", ")})`,
  }));
export type IptablesProbe = z.infer<typeof schema>;

const SCRIPTS = ["iptables-legacy-save 2>/dev/null", "iptables-nft-save 2>/dev/null", "nft -a list ruleset", "nft -j list ruleset"];

/** The packet the lesson describes, as the first packet of its connection: NEW, and a SYN for TCP. */
function packetOf(p: IptablesProbe): Packet {
  const { dport, protocol, ...rest } = p.packet;
  const tcp = protocol?.toLowerCase() === "tcp";
  return {
    ...rest,
    ...(protocol ? { protocol: protocol.toLowerCase() } : {}),
    ...(dport !== undefined && /^\d+$/.test(dport) ? { dport: Number(dport) } : {}),
    state: "NEW",
    ...(tcp ? { tcpflags: "SYN" } : {}),
  };
}

/** "the client's packets", or "the packets for 198.51.100.50:8001" when the sender is not a node. */
function packetsPhrase(packet: Packet, ctx: ProbeContext): string {
  const sender = packet.source ? Object.values(ctx.topology.nodes).find((n) => Object.values(n.addresses).includes(packet.source!))?.name : undefined;
  if (sender) return sender === "client" ? t("probe.iptables.clientPackets") : t("probe.iptables.nodePackets", { sender });
  const port = packet.dport === undefined ? "" : packet.destination ? `:${packet.dport}` : t("probe.iptables.port", { port: packet.dport });
  return packet.destination || port ? t("probe.iptables.packetsFor", { what: `${packet.destination ?? ""}${port}` }) : t("probe.iptables.packets");
}

function endpoint(to: string, ctx: ProbeContext): string {
  const [host, port] = to.split(":");
  if (!host) return t("probe.iptables.port", { port });
  const owner = addressWithOwner(ctx, host).slice(host.length);
  return `${to}${owner}`;
}

/** Where a DNAT really sends the packet: a missing port keeps the packet's own. */
function effectiveTo(action: Action, packet: Packet): string | undefined {
  if (action.target !== "DNAT" || action.to === undefined) return action.to;
  if (action.to.startsWith(":")) return packet.destination ? `${packet.destination}${action.to}` : action.to;
  return action.to.includes(":") || packet.dport === undefined ? action.to : `${action.to}:${packet.dport}`;
}

function sameTo(actual: string | undefined, wanted: string | undefined): boolean {
  if (wanted === undefined) return true;
  if (actual === undefined) return false;
  return wanted.includes(":") ? actual === wanted : actual.split(":")[0] === wanted;
}

/** Targets with a verb of their own in the catalogue; others "apply TARGET to" the packets. */
const VERBS = ["DNAT", "SNAT", "MASQUERADE", "ACCEPT", "DROP", "REJECT", "REDIRECT", "TCPMSS", "LOG"] as const;
type Verb = (typeof VERBS)[number] | "other";
const verbOf = (target: string): Verb => ((VERBS as readonly string[]).includes(target) ? (target as Verb) : "other");

/** "10.0.1.210:8000 (rs1)", "port 8080", "fit the path MTU". */
function destinationOf(action: Action & { to: string }, ctx: ProbeContext): string {
  if (action.target === "DNAT" || action.target === "SNAT") return endpoint(action.to, ctx);
  if (action.target === "TCPMSS") return action.to === "pmtu" ? t("probe.iptables.pathMtu") : action.to;
  return action.target === "REDIRECT" || action.target === "MASQUERADE" ? t("probe.iptables.port", { port: action.to }) : action.to;
}

function does(action: Action, packets: string, ctx: ProbeContext): string {
  const verb = verbOf(action.target);
  if (action.to === undefined) return t(`probe.iptables.does.${verb}`, { packets, target: action.target });
  return t(`probe.iptables.doesTo.${verb}`, { packets, target: action.target, to: destinationOf({ ...action, to: action.to }, ctx) });
}

/** `rule "…" (iptables-nft)`; the label is left out of failures for plain iptables, the lab's default. */
function source(table: Table, rule: Rule | undefined, chain: string, always: boolean): string {
  const label = always || table.backend !== "iptables-nft" ? t("probe.iptables.backend", { backend: table.backend }) : "";
  return rule ? t("probe.iptables.rule", { text: rule.text, label }) : t("probe.iptables.policy", { chain, label });
}
const hitSource = (hit: Hit, always: boolean) => source(hit.table, hit.rule, hit.chain.name, always);

const hookRole = (hook: Hook, node: string) => t(`probe.iptables.hook.${hook}`, { node });

interface Reading {
  tables: Table[];
  walk: Walk;
}

function read(p: IptablesProbe, outputs: CommandOutput[], packet: Packet): Reading {
  const [legacy, nft, listing, json] = outputs.map((o) => o.output);
  const iptablesNft = parseIptablesSave(nft!, "iptables-nft");
  const native = parseNftRuleset(json!, listing!, new Set(iptablesNft.map((t) => t.name)));
  const tables = [...parseIptablesSave(legacy!, "iptables-legacy"), ...iptablesNft].filter((t) => t.name === p.table).concat(native);
  return { tables, walk: walkHook(tables, p.chain.toLowerCase() as Hook, [p.table, ...NFT_TYPES[p.table]], packet) };
}

/**
 * Why the wanted action did not happen, from the rules that have its target. `ownRule`: the
 * verdict names a rule the learner wrote, which is then the cause; the probe's `explain` (a
 * guess for when no such rule is there, e.g. a command iptables refused) would mislead.
 */
function explainMiss(p: IptablesProbe, reading: Reading, packet: Packet, ctx: ProbeContext): { message: string; ownRule: boolean } {
  const message = ruleMiss(p, reading, packet, ctx);
  return message === undefined ? { message: noRuleMiss(p, reading, packet, ctx), ownRule: false } : { message, ownRule: true };
}

/** The miss told by the learner's own rule with the wanted target, if there is one. */
function ruleMiss(p: IptablesProbe, { tables, walk }: Reading, packet: Packet, ctx: ProbeContext): string | undefined {
  const packets = packetsPhrase(packet, ctx);
  const wanted: Action = p.action;
  const ruleRef = (table: Table, rule: Rule) => source(table, rule, "", false);
  const sameTarget = walk.hits.find((h) => h.action.target === wanted.target);
  if (sameTarget && wanted.to !== undefined) {
    const actual = { ...sameTarget.action, to: effectiveTo(sameTarget.action, packet) };
    return t("probe.iptables.notTo", { node: p.node, source: hitSource(sameTarget, false), does: does(actual, packets, ctx), to: destinationOf({ ...wanted, to: wanted.to }, ctx) });
  }
  const candidates = tables.flatMap((table) =>
    table.chains.flatMap((chain) => chain.rules.filter((r) => r.action?.target === wanted.target).map((rule) => ({ table, chain, rule, check: ruleApplies(rule, packet) }))),
  );
  const rightTo = (c: (typeof candidates)[number]) => sameTo(effectiveTo(c.rule.action!, packet), wanted.to);
  // The rule the learner most likely meant: on the packet's path, closest to catching it, sending it the right way.
  const rank = (c: (typeof candidates)[number]) => {
    const onPath = walk.visited.has(c.chain);
    const holding = c.rule.matches.length - c.check.failing.length;
    const base = !onPath ? (c.chain.hook ? 3000 : 4000) : c.check.applies ? 0 : c.check.applies === false ? 1000 + 100 * c.check.failing.length - holding : 2000;
    return base + (rightTo(c) ? 0 : 50);
  };
  const best = candidates.sort((a, b) => rank(a) - rank(b))[0];
  if (best) {
    const { table, chain, rule, check } = best;
    if (!walk.visited.has(chain)) {
      if (!chain.hook) return t("probe.iptables.notJumpedTo", { node: p.node, rule: ruleRef(table, rule), chain: chain.name, packets });
      const where = table.backend.startsWith("nftables") ? t("probe.iptables.nftChain", { chain: chain.name, hook: chain.hook }) : chain.name;
      return t("probe.iptables.wrongHook", { node: p.node, rule: ruleRef(table, rule), where, role: hookRole(chain.hook, p.node), packets, chain: p.chain });
    }
    if (check.applies === false) return t("probe.iptables.doesNotCatch", { node: p.node, rule: ruleRef(table, rule), packets, reasons: failingReasons(check.failing, packet, ctx) });
    if (check.applies === undefined) {
      return t("probe.iptables.mayCatch", { node: p.node, rule: ruleRef(table, rule), packets, what: check.unknown.join(t("probe.iptables.cannotJoin")) });
    }
    const drop = walk.hits.find((h) => h.action.target === "DROP" || h.action.target === "REJECT");
    if (drop && walk.hits.some((h) => h.rule === rule)) {
      const them = t("probe.iptables.them");
      return t("probe.iptables.droppedLater", { node: p.node, drop: hitSource(drop, true), dropDoes: does(drop.action, packets, ctx), rule: source(table, rule, "", true), ruleDoes: does(rule.action!, them, ctx) });
    }
    const first = walk.hits.find((h) => h.rule && h.rule !== rule && h.table === table && TERMINAL_TARGETS.has(h.action.target));
    if (first) return t("probe.iptables.caughtFirst", { node: p.node, first: hitSource(first, false), packets, target: first.action.target, rule: rule.text });
  }
  return undefined;
}

/** The miss where no rule of the learner's explains it: another verdict decided, or none is there. */
function noRuleMiss(p: IptablesProbe, { walk }: Reading, packet: Packet, ctx: ProbeContext): string {
  const packets = packetsPhrase(packet, ctx);
  const wanted: Action = p.action;
  // An ACCEPT lets the packet on to the next table: only a verdict that ends its way explains a miss.
  const decider = walk.hits.find((h) => TERMINAL_TARGETS.has(h.action.target) && h.action.target !== "ACCEPT");
  const ambiguous = walk.ambiguous[0];
  const unsure = ambiguous
    ? t("probe.iptables.skipped", { rule: ambiguous.rule.text, what: ruleApplies(ambiguous.rule, packet).unknown.join(t("probe.iptables.cannotJoin")) })
    : "";
  if (decider) {
    const wantedDoes = does(wanted, t("probe.iptables.them"), ctx);
    return t("probe.iptables.decided", { node: p.node, source: hitSource(decider, false), does: does(decider.action, packets, ctx), wanted: wantedDoes, unsure });
  }
  return t("probe.iptables.noRule", { node: p.node, table: p.table, chain: p.chain, does: does(wanted, packets, ctx), unsure });
}

function judge(p: IptablesProbe, outputs: CommandOutput[], ctx: ProbeContext): Verdict {
  const packet = packetOf(p);
  const reading = read(p, outputs, packet);
  const packets = packetsPhrase(packet, ctx);
  const { hits } = reading.walk;
  const matching = hits.filter((h) => h.action.target === p.action.target && sameTo(effectiveTo(h.action, packet), p.action.to));
  // An ACCEPT in one table does not save the packet from a DROP in the next one on the hook.
  const droppedLater = p.action.target === "ACCEPT" && hits.some((h) => h.action.target === "DROP" || h.action.target === "REJECT");
  const done = droppedLater ? undefined : (matching.find((h) => h.rule) ?? matching[0]);
  if (!p.present) {
    if (!done) return { ok: true, message: t("probe.iptables.noneOk", { node: p.node, does: does(p.action, packets, ctx) }) };
    return { ok: false, message: withExplain(t("probe.iptables.still", { node: p.node, source: hitSource(done, true), does: does(done.action, packets, ctx) }), p) };
  }
  if (done) return { ok: true, message: t("probe.iptables.ok", { node: p.node, source: hitSource(done, true), does: does(p.action, packets, ctx) }) };
  const miss = explainMiss(p, reading, packet, ctx);
  return { ok: false, message: miss.ownRule ? miss.message : withExplain(miss.message, p) };
}

export const iptablesProbe: ProbeKind<IptablesProbe> = {
  kind: "iptables",
  schema,
  describe: (p) => {
    const { packet: k, action } = p;
    const what = [
      k.protocol,
      k.destination ? `${k.destination}${k.dport ? `:${k.dport}` : ""}` : k.dport ? t("probe.iptables.port", { port: k.dport }) : "",
      k.in && t("probe.iptables.describeIn", { iface: k.in }),
      k.out && t("probe.iptables.describeOut", { iface: k.out }),
      k.source && t("probe.iptables.describeFrom", { source: k.source }),
    ];
    const verdict = p.present ? action.target : t("probe.iptables.describeNo", { target: action.target });
    const to = action.to ? t("probe.iptables.describeTo", { to: action.to }) : "";
    return p.title ?? t("probe.iptables.describe", { node: p.node, table: p.table, chain: p.chain, verdict, to, what: what.filter(Boolean).join(" ") });
  },
  // Every back-end: a rule added with iptables-legacy is invisible to iptables-nft and to nft, and vice versa.
  collect: (p) => SCRIPTS.map((script) => ({ round: 0 as const, node: p.node, script })),
  judge,
};
