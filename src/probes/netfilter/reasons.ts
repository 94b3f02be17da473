/** Why a rule's conditions do not hold for the lab's packet, in the learner's words. */
import { describeAddress } from "../../topology/resolve.js";
import type { ProbeContext } from "../types.js";
import type { Field, Match, Packet } from "./model.js";

const PACKET_SAYS: Record<Field, (value: string) => string> = {
  in: (v) => `they arrive on ${v}`,
  out: (v) => `they leave by ${v}`,
  source: (v) => `they come from ${v}`,
  destination: (v) => `they are addressed to ${v}`,
  protocol: (v) => `they are ${v}`,
  dport: (v) => `they are for port ${v}`,
  state: () => "they open a new connection (NEW)",
  tcpflags: () => "they are a TCP SYN",
};

/** How the rule writes a value: without /32, iptables' "eth+" as the learner typed it. */
function shown(field: Field, value: string): string {
  return field === "source" || field === "destination" ? value.replace(/\/32$/, "") : value;
}

function reason(m: Match, packet: Packet, ctx: ProbeContext): string {
  const actual = String(packet[m.field]);
  const says = PACKET_SAYS[m.field](m.field === "source" || m.field === "destination" ? describeAddress(ctx.topology, actual) : actual);
  if (m.negated) return `${says}, which the rule excludes`;
  if (m.field === "tcpflags") return `${says}, which the rule's TCP flags test does not match`;
  return `${says}, not ${m.values.map((v) => shown(m.field, v)).join(" or ")}`;
}

/** "they arrive on eth0, not eth1; they are for port 8001, not 8080". */
export function failingReasons(failing: Match[], packet: Packet, ctx: ProbeContext): string {
  return failing.map((m) => reason(m, packet, ctx)).join("; ");
}
