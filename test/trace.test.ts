import { describe, expect, it } from "vitest";
import { formatProbe } from "../src/cli/output.js";
import { parseCapture, parsePackets } from "../src/probes/capture.js";
import type { ProbeResult } from "../src/probes/runner.js";
import { pathSummary } from "../src/probes/trace.js";
import { plainText } from "../src/text/lines.js";
import { probeLines } from "../src/ui/panes.js";
import { judgeProbeRecording, readProbeRecording } from "./helpers/recorded-probe.js";

/** A recorded probe's path, one "node: what" line per hop. */
const hops = (fixture: string, override: object = {}) => (judgeProbeRecording(`trace/${fixture}.txt`, override).path ?? []).map((h) => `${h.node}: ${h.what}`);

describe("capture: tcpdump's text of a -i any capture", () => {
  it("parses frames with interface, direction, MAC, addresses, flags and absolute sequence numbers", () => {
    const { outputs } = readProbeRecording("trace/dnat-gateway-docker.txt");
    const stop = [...outputs].find(([key]) => key.startsWith("rs1 $") && key.includes("--- packets"))![1].output;
    const packets = parsePackets(stop);
    expect(packets.find((p) => p.protocol === "tcp" && p.flags === "S.")).toEqual({
      time: expect.any(Number), iface: "eth0", direction: "Out", mac: "02:42:0a:00:02:d2", protocol: "tcp",
      src: "10.0.2.210", sport: 8000, dst: "198.18.0.100", dport: expect.any(Number), flags: "S.", seq: expect.any(Number), ack: expect.any(Number), length: 0,
    });
    expect(packets.find((p) => p.protocol === "arp" && p.text?.includes("who-has 10.0.2.1 "))).toMatchObject({ direction: "Out", src: "10.0.2.210", dst: "10.0.2.1", text: "Request who-has 10.0.2.1 tell 10.0.2.210" });
  });

  it("parses IP-in-IP (no suffix with tcpdump 4.99 -e) and addresses without a port", () => {
    const line =
      "1795807012.480574 eth1  In  ifindex 162 02:42:c6:33:64:32 ethertype IPv4 (0x0800), length 100: 198.51.100.50 > 10.0.2.21: 198.51.100.100.51360 > 198.51.100.77.80: Flags [S], seq 3000230643, win 64240, options [mss 1460,sackOK,TS val 4122252743 ecr 0,nop,wscale 7], length 0";
    expect(parsePackets(line)[0]).toMatchObject({ outer: { src: "198.51.100.50", dst: "10.0.2.21" }, src: "198.51.100.100", sport: 51360, dst: "198.51.100.77", dport: 80, flags: "S", seq: 3000230643 });
    expect(parsePackets(line + " (ipip-proto-4)")[0]).toMatchObject({ outer: { dst: "10.0.2.21" }, dst: "198.51.100.77" });
    const icmp = "1795807012.483191 eth0  In  ifindex 156 02:42:c6:33:64:fe ethertype IPv4 (0x0800), length 128: 10.0.2.21 > 198.51.100.50: ICMP 10.0.2.21 protocol 4 port 60 unreachable, length 88";
    expect(parsePackets(icmp)[0]).toMatchObject({ protocol: "icmp", src: "10.0.2.21", dst: "198.51.100.50", text: "10.0.2.21 protocol 4 port 60 unreachable" });
  });

  it("reads the node's interfaces, addresses and routes from the start of the capture", () => {
    const { outputs } = readProbeRecording("trace/dnat-gateway-docker.txt");
    const out = (part: string) => [...outputs].find(([key]) => key.startsWith("rs1 $") && key.includes(part))![1].output;
    const rs1 = parseCapture("rs1", out("tcpdump -Z"), out("--- packets"));
    expect(rs1).toMatchObject({ links: { eth0: "02:42:0a:00:02:d2" }, addresses: [{ iface: "lo" }, { iface: "eth0", address: "10.0.2.210" }] });
    expect(rs1.routes[0]).toEqual({ to: "default", via: "10.0.2.1", dev: "eth0" });
    expect(rs1.state).toBe("complete");
    expect(parseCapture("rs1", "--- capture\n", "").state).toBe("not started");
    expect(parseCapture("rs1", "--- capture\nstarted\n", "--- capture\nended early\n--- packets\n").state).toBe("ended early");
  });
});

