/**
 * Packet captures on every node of an instance while a traffic probe runs: the shell
 * scripts that start and stop them, and pure parsers for what they print. trace.ts reads
 * the parsed captures to tell where the packets went.
 */
import { createHash } from "node:crypto";
import { parseAddresses, parseLinks, parseNeighbours, parseRoutes, type InterfaceAddress, type Route } from "./command-output.js";

/** One captured frame, as `tcpdump -i any -nn -e -tt -S` prints it. */
export interface Packet {
  time: number;
  iface: string;
  /** In, Out, B (broadcast), M (multicast) or P (to another host). */
  direction: string;
  /** The link-layer source address (a `-i any` capture keeps only that one). */
  mac?: string;
  src: string;
  dst: string;
  /** IP-in-IP: the outer header; src/dst/ports/flags are the inner packet's. */
  outer?: { src: string; dst: string };
  protocol: "tcp" | "icmp" | "arp" | "other";
  sport?: number;
  dport?: number;
  /** tcpdump's flags: "S", "S.", "R", "R.", "P.", "F." … */
  flags?: string;
  seq?: number;
  ack?: number;
  /** TCP payload bytes. */
  length?: number;
  /** ICMP: tcpdump's text, e.g. "10.0.1.210 tcp port 8000 unreachable"; ARP: the request or reply. */
  text?: string;
}

export interface NodeCapture {
  node: string;
  /** "complete": listening before the traffic started and still running after it. */
  state: "complete" | "not started" | "ended early";
  packets: Packet[];
  /** interface → MAC */
  links: Record<string, string>;
  addresses: InterfaceAddress[];
  routes: Route[];
  /** address → MAC, after the traffic */
  neighbours: Record<string, string>;
}

/** Frames for the probe's ports, tunnels, ICMP errors and ARP: what tells the path. */
export function captureFilter(ports: number[]): string {
  const tcp = [...new Set(ports)].sort((a, b) => a - b).map((p) => `tcp port ${p}`);
  return [...tcp, "ip proto 4", "icmp", "arp"].join(" or ");
}

/** A stable name for one probe's capture files, so that round 2 finds what round 0 started. */
export function captureId(probe: object): string {
  return `lvs-lab-cap-${createHash("sha256").update(JSON.stringify(probe)).digest("hex").slice(0, 10)}`;
}

const SECTION = { links: "--- links", addresses: "--- addresses", routes: "--- routes", capture: "--- capture", packets: "--- packets", neighbours: "--- neighbours" };

/**
 * Round 0: start tcpdump, read the node's interfaces while it starts, then wait until it
 * listens. It prints text at once (-l), so stopping it needs no second tcpdump to read a
 * file. -p: no promiscuous mode (only frames for this node); -S: absolute sequence
 * numbers, the same on every node; -Z root: stay root, so the probe may stop it later;
 * --immediate-mode: without it packets wait in the kernel ring for up to a second;
 * `timeout`: a check that dies halfway leaves no tcpdump behind.
 */
export function startCaptureScript(id: string, filter: string, limitSeconds: number): string {
  return (
    // A capture that an interrupted check left running goes first (only if it is that capture).
    `p=$(cat /tmp/${id}.pid 2>/dev/null) && grep -q ${id} /proc/$p/cmdline 2>/dev/null && kill -INT $p; ` +
    `rm -f /tmp/${id}.*; (timeout ${limitSeconds} tcpdump -Z root -p -i any -nn -e -tt -S -l --immediate-mode '${filter}' >/tmp/${id}.txt 2>/tmp/${id}.log & echo $! >/tmp/${id}.pid); ` +
    `echo '${SECTION.links}'; ip -o link; echo '${SECTION.addresses}'; ip -o -4 addr; echo '${SECTION.routes}'; ip -4 route; ` +
    `echo '${SECTION.capture}'; for i in $(seq 100); do grep -q listening /tmp/${id}.log 2>/dev/null && break; sleep 0.02; done; grep -q listening /tmp/${id}.log && echo started`
  );
}

/**
 * Round 2: stop tcpdump and print what it saw. The exec that starts this round comes after
 * the requests ended, which is time enough for the last frames in flight.
 */
export function stopCaptureScript(id: string): string {
  return (
    `echo '${SECTION.capture}'; pid=$(cat /tmp/${id}.pid); if kill -INT $pid 2>/dev/null; then echo stopped; else echo ended early; fi; ` +
    `for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.01; done; echo '${SECTION.packets}'; head -n 5000 /tmp/${id}.txt; echo '${SECTION.neighbours}'; ip neigh; rm -f /tmp/${id}.*`
  );
}

