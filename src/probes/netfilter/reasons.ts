/** Why a rule's conditions do not hold for the lab's packet, in the learner's words. */
import { t } from "../../i18n/index.js";
import { describeAddress } from "../../topology/resolve.js";
import type { ProbeContext } from "../types.js";
import type { Field, Match, Packet } from "./model.js";

const packetSays = (field: Field, value: string) => t(`probe.iptables.reasons.${field}`, { value });

/** How the rule writes a value: without /32, iptables' "eth+" as the learner typed it. */
function shown(field: Field, value: string): string {
  return field === "source" || field === "destination" ? value.replace(/\/32$/, "") : value;
}

function reason(m: Match, packet: Packet, ctx: ProbeContext): string {
  const actual = String(packet[m.field]);
  const says = packetSays(m.field, m.field === "source" || m.field === "destination" ? describeAddress(ctx.topology, actual) : actual);
  if (m.negated) return t("probe.iptables.reasons.excluded", { says });
  if (m.field === "tcpflags") return t("probe.iptables.reasons.flagsMismatch", { says });
  return t("probe.iptables.reasons.not", { says, values: m.values.map((v) => shown(m.field, v)).join(t("probe.iptables.reasons.or")) });
}

/** "they arrive on eth0, not eth1; they are for port 8001, not 8080". */
export function failingReasons(failing: Match[], packet: Packet, ctx: ProbeContext): string {
  return failing.map((m) => reason(m, packet, ctx)).join(t("probe.iptables.reasons.join"));
}
