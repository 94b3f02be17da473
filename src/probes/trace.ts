/**
 * Where did a request go? Follows one connection's SYN from the client through the
 * captures of every node (same TCP sequence number, whatever rewrote its addresses), then
 * the answer back, and says per node what happened: arrived, rewritten, wrapped in IPIP,
 * answered, dropped. Pure: captures in, one sentence per hop out.
 */
import { contains, isCidr, parseCidr } from "../topology/ipv4.js";
import type { NodeCapture, Packet } from "./capture.js";
import { addressWithOwner } from "./kinds/common.js";
import type { Hop, ProbeContext } from "./types.js";

export interface TracedRequest {
  /** The node that sent the requests. */
  from: string;
  host: string;
  port: number;
}

const CAPTURE_PROBLEM = { "not started": "tcpdump did not start there", "ended early": "tcpdump there stopped before the requests ended", complete: "" };

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
  const gateway = route?.via ? ` via ${addressWithOwner(ctx, route.via)}` : "";
  if (outside) return next.length ? `${gateway}, which passed it on to ${next[0]!.capture.node}` : `${gateway}, and no lab node received it`;
  return (
    " to " +
    next
      .map((n) => {
        const mac = n.capture.links[n.packet.iface];
        // Sent on the link to a node that does not own the address (a VIP, DR): the MAC decided.
        const owned = Object.values(ctx.topology.nodes[n.capture.node]?.addresses ?? {}).includes(target);
        if (!mac || owned || route?.via) return n.capture.node;
        return `${n.capture.node}'s MAC ${mac}${from.neighbours[target] === mac ? ` (its ARP entry for ${target})` : ""}`;
      })
      .join(" and ")
  );
}

/** What a node did to a packet between arriving and leaving. */
function rewrite(ctx: ProbeContext, arrived: Packet, left: Packet): string {
  const changes: string[] = [];
  if (left.outer && !arrived.outer) changes.push(`wrapped in IPIP to ${addressWithOwner(ctx, left.outer.dst)}`);
  if (arrived.dst !== left.dst || arrived.dport !== left.dport) changes.push(`destination rewritten to ${endpoint(left.dst, left.dport)}`);
  if (arrived.src !== left.src || arrived.sport !== left.sport) changes.push(`source rewritten to ${endpoint(left.src, left.sport)}`);
  if (arrived.outer && !left.outer) changes.push("unwrapped");
  return changes.length ? changes.join(", ") : "forwarded unchanged";
}

/** "SYN arrived on eth0"; for IP-in-IP, who wrapped it and, where it ends, whether it was unwrapped. */
function arrival(ctx: ProbeContext, capture: NodeCapture, packet: Packet, name: string, final: boolean): string {
  if (!packet.outer) return `${name} arrived on ${packet.iface}`;
  const from = `IPIP from ${addressWithOwner(ctx, packet.outer.src)} arrived on ${packet.iface}`;
  if (!final) return from;
  const unwrapped = inner(capture, packet);
  return unwrapped !== packet ? `${from}, unwrapped on ${unwrapped.iface}` : `${from}, not unwrapped`;
}

interface Walk {
  hops: Hop[];
  /** The last node the packet reached, and the packet there. */
  end: Seen;
  /** Set when the packet left that node and no lab node received it. */
  left?: Packet;
  visited: string[];
}

/**
 * Follows one packet (as `match` recognises it through every rewrite) from where it was
 * sent, node to node, until it stops, leaves the lab or reaches `goal`. `head` tells
 * what the first node sent.
 */
