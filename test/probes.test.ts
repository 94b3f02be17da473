import { describe, expect, it } from "vitest";
import { probeKind, checkBlockSchema } from "../src/probes/registry.js";
import { batchScript, renderProbe, runProbes, splitBatch } from "../src/probes/runner.js";
import type { ProbeContext } from "../src/probes/types.js";
import { parseTopology } from "../src/topology/load.js";
import { readFileSync } from "node:fs";
import { resolveTopology, templateVariables } from "../src/topology/resolve.js";
import { judgeRecorded } from "./helpers/recorded.js";

const topology = resolveTopology(parseTopology(readFileSync(new URL("../topologies/nat.yaml", import.meta.url), "utf8"), "nat.yaml"), {});
const ifaces = { director: { ext: "eth0", int: "eth1" }, rs1: { int: "eth0" }, rs2: { int: "eth0" }, client: { ext: "eth0" } };
const ctx: ProbeContext = { topology, ifaces, vars: templateVariables(topology, ifaces, "nat") };

/** Judges one probe (written as in a check block) against canned outputs. */
function judge(yaml: object, ...outputs: Array<string | [number, string]>) {
  const [probe] = checkBlockSchema.parse([yaml]);
  const p = renderProbe(probe!, ctx.vars);
  return probeKind(p.kind).judge(p, outputs.map((o) => (typeof o === "string" ? { exitCode: 0, output: o } : { exitCode: o[0], output: o[1] })), ctx);
}

/** The first message a check block's schema gives for one probe. */
function schemaError(yaml: object): string | undefined {
  return checkBlockSchema.safeParse([yaml]).error?.issues[0]?.message;
}