describe("trace: where the packets of a request went, on real captures", () => {
  it("dnat, rs1's gateway is Docker's: the SYN-ACK leaves the lab, the director never undoes the DNAT", () => {
    expect(hops("dnat-gateway-docker")).toEqual([
      "client: SYN to 198.18.0.50:8001 left on eth0 to director",
      "director: SYN arrived on eth0, destination rewritten to 10.0.2.210:8000, left on eth1 to rs1",
      "rs1: SYN arrived on eth0; SYN-ACK from 10.0.2.210:8000 to 198.18.0.100 (client) left on eth0 via 10.0.2.1 (Docker's gateway on int), and no lab node received it",
      "director: the SYN-ACK never came back through here, so its source was not rewritten back to 198.18.0.50:8001",
      "client: nothing came back: the SYN was sent 2 times, unanswered",
    ]);
  });

  it("dnat, the reply passes the director untracked (raw NOTRACK): the client gets rs1's own address and resets", () => {
    expect(hops("dnat-reply-not-untranslated")).toEqual([
      "client: SYN to 198.18.0.50:8001 left on eth0 to director",
      "director: SYN arrived on eth0, destination rewritten to 10.0.2.210:8000, left on eth1 to rs1",
      "rs1: SYN arrived on eth0; SYN-ACK from 10.0.2.210:8000 to 198.18.0.100 (client) left on eth0 to director",
      "director: SYN-ACK arrived on eth1, forwarded unchanged (its source was not rewritten back to 198.18.0.50:8001), left on eth0 to client",
      "client: SYN-ACK arrived from 10.0.2.210:8000 instead of 198.18.0.50:8001, so the client answered with RST",
    ]);
  });

  it("dnat without the rule: the director itself answers with RST", () => {
    expect(hops("dnat-no-rule")).toEqual([
      "client: SYN to 198.18.0.50:8001 left on eth0 to director",
      "director: SYN arrived on eth0; nothing listens on 198.18.0.50:8001, so a RST to 198.18.0.100 (client) left on eth0 to client",
      "client: RST arrived from 198.18.0.50:8001: connection refused",
    ]);
  });

  it("dnat with ip_forward 0: the SYN stops at the director", () => {
    expect(hops("dnat-forward-off")).toEqual([
      "client: SYN to 198.18.0.50:8001 left on eth0 to director",
      "director: SYN arrived on eth0, then went no further: dropped there (neither answered nor forwarded)",
      "client: nothing came back: the SYN was sent 2 times, unanswered",
    ]);
  });

  it("dnat working: no path on a pass, the whole round trip for an observation", () => {
    expect(judgeProbeRecording("trace/dnat-passing.txt").path).toBeUndefined();
    expect(hops("dnat-passing", { observe: true })).toEqual([
      "client: SYN to 198.18.0.50:8001 left on eth0 to director",
      "director: SYN arrived on eth0, destination rewritten to 10.0.2.210:8000, left on eth1 to rs1",
      "rs1: SYN arrived on eth0; SYN-ACK from 10.0.2.210:8000 to 198.18.0.100 (client) left on eth0 to director",
      "director: SYN-ACK arrived on eth1, source rewritten to 198.18.0.50:8001, left on eth0 to client",
      "client: SYN-ACK arrived from 198.18.0.50:8001: connected and answered",
    ]);
  });

  it("dr before the real servers hold the VIP: the director hands the SYN to rs2's MAC, rs2 drops it", () => {
    expect(hops("dr-vip-not-on-rs")).toEqual([
      "client: SYN to 198.51.100.77:80 left on eth0 to director's MAC 02:42:c6:33:64:32 (its ARP entry for 198.51.100.77)",
      "director: SYN arrived on eth0, forwarded unchanged, left on eth0 to rs2's MAC 02:42:c6:33:64:15",
      "rs2: SYN arrived on eth0, but 198.51.100.77 is not one of rs2's addresses: dropped there (neither answered nor forwarded)",
      "client: nothing came back: the SYN was sent 2 times, unanswered",
    ]);
  });

  it("dr with the ARP sysctls at 0: the client's SYN goes straight to rs2's MAC", () => {
    const verdict = judgeProbeRecording("trace/dr-arp-answered-by-rs.txt");
    expect(verdict.message).toBe(
      "The client sent the VIP's packets straight to rs2: rs2 answered its ARP request for 198.51.100.77, so director never saw them (arp_ignore/arp_announce on the real servers keep them quiet). rs1 answered none of the 6 requests to 198.51.100.77:80 (rs2 6).",
    );
    expect(hops("dr-arp-answered-by-rs")).toEqual([
      "client: SYN to 198.51.100.77:80 left on eth0 to rs2's MAC 02:42:c6:33:64:15 (its ARP entry for 198.51.100.77)",
      "rs2: SYN arrived on eth0; SYN-ACK from 198.51.100.77:80 to 198.51.100.100 (client) left on eth0 to client",
      "client: SYN-ACK arrived from 198.51.100.77:80: connected and answered",
    ]);
  });

  it("dr working: the director changes only the MAC, the real server answers the client directly", () => {
    expect(hops("dr-passing", { observe: true })).toEqual([
      "client: SYN to 198.18.0.77:80 left on eth0 to director's MAC 02:42:c6:12:00:32 (its ARP entry for 198.18.0.77)",
      "director: SYN arrived on eth0, forwarded unchanged, left on eth0 to rs2's MAC 02:42:c6:12:00:15",
      "rs2: SYN arrived on eth0; SYN-ACK from 198.18.0.77:80 to 198.18.0.100 (client) left on eth0 to client",
      "client: SYN-ACK arrived from 198.18.0.77:80: connected and answered",
    ]);
  });

  it("nat without the real servers' gateway: like dnat, the SYN-ACK leaves by Docker's gateway", () => {
    expect(hops("nat-no-gateway")).toEqual([
      "client: SYN to 198.18.0.50:80 left on eth0 to director",
      "director: SYN arrived on eth0, destination rewritten to 10.0.1.211:8000, left on eth1 to rs2",
      "rs2: SYN arrived on eth0; SYN-ACK from 10.0.1.211:8000 to 198.18.0.100 (client) left on eth0 via 10.0.1.1 (Docker's gateway on int), and no lab node received it",
      "director: the SYN-ACK never came back through here, so its source was not rewritten back to 198.18.0.50:80",
      "client: nothing came back: the SYN was sent 2 times, unanswered",
    ]);
  });

  it("nat working: IPVS rewrites the request and, on the way back, the reply", () => {
    expect(hops("nat-passing", { observe: true })).toEqual([
      "client: SYN to 198.18.0.50:80 left on eth0 to director",
      "director: SYN arrived on eth0, destination rewritten to 10.0.1.211:8000, left on eth1 to rs2",
      "rs2: SYN arrived on eth0; SYN-ACK from 10.0.1.211:8000 to 198.18.0.100 (client) left on eth0 to director",
      "director: SYN-ACK arrived on eth1, source rewritten to 198.18.0.50:80, left on eth0 to client",
      "client: SYN-ACK arrived from 198.18.0.50:80: connected and answered",
    ]);
  });

  it("tun, tunl0 down: the IPIP packet reaches rs2, which sends ICMP back; IPVS tells the client the port is unreachable", () => {
    expect(hops("tun-tunl0-down")).toEqual([
      "client: SYN to 198.51.100.77:80 left on eth0 to director's MAC 02:42:c6:33:64:32 (its ARP entry for 198.51.100.77)",
      "director: SYN arrived on eth0, wrapped in IPIP to 10.0.2.21 (rs2), left on eth0 to router",
      "router: IPIP from 198.51.100.50 (director) arrived on eth1, forwarded unchanged, left on eth0 to rs2",
      'rs2: IPIP from 198.51.100.50 (director) arrived on eth0, not unwrapped; ICMP "10.0.2.21 protocol 4 port 60 unreachable" went back to 198.51.100.50 (director)',
      'director: ICMP "10.0.2.21 protocol 4 port 60 unreachable" arrived on eth0; it sent ICMP "198.51.100.77 tcp port 80 unreachable" on to 198.51.100.100 (client)',
      'client: ICMP "198.51.100.77 tcp port 80 unreachable" arrived from 198.51.100.77 (the VIP)',
    ]);
  });

  it("tun, rp_filter 1: rs2 unwraps the SYN on tunl0 and drops it", () => {
    expect(hops("tun-rp-filter")).toEqual([
      "client: SYN to 198.51.100.77:80 left on eth0 to director's MAC 02:42:c6:33:64:32 (its ARP entry for 198.51.100.77)",
      "director: SYN arrived on eth0, wrapped in IPIP to 10.0.2.21 (rs2), left on eth0 to router",
      "router: IPIP from 198.51.100.50 (director) arrived on eth1, forwarded unchanged, left on eth0 to rs2",
      "rs2: IPIP from 198.51.100.50 (director) arrived on eth0, unwrapped on tunl0, then went no further: dropped there (neither answered nor forwarded)",
      "client: nothing came back: the SYN was sent 2 times, unanswered",
    ]);
  });

  it("tun working: the reply bypasses the director through the router", () => {
    expect(hops("tun-passing", { observe: true })).toEqual([
      "client: SYN to 198.51.100.77:80 left on eth0 to director's MAC 02:42:c6:33:64:32 (its ARP entry for 198.51.100.77)",
      "director: SYN arrived on eth0, wrapped in IPIP to 10.0.2.21 (rs2), left on eth0 to router",
      "router: IPIP from 198.51.100.50 (director) arrived on eth1, forwarded unchanged, left on eth0 to rs2",
      "rs2: IPIP from 198.51.100.50 (director) arrived on eth0, unwrapped on tunl0; SYN-ACK from 198.51.100.77:80 to 198.51.100.100 (client) left on eth0 to router",
      "router: SYN-ACK arrived on eth0, forwarded unchanged, left on eth1 to client",
      "client: SYN-ACK arrived from 198.51.100.77:80: connected and answered",
    ]);
  });

  it("the summary joins the hops", () => {
    expect(pathSummary([{ node: "client", what: "a" }, { node: "director", what: "b" }])).toBe("client: a → director: b");
  });
});

