/**
 * Where did a request go? Follows one connection's SYN from the client through the
 * captures of every node (same TCP sequence number, whatever rewrote its addresses), then
 * the answer back, and says per node what happened: arrived, rewritten, wrapped in IPIP,
 * answered, dropped. Pure: captures in, one sentence per hop out.
 */
import { t } from "../i18n/index.js";
import { contains, isCidr, parseCidr } from "../topology/ipv4.js";
import type { NodeCapture, Packet } from "./capture.js";
import { addressWithOwner } from "./kinds/common.js";
import type { Hop, ProbeContext } from "./types.js";

export interface TracedRequest {
  /** The node that sent the requests. */
  from: string;
  host: string;
  port: number;
  /** The node that should get the sender's packets first (the director holding the VIP). */
  director: string;
  /** When set, every request must pass through this node and go on from it. */
  through?: string;
}

/** Where the requests went, and what that says about the cause of a failure. */
export interface RequestTrace {
  hops: Hop[];
  /** The cause the packets show, one sentence without a final stop; absent when they show none. */
  cause?: string;
  /** Every request passed through `through` and went on; undefined when the sender's capture is incomplete. */
  passedThrough?: boolean;
}

const CAPTURE_PROBLEM = { "not started": "probe.http.captureNotStarted", "ended early": "probe.http.captureEndedEarly" } as const;

/** Capture timestamps come from one kernel; a little slack for equal stamps. */
const SLACK = 0.001;

type Match = (p: Packet) => boolean;

interface Seen {
  capture: NodeCapture;
  packet: Packet;
}

const isTcp = (p: Packet, flags: RegExp) => p.protocol === "tcp" && flags.test(p.flags ?? "");

function first(capture: NodeCapture, direction: string, match: Match, after: number): Packet | undefined {
  return capture.packets.find((p) => p.direction === direction && p.time >= after - SLACK && match(p));
}

/**
 * The nodes that received a packet one node sent: frames whose link-layer source is the
 * sender's interface. Failing those, nodes that got it from a MAC outside the lab (Docker's
 * gateway passed it on), with `outside` set.
 */
function receivers(captures: NodeCapture[], skip: Set<string>, match: Match, from: NodeCapture, left: Packet): { next: Seen[]; outside: boolean } {
  const got = captures
    .filter((c) => !skip.has(c.node))
    .flatMap((capture) => {
      const packet = first(capture, "In", match, left.time);
      return packet ? [{ capture, packet }] : [];
    })
    .sort((a, b) => a.packet.time - b.packet.time);
  const senderMac = from.links[left.iface];
  if (!senderMac) return { next: got.slice(0, 1), outside: false };
  const direct = got.filter((g) => g.packet.mac === senderMac);
  if (direct.length) return { next: direct, outside: false };
  const labMacs = new Set(captures.flatMap((c) => Object.values(c.links)));
  return { next: got.filter((g) => g.packet.mac && !labMacs.has(g.packet.mac)).slice(0, 1), outside: true };
}

const endpoint = (address: string, port?: number) => (port === undefined ? address : `${address}:${port}`);

/** The route a node picks for an address: longest prefix first. */
function routeTo(capture: NodeCapture, address: string): { via?: string; dev?: string } | undefined {
  let best: { via?: string; dev?: string; prefix: number } | undefined;
  for (const r of capture.routes) {
    const cidr = r.to === "default" ? "0.0.0.0/0" : r.to.includes("/") ? r.to : `${r.to}/32`;
    if ((r.table && r.table !== "main") || !isCidr(cidr)) continue;
    const block = parseCidr(cidr);
    if (contains(block, address) && (!best || block.prefix > best.prefix)) best = { via: r.via, dev: r.dev, prefix: block.prefix };
  }
  return best;
}

function isOwnAddress(capture: NodeCapture, address: string): boolean {
  return capture.addresses.some((a) => a.address === address);
}

/** Where a packet went: "to rs1", or where it left the lab. */
function destination(ctx: ProbeContext, from: NodeCapture, sent: Packet, next: Seen[], outside: boolean): string {
  const target = sent.outer?.dst ?? sent.dst;
  const route = routeTo(from, target);
  const via = route?.via ? t("trace.via", { gateway: addressWithOwner(ctx, route.via) }) : "";
  if (outside) return next.length ? t("trace.passedOn", { via, node: next[0]!.capture.node }) : t("trace.leftTheLab", { via });
  const receivers = next.map((n) => {
    const node = n.capture.node;
    const mac = n.capture.links[n.packet.iface];
    // Sent on the link to a node that does not own the address (a VIP, DR): the MAC decided.
    const owned = Object.values(ctx.topology.nodes[node]?.addresses ?? {}).includes(target);
    if (!mac || owned || route?.via) return node;
    return from.neighbours[target] === mac ? t("trace.macFromArp", { node, mac, sender: from.node, address: target }) : t("trace.mac", { node, mac });
  });
  return t("trace.to", { receivers: receivers.join(t("trace.receiverJoin")) });
}