function section(output: string, name: string): string {
  const start = output.indexOf(name + "\n");
  if (start < 0) return "";
  const rest = output.slice(start + name.length + 1);
  const next = rest.search(/^--- [a-z]+$/m);
  return next < 0 ? rest : rest.slice(0, next);
}

export function parseCapture(node: string, started: string, stopped: string): NodeCapture {
  return {
    node,
    state: !/^started$/m.test(section(started, SECTION.capture)) ? "not started" : /^stopped$/m.test(section(stopped, SECTION.capture)) ? "complete" : "ended early",
    links: parseLinks(section(started, SECTION.links)),
    addresses: parseAddresses(section(started, SECTION.addresses)),
    routes: parseRoutes(section(started, SECTION.routes)),
    packets: parsePackets(section(stopped, SECTION.packets)),
    neighbours: parseNeighbours(section(stopped, SECTION.neighbours)),
  };
}

// The link-layer address is absent or shorter on tunnels (tunl0 carries a 4-byte one).
const HEAD = /^(\d+\.\d+) (\S+)\s+(In|Out|B|M|P)\s+ifindex \d+ (?:([0-9a-f]{2}(?::[0-9a-f]{2})*) )?ethertype (\S+) \(0x[0-9a-f]+\), length \d+: (.*)$/;
/** "10.0.1.5.8000" is an address and a port, "10.0.1.5" an address only. */
function endpoint(text: string): { address: string; port?: number } {
  const parts = text.split(".");
  return parts.length === 5 ? { address: parts.slice(0, 4).join("."), port: Number(parts[4]) } : { address: text };
}

/** The IP part of a line: "A.p > B.q: Flags [S], seq N, …" or ICMP, maybe inside IP-in-IP. */
function parseIp(body: string): Omit<Packet, "time" | "iface" | "direction" | "mac"> | undefined {
  const m = /^([\d.]+) > ([\d.]+): (.*)$/.exec(body);
  if (!m) return undefined;
  const from = endpoint(m[1]!);
  const to = endpoint(m[2]!);
  const rest = m[3]!;
  // IP-in-IP: a second "A > B:" follows (tcpdump 4.99 adds no "(ipip-proto-4)" with -e; older ones did).
  if (/^(?:IP )?[\d.]+ > [\d.]+: /.test(rest)) {
    const inner = parseIp(rest.replace(/^IP /, "").replace(/\s*\(ipip-proto-4\)$/, ""));
    return inner ? { ...inner, outer: { src: from.address, dst: to.address } } : undefined;
  }
  const tcp = /^Flags \[([^\]]+)\](?:, seq (\d+)(?::\d+)?)?(?:, ack (\d+))?.*?, length (\d+)/.exec(rest);
  if (tcp) {
    return {
      protocol: "tcp",
      src: from.address,
      dst: to.address,
      sport: from.port,
      dport: to.port,
      flags: tcp[1]!,
      ...(tcp[2] ? { seq: Number(tcp[2]) } : {}),
      ...(tcp[3] ? { ack: Number(tcp[3]) } : {}),
      length: Number(tcp[4]),
    };
  }
  const icmp = /^ICMP (.*?)(?:, length \d+)?$/.exec(rest);
  if (icmp) return { protocol: "icmp", src: from.address, dst: to.address, text: icmp[1]! };
  return { protocol: "other", src: from.address, dst: to.address, text: rest };
}

/** `tcpdump -i any -nn -e -tt -S` (tcpdump 4.99): one Packet per line it understands. */
export function parsePackets(text: string): Packet[] {
  const packets: Packet[] = [];
  for (const line of text.split("\n")) {
    const m = HEAD.exec(line.trim());
    if (!m) continue;
    const head = { time: Number(m[1]), iface: m[2]!, direction: m[3]!, ...(m[4] ? { mac: m[4] } : {}) };
    const body = m[6]!;
    if (m[5] === "ARP") {
      const arp = /^(Request who-has [\d.]+ tell [\d.]+|Reply [\d.]+ is-at [0-9a-f:]+)/.exec(body);
      const addresses = [...(arp?.[1] ?? "").matchAll(/[\d]+\.[\d]+\.[\d]+\.[\d]+/g)].map((a) => a[0]);
      if (arp) packets.push({ ...head, protocol: "arp", src: addresses[1] ?? addresses[0]!, dst: addresses[0]!, text: arp[1]! });
      continue;
    }
    const ip = parseIp(body);
    if (ip) packets.push({ ...head, ...ip });
  }
  return packets;
}