describe("probe verdicts name the node and the cause", () => {
  it("sysctl: ip_forward left at 0", () => {
    expect(judge({ kind: "sysctl", node: "director", key: "net.ipv4.ip_forward", value: 1 }, "0\n").message).toBe(
      "director: net.ipv4.ip_forward is 0, it must be 1.",
    );
  });

  it("sysctl: a list of accepted values", () => {
    const probe = { kind: "sysctl", node: "director", key: "net.ipv4.ip_forward", value: [1, 2] };
    expect(judgeRecorded(probe, "sysctl/untouched.txt")).toEqual({ ok: true, message: "director: net.ipv4.ip_forward is 1." });
    expect(judge(probe, "0\n").message).toBe("director: net.ipv4.ip_forward is 0, it must be 1 or 2.");
  });

  it("sysctl with iface: the larger of all and the interface, recorded on rs1", () => {
    const arpIgnore = { kind: "sysctl", node: "rs1", key: "arp_ignore", iface: "{{rs1.int.iface}}", value: [1, 2] };
    const arpAnnounce = { kind: "sysctl", node: "rs1", key: "arp_announce", iface: "{{rs1.int.iface}}", value: 2 };
    const verdict = (probe: object, fixture: string) => judgeRecorded(probe, `sysctl/${fixture}.txt`);
    expect(verdict(arpIgnore, "all-only")).toEqual({ ok: true, message: "rs1: arp_ignore for eth0 is 1 (the larger of all=1 and eth0=0)." });
    expect(verdict(arpIgnore, "eth-only")).toEqual({ ok: true, message: "rs1: arp_ignore for eth0 is 1 (the larger of all=0 and eth0=1)." });
    expect(verdict(arpIgnore, "arp-ignore-2")).toEqual({ ok: true, message: "rs1: arp_ignore for eth0 is 2 (the larger of all=2 and eth0=0)." });
    expect(verdict(arpIgnore, "untouched").message).toBe("rs1: arp_ignore for eth0 is 0 (the larger of all=0 and eth0=0); it must be 1 or 2.");
    expect(verdict(arpIgnore, "lo-only").message).toBe(
      "rs1: arp_ignore for eth0 is 0 (the larger of all=0 and eth0=0); it must be 1 or 2. lo's value 1 is not read for ARP requests arriving on eth0.",
    );
    expect(verdict(arpAnnounce, "eth-only").ok).toBe(true);
    expect(verdict(arpAnnounce, "lo-only").message).toBe(
      "rs1: arp_announce for eth0 is 0 (the larger of all=0 and eth0=0); it must be 2. lo's value 2 is not read for ARP requests sent on eth0.",
    );
    expect(verdict({ ...arpIgnore, iface: "tunl0" }, "all-only").message).toBe("rs1 has no interface tunl0 (no /proc/sys/net/ipv4/conf/tunl0/arp_ignore).");
    expect(verdict({ ...arpIgnore, iface: "lo" }, "lo-only").ok).toBe(true);
    expect(schemaError({ ...arpIgnore, key: "accept_redirects" })).toBe(
      'with iface, key is a per-interface key whose effective value lvs-lab knows how to compute (arp_ignore, arp_announce, rp_filter); "accept_redirects" is not one: drop iface and give the full key instead',
    );
    expect(schemaError({ ...arpIgnore, iface: "eth0; reboot" })).toMatch(/^must be an interface name/);
  });

  it("process: keepalived running or not, recorded on director", () => {
    const keepalived = { kind: "process", node: "director", name: "keepalived" };
    expect(judgeRecorded(keepalived, "process/keepalived-running.txt")).toEqual({ ok: true, message: "keepalived runs on director (pid 151)." });
    expect(judgeRecorded(keepalived, "process/keepalived-stopped.txt")).toEqual({ ok: false, message: "keepalived is not running on director." });
    expect(judgeRecorded({ ...keepalived, present: false }, "process/keepalived-stopped.txt")).toEqual({ ok: true, message: "keepalived is not running on director." });
    expect(judgeRecorded({ ...keepalived, present: false }, "process/keepalived-running.txt").message).toBe("keepalived still runs on director (pid 151).");
    expect(judge(keepalived, "151\n152\n").message).toBe("keepalived runs on director (pids 151, 152).");
    expect(schemaError({ ...keepalived, name: "keepalived; reboot" })).toMatch(/^must be a process name/);
  });

  it("route: gateway not changed", () => {
    expect(judge({ kind: "route", node: "rs1", to: "default", via: "{{director.int}}" }, "default via 10.0.1.1 dev eth0\n10.0.1.0/24 dev eth0 scope link\n").message).toBe(
      "rs1's default route is via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director).",
    );
    expect(judge({ kind: "route", node: "rs1", to: "default", via: "{{director.int}}" }, "10.0.1.0/24 dev eth0 scope link\n").message).toBe(
      "rs1 has no default route; it needs one via 10.0.1.50 (director).",
    );
  });

  it("route to a host: the path the kernel picks, recorded on rs1", () => {
    const toClient = { kind: "route", node: "rs1", to: "{{client.ext}}", via: "{{director.int}}" };
    const verdict = (fixture: string) => judgeRecorded(toClient, `route/${fixture}.txt`);
    expect(verdict("docker-gateway").message).toBe(
      "rs1 sends packets for 198.51.100.100 (client) via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director).",
    );
    // net-tools' route add puts the new default route in front of the equal one: the kernel uses it.
    expect(verdict("route-add-gw").ok).toBe(true);
    expect(verdict("replace-default")).toEqual({ ok: true, message: "rs1 sends packets for 198.51.100.100 (client) via 10.0.1.50 (director)." });
    expect(verdict("client-network-via-director")).toEqual({ ok: true, message: "rs1 sends packets for 198.51.100.100 (client) via 10.0.1.50 (director)." });
    expect(verdict("append-metric-500").message).toBe(
      "rs1 sends packets for 198.51.100.100 (client) via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director): " +
        "the default route via 10.0.1.50 (director) has metric 500, and the kernel prefers the one via 10.0.1.1 (Docker's gateway on int) with metric 0.",
    );
    expect(verdict("append-same-metric").message).toBe(
      "rs1 sends packets for 198.51.100.100 (client) via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director): " +
        "the default route via 10.0.1.50 (director) has the same metric as the one via 10.0.1.1 (Docker's gateway on int), and the kernel uses the first one listed.",
    );
    expect(verdict("specific-route-wins").message).toBe(
      "rs1 sends packets for 198.51.100.100 (client) via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director): " +
        "the more specific route to 198.51.100.0/24 via 10.0.1.1 (Docker's gateway on int) wins over the default route via 10.0.1.50 (director).",
    );
    expect(verdict("no-default").message).toBe(
      "rs1 has no route to 198.51.100.100 (client) (`ip route get` says \"Network is unreachable\"); it needs one via 10.0.1.50 (director).",
    );
    expect(() => checkBlockSchema.parse([{ kind: "route", node: "rs1", to: "198.51.100.100" }])).toThrow(/needs via or dev/);
    expect(judgeRecorded({ ...toClient, present: false }, "route/docker-gateway.txt")).toEqual({
      ok: true,
      message: "rs1 sends packets for 198.51.100.100 (client) via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director).",
    });
    expect(judgeRecorded({ ...toClient, present: false }, "route/replace-default.txt").message).toBe(
      "rs1 still sends packets for 198.51.100.100 (client) via 10.0.1.50 (director).",
    );
  });

  it("route to default: the default route the kernel prefers, recorded on rs1", () => {
    const viaDirector = { kind: "route", node: "rs1", to: "default", via: "{{director.int}}" };
    const verdict = (fixture: string) => judgeRecorded(viaDirector, `route/${fixture}.txt`);
    expect(verdict("replace-default")).toEqual({ ok: true, message: "rs1's default route is via 10.0.1.50 (director)." });
    expect(verdict("route-add-gw")).toEqual({ ok: true, message: "rs1's default route is via 10.0.1.50 (director)." });
    expect(verdict("specific-route-wins").ok).toBe(true);
    expect(verdict("append-metric-500").message).toBe(
      "rs1's default route is via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director): " +
        "the default route via 10.0.1.50 (director) has metric 500, and the kernel prefers the one via 10.0.1.1 (Docker's gateway on int) with metric 0.",
    );
    expect(verdict("append-same-metric").message).toMatch(/: the default route via 10\.0\.1\.50 \(director\) has the same metric as the one via 10\.0\.1\.1 .*, and the kernel uses the first one listed\.$/);
    expect(verdict("client-network-via-director").message).toBe("rs1's default route is via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director).");
    expect(verdict("no-default").message).toBe("rs1 has no default route; it needs one via 10.0.1.50 (director).");
    expect(judgeRecorded({ ...viaDirector, present: false }, "route/append-metric-500.txt").message).toBe("rs1 still has a default route via 10.0.1.50 (director).");
    expect(judgeRecorded({ kind: "route", node: "rs1", to: "198.51.100.0/24", via: "{{director.int}}" }, "route/client-network-via-director.txt").message).toBe(
      "rs1's route to 198.51.100.0/24 is via 10.0.1.50 (director).",
    );
  });

  it("address: VIP on eth0 instead of lo, or with a wide mask", () => {
    const probe = { kind: "address", node: "rs1", address: "{{vip}}/32", iface: "lo" };
    expect(judge(probe, "1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 198.51.100.50/24 scope global eth0\n").message).toBe(
      "rs1 has 198.51.100.50 on eth0 as /24, but it belongs on lo.",
    );
    expect(judge(probe, "1: lo    inet 198.51.100.50/24 scope global lo\n").message).toBe("rs1 has 198.51.100.50 on lo as /24, but it must be /32.");
    expect(judge(probe, "1: lo    inet 127.0.0.1/8 scope host lo\n").message).toBe("rs1 does not have 198.51.100.50 on any interface.");
  });

  it("ipvs: missing service, wrong scheduler, wrong forwarding flag, weight 0, no ip_vs", () => {
    const probe = {
      kind: "ipvs", node: "director", service: "{{vip}}:80", scheduler: "rr",
      realServers: [{ address: "{{rs1.int}}:8000", method: "masq" }, { address: "{{rs2.int}}:8000", method: "masq", weight: 1 }],
    };
    expect(judge(probe, "").message).toBe("director has no virtual service TCP 198.51.100.50:80 (`ipvsadm -Ln` lists none).");
    expect(judge(probe, "-A -t 198.51.100.50:80 -s wlc\n").message).toMatch(/uses scheduler wlc, expected rr/);
    expect(judge(probe, "-A -t 198.51.100.50:80 -s rr\n-a -t 198.51.100.50:80 -r 10.0.1.210:80 -g -w 1\n").message).toBe(
      "director: real server 10.0.1.210 (rs1) is added with -g (direct routing), this lab needs -m (masquerading/NAT).",
    );
    expect(judge(probe, "-A -t 198.51.100.50:80 -s rr\n-a -t 198.51.100.50:80 -r 10.0.1.210:8000 -m -w 1\n-a -t 198.51.100.50:80 -r 10.0.1.211:8000 -m -w 0\n").message).toBe(
      "director: real server 10.0.1.211 (rs2) has weight 0, expected 1 — weight 0 means quiesced: it gets no new connections.",
    );
    expect(judge(probe, "-A -t 198.51.100.50:80 -s rr\n-a -t 198.51.100.50:80 -r 10.0.1.210:80 -m -w 1\n").message).toBe(
      "director: real server rs1 (10.0.1.210:8000) is missing from TCP 198.51.100.50:80 (it has 10.0.1.210:80: wrong port).",
    );
    expect(judge(probe, [2, "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n"]).message).toMatch(/has no IPVS \(ip_vs module\)/);
  });

  /** An http probe's outputs in the nat lab: the requests, then each node's capture, `replies` reply frames leaving the director. */
  const httpOutputs = (requests: string, replies = 0, directorListens = true) => {
    const frame = "1795803231.555424 eth0  Out ifindex 26 02:42:c6:12:00:32 ethertype IPv4 (0x0800), length 66: 198.51.100.50.80 > 198.51.100.100.34312: Flags [.], ack 1, win 64, length 0\n";
    return [requests, ...Object.keys(topology.nodes).flatMap((n) => [n !== "director" || directorListens ? "--- capture\nstarted\n" : "--- capture\n", `--- capture\nstopped\n--- packets\n${n === "director" ? frame.repeat(replies) : ""}`])];
  };

  it("http: spread, client address and reply path are measured", () => {
    const probe = { kind: "http", to: "{{vip}}:80", count: 4, expect: { servers: ["rs1", "rs2"], clientAddress: "{{client.ext}}", replies: "direct" } };
    const ok = "ok rs1 saw 198.51.100.100:1\nok rs2 saw 198.51.100.100:2\nok rs1 saw 198.51.100.100:3\nok rs2 saw 198.51.100.100:4\n";
    expect(judge(probe, ...httpOutputs(ok))).toMatchObject({ ok: true, spread: { counts: { rs1: 2, rs2: 2 }, repliesViaDirector: 0 } });
    expect(judge(probe, ...httpOutputs(ok, 12)).message).toBe(
      "12 reply packets left director for the client: replies go back through the director, not straight to the client.",
    );
    expect(judge(probe, ...httpOutputs(ok, 0, false)).message).toBe("Could not measure the reply path on director: tcpdump did not start there.");
    expect(judge(probe, ...httpOutputs(ok.replace(/rs2/g, "rs1"))).message).toMatch(/^rs2 answered none of the 4 requests/);
    expect(judge(probe, ...httpOutputs(ok.replace(/198\.51\.100\.100/g, "10.0.1.50"))).message).toBe(
      "The real servers saw the client as 10.0.1.50 (director), not as 198.51.100.100 (client): the client's address was rewritten on the way.",
    );
    expect(judge(probe, ...httpOutputs("fail 28\nfail 28\nok rs1 saw 198.51.100.100:1\nfail 7\n")).message).toBe(
      "Only 1 of 4 requests from client to 198.51.100.50:80 were answered (rs1 1); the rest: timed out, connection refused.",
    );
  });

  it("http: a weighted spread within tolerance", () => {
    const probe = { kind: "http", to: "{{vip}}:80", count: 8, expect: { spread: { rs1: 3, rs2: 1 }, tolerance: 0.15 } };
    const lines = (a: number, b: number) => "ok rs1 saw 1.1.1.1:1\n".repeat(a) + "ok rs2 saw 1.1.1.1:1\n".repeat(b);
    expect(judge(probe, lines(6, 2)).ok).toBe(true);
    expect(judge(probe, lines(4, 4)).message).toBe("rs1 answered 4 of 8 requests (50 %), expected about 75 % (rs1 4, rs2 4).");
  });

  it("neighbour: a real server answered ARP for the VIP", () => {
    const probe = { kind: "neighbour", node: "client", address: "{{vip}}", owner: "director" };
    const link = (mac: string) => `2: eth0@if3: <BROADCAST> mtu 1500 \\    link/ether ${mac} brd ff:ff:ff:ff:ff:ff`;
    const nodes = ["client", "director", "rs1", "rs2"].map((_, i) => link(`02:42:00:00:00:0${i}`));
    expect(judge(probe, "198.51.100.50 dev eth0 lladdr 02:42:00:00:00:02 REACHABLE\n", ...nodes).message).toBe(
      "client's ARP entry for 198.51.100.50 is 02:42:00:00:00:02, which is rs1's MAC, not director's: rs1 answered ARP for it.",
    );
    expect(judge(probe, "198.51.100.50 dev eth0 lladdr 02:42:00:00:00:01 REACHABLE\n", ...nodes).ok).toBe(true);
  });

  it("command: the lesson's own sentence plus what was seen", () => {
    expect(judge({ kind: "command", node: "rs1", run: "false", message: "Nope." }, [1, ""]).message).toBe("Nope. (rs1: `false` gave exit code 1)");
    expect(judge({ kind: "command", node: "director", run: "conntrack -L", match: "UNREPLIED", message: "No unreplied connection." }, "nothing\n").message).toBe(
      "No unreplied connection. (director says \"nothing\")",
    );
  });
});