const rewroteDestination = (arrived: Packet, left: Packet) => arrived.dst !== left.dst || arrived.dport !== left.dport;

/**
 * What a node did to a packet between arriving and leaving. `unchangedNote` says why an
 * unchanged packet matters here (a reply that a rewriting node should have rewritten back).
 */
function rewrite(ctx: ProbeContext, arrived: Packet, left: Packet, unchangedNote?: string): string {
  const changes: string[] = [];
  if (left.outer && !arrived.outer) changes.push(t("trace.wrapped", { to: addressWithOwner(ctx, left.outer.dst) }));
  if (rewroteDestination(arrived, left)) changes.push(t("trace.destinationRewritten", { to: endpoint(left.dst, left.dport) }));
  if (arrived.src !== left.src || arrived.sport !== left.sport) changes.push(t("trace.sourceRewritten", { to: endpoint(left.src, left.sport) }));
  if (arrived.outer && !left.outer) changes.push(t("trace.unwrapped"));
  if (changes.length) return changes.join(t("trace.changeJoin"));
  return unchangedNote ? t("trace.unchangedBecause", { note: unchangedNote }) : t("trace.unchanged");
}

/** "SYN arrived on eth0"; for IP-in-IP, who wrapped it and, where it ends, whether it was unwrapped. */
function arrival(ctx: ProbeContext, capture: NodeCapture, packet: Packet, name: string, final: boolean): string {
  if (!packet.outer) return t("trace.arrived", { name, iface: packet.iface });
  const from = t("trace.ipipArrived", { from: addressWithOwner(ctx, packet.outer.src), iface: packet.iface });
  if (!final) return from;
  const unwrapped = inner(capture, packet);
  return unwrapped !== packet ? t("trace.unwrappedOn", { arrival: from, iface: unwrapped.iface }) : t("trace.notUnwrapped", { arrival: from });
}

interface Walk {
  hops: Hop[];
  /** The last node the packet reached, and the packet there. */
  end: Seen;
  /** Set when the packet left that node and no lab node received it. */
  left?: Packet;
  /** The nodes the packet reached, in order. */
  visited: string[];
  /** The nodes that received the packet and sent it on. */
  forwardedBy: string[];
  /** The nodes that rewrote the packet's destination on the way. */
  rewroteDestination: string[];
}

/** For the way back: the nodes that rewrote the request, and what it means when they forward the answer unchanged. */
interface UnchangedAt {
  nodes: Set<string>;
  note: string;
}

/**
 * Follows one packet (as `match` recognises it through every rewrite) from where it was
 * sent, node to node, until it stops, leaves the lab or reaches `goal`. `head` tells
 * what the first node sent.
 */
function walk(ctx: ProbeContext, captures: NodeCapture[], start: Seen, match: Match, goal: string, head: string, name: string, unchangedAt?: UnchangedAt): Walk {
  const hops: Hop[] = [];
  const visited = new Set([start.capture.node]);
  const rewrote: string[] = [];
  const forwardedBy: string[] = [];
  let here = start;
  const done = (left?: Packet): Walk => ({ hops, end: here, ...(left ? { left } : {}), visited: [...visited], forwardedBy, rewroteDestination: rewrote });
  for (;;) {
    const node = here.capture.node;
    const arrived = here === start ? undefined : here.packet;
    const left = arrived ? first(here.capture, "Out", match, arrived.time) : here.packet;
    if (!left) return done();
    const { next, outside } = receivers(captures, visited, match, here.capture, left);
    const leaving = { iface: left.iface, destination: destination(ctx, here.capture, left, next, outside) };
    if (arrived) {
      const unwrapped = inner(here.capture, arrived);
      if (rewroteDestination(unwrapped, left)) rewrote.push(node);
      forwardedBy.push(node);
      const note = unchangedAt?.nodes.has(node) ? unchangedAt.note : undefined;
      hops.push({ node, what: t("trace.passedThrough", { arrival: arrival(ctx, here.capture, arrived, name, false), change: rewrite(ctx, unwrapped, left, note), ...leaving }) });
    } else {
      hops.push({ node, what: t("trace.sent", { head, ...leaving }) });
    }
    if (!next.length) return done(left);
    here = next[0]!;
    visited.add(here.capture.node);
    if (here.capture.node === goal) return done();
  }
}

