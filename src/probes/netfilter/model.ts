/**
 * One model for packet-filter rules read from iptables-legacy, iptables-nft and native
 * nftables, so that a probe can judge what they do to the lab's packet whichever tool
 * wrote them.
 */
import { blockContains, rangeContains } from "../ipv4.js";

/** The lab's packet: the first packet of the lab's connection, as far as the lesson describes it. */
export interface Packet {
  in?: string;
  out?: string;
  source?: string;
  destination?: string;
  protocol?: string;
  dport?: number;
  /** Conntrack state: always NEW, the packet opens the connection. */
  state?: string;
  /** TCP flags set, "SYN" for a TCP packet that opens a connection. */
  tcpflags?: string;
}
export type Field = keyof Packet;

/** A condition on one field; it holds when the field equals any of the values (or none, negated). */
export interface Match {
  field: Field;
  negated: boolean;
  /**
   * "eth0", "eth+" / "eth*" (prefix), "10.0.0.0/8", "10.0.1.5-10.0.1.9", "8001", "8000:8010", "tcp",
   * "NEW"; TCP flags as "MASK:SET" ("SYN,RST:SYN": of SYN and RST only SYN is set) or "MASK:*" (any of MASK).
   */
  values: string[];
}

export interface Action {
  target: string;
  /** DNAT/SNAT "addr[:port]", REDIRECT/MASQUERADE ports, TCPMSS size or "pmtu". */
  to?: string;
}

export interface Rule {
  /** The rule as the learner would recognise it, e.g. "-A PREROUTING -i eth0 -p tcp --dport 8001 -j DNAT …". */
  text: string;
  matches: Match[];
  /** Conditions lvs-lab cannot evaluate for the packet, e.g. "-m addrtype --dst-type LOCAL". */
  unknown: string[];
  action?: Action;
  jump?: { chain: string; goto: boolean };
}

export type Hook = "prerouting" | "input" | "forward" | "output" | "postrouting";

export interface Chain {
  name: string;
  /** Base chains only: where the kernel calls them, in which order, and their policy. */
  hook?: Hook;
  type?: string;
  priority?: number;
  policy?: "ACCEPT" | "DROP";
  rules: Rule[];
}

export interface Table {
  /** "iptables-legacy", "iptables-nft" or "nftables table ip mynat". */
  backend: string;
  name: string;
  chains: Chain[];
}

/** Targets after which the kernel stops walking the chain (RETURN is handled on its own). */
export const TERMINAL_TARGETS = new Set(["ACCEPT", "DROP", "REJECT", "DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP", "QUEUE", "NFQUEUE", "TPROXY"]);

const PROTOCOL_NUMBERS: Record<string, string> = { "6": "tcp", "17": "udp", "1": "icmp" };
export const protocolName = (p: string) => PROTOCOL_NUMBERS[p] ?? p.toLowerCase();

function valueHolds(field: Field, value: string, packet: Packet): boolean {
  switch (field) {
    case "in":
    case "out": {
      const iface = packet[field]!;
      return /[+*]$/.test(value) ? iface.startsWith(value.slice(0, -1)) : iface === value;
    }
    case "source":
    case "destination": {
      const range = /^([\d.]+)-([\d.]+)$/.exec(value);
      return range ? rangeContains(range[1]!, range[2]!, packet[field]!) : blockContains(value, packet[field]!);
    }
    case "protocol":
      return value === "all" || protocolName(value) === protocolName(packet.protocol!);
    case "dport": {
      const [first, last] = value.split(/[:-]/).map(Number);
      return packet.dport! >= first! && packet.dport! <= (last ?? first!);
    }
    case "state":
      return value.toUpperCase() === packet.state;
    case "tcpflags":
      return tcpFlagsHold(value, packet.tcpflags!);
  }
}

const TCP_FLAGS = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

function tcpFlagsHold(value: string, packetFlags: string): boolean {
  const [maskText, setText] = value.toUpperCase().split(":");
  const mask = maskText === "ALL" ? TCP_FLAGS : maskText!.split(",");
  const present = mask.filter((f) => packetFlags.split(",").includes(f));
  if (setText === "*") return present.length > 0;
  const wanted = setText === "NONE" ? [] : setText!.split(",");
  return present.length === wanted.length && wanted.every((f) => present.includes(f));
}

/** true or false, or undefined when the lesson's packet does not say (no source given, say). */
export function matchHolds(m: Match, packet: Packet): boolean | undefined {
  if (packet[m.field] === undefined) return m.field === "protocol" && m.values.includes("all") ? !m.negated : undefined;
  return m.values.some((v) => valueHolds(m.field, v, packet)) !== m.negated;
}

const FIELD_NAMES: Record<Field, string> = {
  in: "incoming interface",
  out: "outgoing interface",
  source: "source address",
  destination: "destination address",
  protocol: "protocol",
  dport: "destination port",
  state: "connection state",
  tcpflags: "TCP flags",
};

export interface Applies {
  /** true: every condition holds; false: one at least does not; undefined: lvs-lab cannot tell. */
  applies: boolean | undefined;
  failing: Match[];
  /** Conditions lvs-lab cannot evaluate, and fields the packet does not give. */
  unknown: string[];
}

export function ruleApplies(rule: Rule, packet: Packet): Applies {
  const failing: Match[] = [];
  const unknown = [...rule.unknown];
  for (const m of rule.matches) {
    const holds = matchHolds(m, packet);
    if (holds === false) failing.push(m);
    if (holds === undefined) unknown.push(`the packets' ${FIELD_NAMES[m.field]}, which the check does not give`);
  }
  return { applies: failing.length ? false : unknown.length ? undefined : true, failing, unknown };
}