describe("probe batching", () => {
  it("splits one exec's output back into each command's output and exit code", () => {
    const marker = "@@m";
    const script = batchScript(["echo a", "false"], marker);
    expect(script).toContain("( echo a\n) 2>&1");
    const out = "@@m 0 begin\na\n@@m 0 end 0\n@@m 1 begin\n@@m 1 end 1\n";
    expect(splitBatch(out, 3, marker)).toEqual([
      { exitCode: 0, output: "a\n" },
      { exitCode: 1, output: "" },
      { exitCode: -1, output: "(no output: the batch did not get this far)" },
    ]);
  });

  it("runs one exec per node and round, nodes in parallel", async () => {
    const calls: string[] = [];
    const probes = checkBlockSchema.parse([
      { kind: "sysctl", node: "director", key: "net.ipv4.ip_forward", value: 1 },
      { kind: "route", node: "director", to: "default" },
      { kind: "route", node: "rs1", to: "default", via: "{{director.int}}" },
    ]);
    const results = await runProbes(probes, ctx, async (node, script) => {
      calls.push(node);
      const marker = /'(@@lvs-lab-[0-9a-f]+) 0 begin'/.exec(script)![1]!;
      const answers = node === "director" ? ["1\n", "default via 198.51.100.1 dev eth0\n"] : ["default via 10.0.1.50 dev eth0\n"];
      return { exitCode: 0, stderr: "", stdout: answers.map((a, i) => `${marker} ${i} begin\n${a}${marker} ${i} end 0\n`).join("") };
    });
    expect(calls.sort()).toEqual(["director", "rs1"]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
  });

  it("reports a node it cannot reach instead of throwing", async () => {
    const probes = checkBlockSchema.parse([{ kind: "sysctl", node: "director", key: "net.ipv4.ip_forward", value: 1 }]);
    const [r] = await runProbes(probes, ctx, async () => {
      throw new Error("container is not running");
    });
    expect(r).toMatchObject({ ok: false, message: "could not run on director: container is not running." });
  });
});

describe("timeouts", () => {
  it("say what was being waited for", async () => {
    const { withTimeout, TimeoutError } = await import("../src/errors.js");
    const never = new Promise<never>(() => undefined);
    await expect(withTimeout(() => never, 50, "the probes on rs1")).rejects.toThrow(new TimeoutError("the probes on rs1", 50));
    await expect(withTimeout(() => never, 50, "the probes on rs1")).rejects.toThrow("Timed out after 0.1 s waiting for the probes on rs1.");
  });
});