/** An IPIP packet's inner copy on the tunnel interface, when the node unwrapped it. */
function inner(capture: NodeCapture, packet: Packet): Packet {
  if (!packet.outer) return packet;
  const unwrapped = (p: Packet) => p.direction === "In" && !p.outer && p.iface !== packet.iface && p.time >= packet.time - SLACK && p.seq === packet.seq && p.flags === packet.flags;
  return capture.packets.find(unwrapped) ?? packet;
}

interface Connection {
  syn: Packet;
  tries: number;
  answered: boolean;
}

/** The client's connections to the target, in order; answered = data came back. */
/**
 * The source ports of lvs-lab-monitor (image/monitor.py), above the kernel's ephemeral range:
 * its steady requests to the VIP are not the probe's, and one caught at the edge of the
 * capture window (seen leaving the client, not yet at the director) would count as a request
 * that did not pass through the director.
 */
export const MONITOR_PORTS = { first: 61000, last: 61999 };

const fromMonitor = (p: Packet) => p.sport !== undefined && p.sport >= MONITOR_PORTS.first && p.sport <= MONITOR_PORTS.last;

function connections(client: NodeCapture, request: TracedRequest): Connection[] {
  const bySeq = new Map<number, Connection>();
  for (const p of client.packets) {
    if (p.direction !== "Out" || !isTcp(p, /^S$/) || p.dst !== request.host || p.dport !== request.port || p.seq === undefined || fromMonitor(p)) continue;
    const known = bySeq.get(p.seq);
    if (known) known.tries++;
    else bySeq.set(p.seq, { syn: p, tries: 1, answered: false });
  }
  for (const c of bySeq.values()) {
    c.answered = client.packets.some((p) => p.direction === "In" && p.protocol === "tcp" && p.dport === c.syn.sport && p.time > c.syn.time && (p.length ?? 0) > 0);
  }
  return [...bySeq.values()];
}

/** What the client made of the answer, or of its absence. */
function clientEnd(ctx: ProbeContext, client: NodeCapture, request: TracedRequest, conn: Connection, answer: Packet | undefined): string {
  const isn = conn.syn.seq!;
  const expected = endpoint(request.host, request.port);
  if (!answer) {
    const icmp = client.packets.find((p) => p.direction === "In" && p.protocol === "icmp" && p.time >= conn.syn.time - SLACK);
    if (icmp) return t("trace.icmpArrived", { text: icmp.text, from: addressWithOwner(ctx, icmp.src) });
    return t("trace.nothingBack", { count: conn.tries });
  }
  const from = endpoint(answer.src, answer.sport);
  if (/^R/.test(answer.flags ?? "")) return t("trace.refused", { from });
  if (from !== expected) {
    const reset = client.packets.some((p) => p.direction === "Out" && isTcp(p, /^R/) && p.seq === isn + 1 && p.time >= answer.time - SLACK);
    return t(reset ? "trace.wrongSourceReset" : "trace.wrongSourceIgnored", { from, expected });
  }
  return t(conn.answered ? "trace.answered" : "trace.connectedUnanswered", { from });
}

/** What a node did with a SYN that it did not forward: answered, refused, dropped. */
function stopped(ctx: ProbeContext, at: Seen, isn: number): { what: string; answer?: Packet; icmp?: Packet } {
  const arrivedAt = arrival(ctx, at.capture, at.packet, "SYN", true);
  const syn = inner(at.capture, at.packet);
  const answer = first(at.capture, "Out", (p) => isTcp(p, /^(S\.|R)/) && p.ack === isn + 1, at.packet.time);
  if (answer && /^R/.test(answer.flags!)) {
    return { what: t("trace.nothingListens", { arrival: arrivedAt, endpoint: endpoint(syn.dst, syn.dport), to: addressWithOwner(ctx, answer.dst) }), answer };
  }
  if (answer) return { what: t("trace.synAck", { arrival: arrivedAt, from: endpoint(answer.src, answer.sport), to: addressWithOwner(ctx, answer.dst) }), answer };
  const senders = [syn.src, at.packet.outer?.src];
  const icmp = first(at.capture, "Out", (p) => p.protocol === "icmp" && senders.includes(p.dst), at.packet.time);
  if (icmp) return { what: t("trace.icmpBack", { arrival: arrivedAt, text: icmp.text, to: addressWithOwner(ctx, icmp.dst) }), icmp };
  // An ARP request the node sent right after the SYN came, that nobody answered: it had nowhere to send it.
  const unansweredArp = at.capture.packets.find(
    (p) =>
      p.direction === "Out" && p.protocol === "arp" && p.text?.startsWith("Request") && p.time >= at.packet.time - SLACK && p.time < at.packet.time + 1.5 &&
      !at.capture.packets.some((r) => r.direction === "In" && r.protocol === "arp" && r.src === p.dst && r.text?.startsWith("Reply")),
  );
  if (unansweredArp) return { what: t("trace.arpUnanswered", { arrival: arrivedAt, address: addressWithOwner(ctx, unansweredArp.dst) }) };
  if (!at.packet.outer && !isOwnAddress(at.capture, syn.dst)) return { what: t("trace.notOwnAddress", { arrival: arrivedAt, address: syn.dst, node: at.capture.node }) };
  return { what: t("trace.wentNoFurther", { arrival: arrivedAt }) };
}

