/**
 * The iptables probe judges what the rules do to the lab's packet, whichever tool wrote them:
 * recorded on the dnat lab's director (iptables-legacy, iptables-nft and native nftables).
 */
import { describe, expect, it } from "vitest";
import { checkBlockSchema } from "../src/probes/registry.js";
import { judgeRecorded } from "./helpers/recorded.js";

const dnat = {
  kind: "iptables", node: "director", table: "nat", chain: "PREROUTING",
  packet: { in: "{{director.ext.iface}}", source: "{{client.ext}}", destination: "{{director.ext}}", protocol: "tcp", dport: 8001 },
  action: { target: "DNAT", to: "{{rs1.int}}:8000" },
};
const verdict = (fixture: string, probe: object = dnat) => judgeRecorded(probe, `iptables/${fixture}.txt`);
const passes = (rule: string, backend = "iptables-nft") => ({ ok: true, message: `director's rule "${rule}" (${backend}) DNATs the client's packets to 10.0.1.210:8000 (rs1).` });
const reference = "-A PREROUTING -i eth0 -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000";

describe("iptables probe: correct solutions, whichever way they are written", () => {
  it("accepts the reference rule, -d instead of -i, --to, -I, a jump, -s with multiport", () => {
    expect(verdict("reference")).toEqual(passes(reference));
    expect(verdict("destination-instead-of-iface")).toEqual(passes("-A PREROUTING -d 198.51.100.50 -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000"));
    expect(verdict("short-to")).toEqual(passes(reference));
    expect(verdict("insert")).toEqual(passes(reference));
    expect(verdict("custom-chain")).toEqual(passes("-A MYDNAT -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000"));
    expect(verdict("source-and-multiport")).toEqual(
      passes("-A PREROUTING -s 198.51.100.0/24 -p tcp -m multiport --dports 8001,8002 -j DNAT --to-destination 10.0.1.210:8000"),
    );
  });

  it("accepts iptables-legacy and native nftables, and names the back-end", () => {
    expect(verdict("legacy")).toEqual(passes(reference, "iptables-legacy"));
    expect(verdict("legacy-wrong-nft-right")).toEqual(passes(reference));
    expect(verdict("native-nft")).toEqual(passes("iifname eth0 tcp dport 8001 dnat to 10.0.1.210:8000", "nftables table ip mynat"));
    expect(verdict("native-inet")).toEqual(passes("ip daddr 198.51.100.50 tcp dport { 8001, 8002 } dnat ip to 10.0.1.210:8000", "nftables table inet lb"));
    expect(verdict("native-rule-in-iptables-table")).toEqual(passes("iifname eth0 tcp dport 8001 dnat to 10.0.1.210:8000", "nftables table ip nat"));
  });
});

describe("iptables probe: each classic mistake is named", () => {
  it("a rule that does not catch the packet says which condition fails", () => {
    expect(verdict("wrong-iface").message).toBe(
      `director's rule "-A PREROUTING -i eth1 -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000" does not catch the client's packets: they arrive on eth0, not eth1.`,
    );
    expect(verdict("wrong-port").message).toBe(
      `director's rule "-A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.210:8000" does not catch the client's packets: they are for port 8001, not 8080.`,
    );
    expect(verdict("wrong-destination").message).toBe(
      `director's rule "-A PREROUTING -d 198.51.100.60 -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000" does not catch the client's packets: ` +
        "they are addressed to 198.51.100.50 (director), not 198.51.100.60.",
    );
    expect(verdict("udp").message).toBe(
      `director's rule "-A PREROUTING -i eth0 -p udp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000" does not catch the client's packets: they are tcp, not udp.`,
    );
    expect(verdict("negated-port").message).toBe(
      `director's rule "-A PREROUTING -i eth0 -p tcp ! --dport 8001 -j DNAT --to-destination 10.0.1.210:8000" does not catch the client's packets: ` +
        "they are for port 8001, which the rule excludes.",
    );
  });

  it("a rule that sends the packet elsewhere says where", () => {
    expect(verdict("wrong-to-port").message).toBe(
      `director's rule "-A PREROUTING -i eth0 -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:80" DNATs the client's packets to 10.0.1.210:80 (rs1), not to 10.0.1.210:8000 (rs1).`,
    );
    expect(verdict("to-without-port").message).toBe(
      `director's rule "-A PREROUTING -i eth0 -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210" DNATs the client's packets to 10.0.1.210:8001 (rs1), not to 10.0.1.210:8000 (rs1).`,
    );
  });

  it("a rule in the wrong chain, an unreached chain or behind an ACCEPT", () => {
    expect(verdict("output-chain").message).toBe(
      `director's rule "-A OUTPUT -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000" is in OUTPUT, which sees only packets director sends itself; ` +
        "the client's packets go through PREROUTING.",
    );
    expect(verdict("nft-output-hook").message).toBe(
      `director's rule "tcp dport 8001 dnat to 10.0.1.210:8000" (nftables table ip mynat) is in chain out on the output hook, which sees only packets director sends itself; ` +
        "the client's packets go through PREROUTING.",
    );
    expect(verdict("unreached-chain").message).toBe(
      `director's rule "-A MYDNAT -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000" is in chain MYDNAT, and no rule the client's packets meet jumps to it.`,
    );
    expect(verdict("shadowed-by-accept").message).toBe(
      `director's rule "-A PREROUTING -i eth0 -j ACCEPT" catches the client's packets first (ACCEPT), so "${reference}" never sees them.`,
    );
  });

  it("no rule at all, and a rule lvs-lab cannot evaluate", () => {
    expect(verdict("empty").message).toBe("director has no rule in the nat table's PREROUTING chain that DNATs the client's packets to 10.0.1.210:8000 (rs1).");
    expect(verdict("ambiguous").message).toBe(
      `director's rule "-A PREROUTING -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000" may or may not catch the client's packets: ` +
        "lvs-lab cannot evaluate -m addrtype --dst-type LOCAL.",
    );
    const { source: _unknownSender, ...packet } = dnat.packet;
    expect(verdict("source-and-multiport", { ...dnat, packet }).message).toBe(
      `director's rule "-A PREROUTING -s 198.51.100.0/24 -p tcp -m multiport --dports 8001,8002 -j DNAT --to-destination 10.0.1.210:8000" may or may not catch the packets for 198.51.100.50:8001: ` +
        "lvs-lab cannot evaluate the packets' source address, which the check does not give.",
    );
  });
});