function walk(ctx: ProbeContext, captures: NodeCapture[], start: Seen, match: Match, goal: string, head: string, name: string): Walk {
  const hops: Hop[] = [];
  const visited = new Set([start.capture.node]);
  let here = start;
  for (;;) {
    const arrived = here === start ? undefined : here.packet;
    const left = arrived ? first(here.capture, "Out", match, arrived.time) : here.packet;
    if (!left) return { hops, end: here, visited: [...visited] };
    const { next, outside } = receivers(captures, visited, match, here.capture, left);
    const what = arrived ? `${arrival(ctx, here.capture, arrived, name, false)}, ${rewrite(ctx, inner(here.capture, arrived), left)}, left` : `${head} left`;
    hops.push({ node: here.capture.node, what: `${what} on ${left.iface}${destination(ctx, here.capture, left, next, outside)}` });
    if (!next.length) return { hops, end: here, left, visited: [...visited] };
    here = next[0]!;
    visited.add(here.capture.node);
    if (here.capture.node === goal) return { hops, end: here, visited: [...visited] };
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
function connections(client: NodeCapture, request: TracedRequest): Connection[] {
  const bySeq = new Map<number, Connection>();
  for (const p of client.packets) {
    if (p.direction !== "Out" || !isTcp(p, /^S$/) || p.dst !== request.host || p.dport !== request.port || p.seq === undefined) continue;
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
    if (icmp) return `ICMP "${icmp.text}" arrived from ${addressWithOwner(ctx, icmp.src)}`;
    return `nothing came back: the SYN was sent ${conn.tries === 1 ? "once" : `${conn.tries} times`}, unanswered`;
  }
  const from = endpoint(answer.src, answer.sport);
  if (/^R/.test(answer.flags ?? "")) return `RST arrived from ${from}: connection refused`;
  if (from !== expected) {
    const reset = client.packets.some((p) => p.direction === "Out" && isTcp(p, /^R/) && p.seq === isn + 1 && p.time >= answer.time - SLACK);
    return `SYN-ACK arrived from ${from} instead of ${expected}${reset ? ", so the client answered with RST" : ", and the client ignored it"}`;
  }
  return `SYN-ACK arrived from ${from}: connected${conn.answered ? " and answered" : ", but no answer to the request came back"}`;
}

/** What a node did with a SYN that it did not forward: answered, refused, dropped. */
function stopped(ctx: ProbeContext, at: Seen, isn: number): { what: string; answer?: Packet; icmp?: Packet } {
  const arrivedAt = arrival(ctx, at.capture, at.packet, "SYN", true);
  const syn = inner(at.capture, at.packet);
  const answer = first(at.capture, "Out", (p) => isTcp(p, /^(S\.|R)/) && p.ack === isn + 1, at.packet.time);
  if (answer && /^R/.test(answer.flags!)) {
    return { what: `${arrivedAt}; nothing listens on ${endpoint(syn.dst, syn.dport)}, so a RST to ${addressWithOwner(ctx, answer.dst)}`, answer };
  }
  if (answer) return { what: `${arrivedAt}; SYN-ACK from ${endpoint(answer.src, answer.sport)} to ${addressWithOwner(ctx, answer.dst)}`, answer };
  const senders = [syn.src, at.packet.outer?.src];
  const icmp = first(at.capture, "Out", (p) => p.protocol === "icmp" && senders.includes(p.dst), at.packet.time);
  if (icmp) return { what: `${arrivedAt}; ICMP "${icmp.text}" went back to ${addressWithOwner(ctx, icmp.dst)}`, icmp };
  // An ARP request the node sent right after the SYN came, that nobody answered: it had nowhere to send it.
  const unansweredArp = at.capture.packets.find(
    (p) =>
      p.direction === "Out" && p.protocol === "arp" && p.text?.startsWith("Request") && p.time >= at.packet.time - SLACK && p.time < at.packet.time + 1.5 &&
      !at.capture.packets.some((r) => r.direction === "In" && r.protocol === "arp" && r.src === p.dst && r.text?.startsWith("Reply")),
  );
  if (unansweredArp) return { what: `${arrivedAt}, but nobody answered its ARP request for ${addressWithOwner(ctx, unansweredArp.dst)}: dropped there` };
  const notMine = !at.packet.outer && !isOwnAddress(at.capture, syn.dst) ? `, but ${syn.dst} is not one of ${at.capture.node}'s addresses` : ", then went no further";
  return { what: `${arrivedAt}${notMine}: dropped there (neither answered nor forwarded)` };
}

/** A lab node that got an ICMP error meant for it, and what it told the client in turn (IPVS relays them). */
function icmpRelay(ctx: ProbeContext, captures: NodeCapture[], icmp: Packet, client: string): Hop | undefined {
  const relay = captures.find((c) => c.node !== client && isOwnAddress(c, icmp.dst));
  const got = relay && first(relay, "In", (p) => p.protocol === "icmp" && p.src === icmp.src && p.text === icmp.text, icmp.time);
  if (!relay || !got) return undefined;
  const sent = first(relay, "Out", (p) => p.protocol === "icmp" && p.src !== icmp.src, got.time);
  const onward = sent ? `it sent ICMP "${sent.text}" on to ${addressWithOwner(ctx, sent.dst)}` : "it told the client nothing";
  return { node: relay.node, what: `ICMP "${got.text}" arrived on ${got.iface}; ${onward}` };
}

/** The hops of the first failed request (or of the first request when none failed). */
export function tracePath(captures: NodeCapture[], request: TracedRequest, ctx: ProbeContext): Hop[] {
  const target = endpoint(request.host, request.port);
  const client = captures.find((c) => c.node === request.from);
  const blind: Hop[] = captures.filter((c) => c.state !== "complete").map((c) => ({ node: c.node, what: `its packets are unknown: ${CAPTURE_PROBLEM[c.state]}` }));
  if (!client || client.state !== "complete") return blind.filter((h) => h.node === request.from);
  const all = connections(client, request);
  const conn = all.find((c) => !c.answered) ?? all[0];
  if (!conn) {
    const arp = client.packets.find((p) => p.direction === "Out" && p.protocol === "arp");
    const unanswered = arp && !client.packets.some((p) => p.direction === "In" && p.protocol === "arp" && p.src === arp.dst);
    return [...blind, { node: request.from, what: `no SYN to ${target} left ${request.from}${unanswered ? `: nobody answered its ARP request for ${addressWithOwner(ctx, arp.dst)}` : ""}` }];
  }
  const isn = conn.syn.seq!;
  const isSyn: Match = (p) => isTcp(p, /^S$/) && p.seq === isn;
  const there = walk(ctx, captures, { capture: client, packet: conn.syn }, isSyn, "", `SYN to ${target}`, "SYN");
  const hops = [...blind, ...there.hops];
  if (there.left) return [...hops, { node: request.from, what: clientEnd(ctx, client, request, conn, undefined) }];

  const end = stopped(ctx, there.end, isn);
  if (!end.answer) {
    const relay = end.icmp && icmpRelay(ctx, captures, end.icmp, request.from);
    return [...hops, { node: there.end.capture.node, what: end.what }, ...(relay ? [relay] : []), { node: request.from, what: clientEnd(ctx, client, request, conn, undefined) }];
  }
  const kind = /^R/.test(end.answer.flags!) ? "RST" : "SYN-ACK";
  const isAnswer: Match = (p) => isTcp(p, kind === "RST" ? /^R/ : /^S\.$/) && p.ack === isn + 1;
  const back = walk(ctx, captures, { capture: there.end.capture, packet: end.answer }, isAnswer, request.from, end.what, kind);
  // A node that rewrote the request must see the answer, and rewrite it back.
  const rewriters = new Set(there.hops.filter((h) => h.what.includes("destination rewritten")).map((h) => h.node));
  const notBack = `its source was not rewritten back to ${target}`;
  hops.push(...back.hops.map((h) => (rewriters.has(h.node) && h.what.includes("forwarded unchanged") ? { ...h, what: h.what.replace("forwarded unchanged", `forwarded unchanged (${notBack})`) } : h)));
  const reachedClient = back.end.capture.node === request.from;
  if (!reachedClient) {
    for (const node of [...rewriters].filter((n) => !back.visited.includes(n))) hops.push({ node, what: `the ${kind} never came back through here, so ${notBack}` });
  }
  return [...hops, { node: request.from, what: clientEnd(ctx, client, request, conn, reachedClient ? back.end.packet : undefined) }];
}

/** The hops as one line: "client: … → director: … → rs1: …". */
export function pathSummary(path: Hop[]): string {
  return path.map((h) => `${h.node}: ${h.what}`).join(" → ");
}