/** A lab node that got an ICMP error meant for it, and what it told the client in turn (IPVS relays them). */
function icmpRelay(ctx: ProbeContext, captures: NodeCapture[], icmp: Packet, client: string): Hop | undefined {
  const relay = captures.find((c) => c.node !== client && isOwnAddress(c, icmp.dst));
  const got = relay && first(relay, "In", (p) => p.protocol === "icmp" && p.src === icmp.src && p.text === icmp.text, icmp.time);
  if (!relay || !got) return undefined;
  const sent = first(relay, "Out", (p) => p.protocol === "icmp" && p.src !== icmp.src, got.time);
  const onward = sent ? t("trace.icmpOnward", { text: sent.text, to: addressWithOwner(ctx, sent.dst) }) : t("trace.icmpNotRelayed");
  return { node: relay.node, what: t("trace.icmpRelayed", { text: got.text, iface: got.iface, onward }) };
}

const isDirectorRole = (ctx: ProbeContext, node: string) => ["director", "backup-director"].includes(ctx.topology.nodes[node]?.role ?? "");

/**
 * The client's packets for a VIP went first to a node other than the director: the
 * client's ARP entry for the VIP holds that node's MAC. A real server that holds the VIP
 * answered ARP for it; another director holds the VIP too (or instead).
 */
function wrongFirstNode(ctx: ProbeContext, captures: NodeCapture[], request: TracedRequest, there: Walk): string | undefined {
  const first = there.visited[1];
  const isVip = Object.values(ctx.topology.vips).some((v) => v.address === request.host);
  const got = captures.find((c) => c.node === first);
  if (!first || !got || first === request.director || !isVip || !isOwnAddress(got, request.host)) return undefined;
  const said = { node: first, director: request.director, address: request.host };
  if (ctx.topology.nodes[first]?.role === "realserver") return t("trace.cause.realServerAnsweredArp", said);
  const directorHolds = captures.some((c) => c.node === request.director && isOwnAddress(c, request.host));
  return t(directorHolds && isDirectorRole(ctx, request.director) ? "trace.cause.bothDirectorsHold" : "trace.cause.otherNodeHolds", said);
}

/** Why a SYN that reached a node went no further, when the node's own state tells. */
function whyDropped(ctx: ProbeContext, at: Seen): string | undefined {
  const syn = inner(at.capture, at.packet);
  if (syn !== at.packet) {
    // Unwrapped on the tunnel, but the route back to the sender leaves by another interface: strict rp_filter.
    const back = routeTo(at.capture, syn.src);
    if (back?.dev && back.dev !== syn.iface) {
      return t("trace.cause.reversePathFilter", { node: at.capture.node, tunnel: syn.iface, source: addressWithOwner(ctx, syn.src), dev: back.dev });
    }
    return undefined;
  }
  if (ctx.topology.nodes[at.capture.node]?.role === "realserver" && !isOwnAddress(at.capture, syn.dst)) {
    return t("trace.cause.notHisAddress", { node: at.capture.node, address: syn.dst });
  }
  return undefined;
}

/**
 * The server sent its answer by a gateway, past the node that rewrote the request, which
 * alone can rewrite the answer back (whether the answer then left the lab or reached the
 * client with the wrong source).
 */