describe("the path in check's output and in the UI's checks pane", () => {
  const failed: ProbeResult = {
    kind: "http", node: "client", description: "2 requests from client to 198.18.0.50:8001 get answers", ok: false,
    message: "Only 0 of 2 requests from client to 198.18.0.50:8001 were answered; the rest: timed out.",
    path: [{ node: "client", what: "SYN to 198.18.0.50:8001 left on eth0 to director" }, { node: "director", what: "SYN arrived on eth0, then went no further: dropped there (neither answered nor forwarded)" }],
  };

  it("check prints one indented line per hop, node names aligned", () => {
    expect(formatProbe(failed).split("\n").slice(2)).toEqual([
      "      where the packets went:",
      "        client    SYN to 198.18.0.50:8001 left on eth0 to director",
      "        director  SYN arrived on eth0, then went no further: dropped there (neither answered nor forwarded)",
    ]);
  });

  it("the checks pane shows the hops under the message, cut to the width, and drops them before the probes when rows run out", () => {
    const lines = plainText(probeLines({ step: 0, results: [failed], at: 0, ms: 1 }, 50, false)).split("\n");
    expect(lines.slice(-2)).toEqual(["    client SYN to 198.18.0.50:8001 left on eth0 t…", "    director SYN arrived on eth0, then went no fu…"]);
    expect(plainText(probeLines({ step: 0, results: [failed], at: 0, ms: 1 }, 50, false, 2))).not.toContain("director SYN");
  });
});