describe("iptables probe: other tables, targets and present: false", () => {
  const masquerade = {
    kind: "iptables", node: "director", table: "nat", chain: "POSTROUTING",
    packet: { out: "eth1", source: "{{client.ext}}", destination: "{{rs1.int}}", protocol: "tcp", dport: 8000 },
    action: { target: "MASQUERADE" },
  };
  const forward = { ...masquerade, table: "filter", chain: "FORWARD", packet: { ...masquerade.packet, in: "eth0" }, action: { target: "ACCEPT" } };

  it("masquerading, and its absence", () => {
    expect(verdict("masquerade", masquerade)).toEqual({ ok: true, message: `director's rule "-A POSTROUTING -o eth1 -j MASQUERADE" (iptables-nft) masquerades the client's packets.` });
    expect(verdict("reference", { ...masquerade, present: false })).toEqual({ ok: true, message: "No rule on director masquerades the client's packets." });
    expect(verdict("masquerade", { ...masquerade, present: false }).message).toBe(
      `director's rule "-A POSTROUTING -o eth1 -j MASQUERADE" (iptables-nft) still masquerades the client's packets.`,
    );
  });

  it("forwarding: a rule beats a policy, a policy DROP after another table's ACCEPT still drops, conntrack state and TCP flags are read", () => {
    expect(verdict("masquerade", forward)).toEqual({ ok: true, message: "director's FORWARD chain's policy (iptables-legacy) accepts the client's packets." });
    expect(verdict("forward-state", forward)).toEqual({
      ok: true,
      message: `director's rule "-A FORWARD -i eth0 -o eth1 -p tcp --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT" (iptables-nft) accepts the client's packets.`,
    });
    expect(verdict("forward-state-nft", forward)).toEqual({
      ok: true,
      message: `director's rule "iifname eth0 oifname eth1 tcp flags syn / syn,rst,ack ct state new accept" (nftables table inet lb) accepts the client's packets.`,
    });
    const udp = { ...forward, packet: { ...forward.packet, protocol: "udp" } };
    expect(verdict("forward-state-nft", udp).message).toBe(
      `director's rule "iifname eth0 oifname eth1 tcp flags syn / syn,rst,ack ct state new accept" (nftables table inet lb) does not catch the client's packets: they are udp, not tcp.`,
    );
    const reply = { ...forward, packet: { ...forward.packet, in: "eth1", out: "eth0" } };
    expect(verdict("forward-state", reply).message).toBe(
      `director's rule "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" does not catch the client's packets: they open a new connection (NEW), not RELATED or ESTABLISHED.`,
    );
    expect(verdict("forward-drop", forward).message).toBe(
      `director's rule "-A FORWARD -i eth1 -o eth0 -j ACCEPT" does not catch the client's packets: they arrive on eth0, not eth1; they leave by eth1, not eth0.`,
    );
  });

  it("TCPMSS from iptables and from nftables", () => {
    const clamp = { ...forward, table: "mangle", action: { target: "TCPMSS", to: "pmtu" } };
    expect(verdict("tcpmss", clamp)).toEqual({
      ok: true,
      message: `director's rule "-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu" (iptables-nft) sets the MSS of the client's packets to fit the path MTU.`,
    });
    expect(verdict("tcpmss-nft", clamp)).toEqual({
      ok: true,
      message: `director's rule "tcp flags syn tcp option maxseg size set rt mtu" (nftables table inet lb) sets the MSS of the client's packets to fit the path MTU.`,
    });
    expect(verdict("forward-state-nft", clamp).message).toBe("director has no rule in the mangle table's FORWARD chain that sets the MSS of the client's packets to fit the path MTU.");
  });

  it("refuses a chain the table does not have and a target in lower case", () => {
    const issue = (probe: object) => checkBlockSchema.safeParse([probe]).error?.issues[0]?.message;
    expect(issue({ ...dnat, chain: "FORWARD" })).toBe("the nat table has no FORWARD chain (it has PREROUTING, INPUT, OUTPUT, POSTROUTING)");
    expect(issue({ ...dnat, action: { target: "dnat" } })).toMatch(/^must be an iptables target/);
    expect(issue({ ...dnat, rule: { in: "eth0" } })).toMatch(/Unrecognized key/);
  });
});