function answerBypassed(ctx: ProbeContext, server: NodeCapture, answer: Packet, back: Walk, rewriters: Set<string>, request: TracedRequest, kind: string): string | undefined {
  const rewriter = [...rewriters].find((n) => !back.visited.includes(n));
  const via = routeTo(server, answer.dst)?.via;
  if (!rewriter || !via) return undefined;
  return t("trace.cause.answerBypassed", { node: server.node, kind, gateway: addressWithOwner(ctx, via), rewriter, client: addressWithOwner(ctx, answer.dst), target: endpoint(request.host, request.port) });
}

/**
 * Where the requests went: the hops of the first failed request (one that got no answer,
 * or that did not pass through `request.through`), or of the first request when none
 * failed, and the cause those hops show.
 */
export function traceRequest(captures: NodeCapture[], request: TracedRequest, ctx: ProbeContext): RequestTrace {
  const target = endpoint(request.host, request.port);
  const client = captures.find((c) => c.node === request.from);
  const blind: Hop[] = captures.flatMap((c) => (c.state === "complete" ? [] : [{ node: c.node, what: t("trace.unknown", { problem: t(CAPTURE_PROBLEM[c.state]) }) }]));
  if (!client || client.state !== "complete") return { hops: blind.filter((h) => h.node === request.from) };
  const all = connections(client, request);
  if (!all.length) {
    const arp = client.packets.find((p) => p.direction === "Out" && p.protocol === "arp");
    const unanswered = arp && !client.packets.some((p) => p.direction === "In" && p.protocol === "arp" && p.src === arp.dst);
    const what = unanswered ? t("trace.noSynArp", { target, node: request.from, address: addressWithOwner(ctx, arp.dst) }) : t("trace.noSyn", { target, node: request.from });
    return { hops: [...blind, { node: request.from, what }], ...(request.through ? { passedThrough: false } : {}) };
  }
  const walked = all.map((conn) => {
    const isn = conn.syn.seq!;
    const isSyn: Match = (p) => isTcp(p, /^S$/) && p.seq === isn;
    return { conn, isn, there: walk(ctx, captures, { capture: client, packet: conn.syn }, isSyn, "", t("trace.synTo", { target }), "SYN") };
  });
  const through = request.through;
  const missedThrough = (w: (typeof walked)[number]) => through !== undefined && !w.there.forwardedBy.includes(through);
  const passedThrough = through === undefined ? true : !walked.some(missedThrough);
  const { conn, isn, there } = walked.find((w) => !w.conn.answered || missedThrough(w)) ?? walked[0]!;
  const hops = [...blind, ...there.hops];
  const done = (more: Hop[], cause?: string): RequestTrace => ({ hops: [...hops, ...more], ...(cause ? { cause } : {}), passedThrough });
  const firstCause = wrongFirstNode(ctx, captures, request, there);
  if (there.left) return done([{ node: request.from, what: clientEnd(ctx, client, request, conn, undefined) }], firstCause);

  const end = stopped(ctx, there.end, isn);
  if (!end.answer) {
    const relay = end.icmp && icmpRelay(ctx, captures, end.icmp, request.from);
    const dropped = end.icmp ? undefined : whyDropped(ctx, there.end);
    return done([{ node: there.end.capture.node, what: end.what }, ...(relay ? [relay] : []), { node: request.from, what: clientEnd(ctx, client, request, conn, undefined) }], firstCause ?? dropped);
  }
  const kind = /^R/.test(end.answer.flags!) ? "RST" : "SYN-ACK";
  const isAnswer: Match = (p) => isTcp(p, kind === "RST" ? /^R/ : /^S\.$/) && p.ack === isn + 1;
  // A node that rewrote the request must see the answer, and rewrite it back.
  const rewriters = new Set(there.rewroteDestination);
  const notBack = t("trace.notRewrittenBack", { target });
  const back = walk(ctx, captures, { capture: there.end.capture, packet: end.answer }, isAnswer, request.from, end.what, kind, { nodes: rewriters, note: notBack });
  const more = [...back.hops];
  const reachedClient = back.end.capture.node === request.from;
  if (!reachedClient) {
    for (const node of [...rewriters].filter((n) => !back.visited.includes(n))) more.push({ node, what: t("trace.neverCameBack", { kind, notBack }) });
  }
  more.push({ node: request.from, what: clientEnd(ctx, client, request, conn, reachedClient ? back.end.packet : undefined) });
  return done(more, firstCause ?? answerBypassed(ctx, there.end.capture, end.answer, back, rewriters, request, kind));
}

/** The hops as one line: "client: … → director: … → rs1: …". */
export function pathSummary(path: Hop[]): string {
  return path.map((h) => `${h.node}: ${h.what}`).join(" → ");
}
