import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  parseAddresses,
  parseHttpSamples,
  parseIptablesSave,
  parseIpvsSave,
  parseLinks,
  parseNeighbours,
  parseRouteGet,
  parseRoutes,
} from "../src/probes/parse.js";
import { parseAddressList } from "../src/docker/instance.js";
import { parseKernelReport } from "../src/lab/kernel.js";
import { parseProcNetRoute } from "../src/lab/host.js";
import { readRecording } from "./helpers/recorded.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("recorded command outputs", () => {
  it("reads iptables-save from both back-ends and ignores Docker's DNS chains", () => {
    const rules = parseIptablesSave(fixture("iptables-save-nat.txt"));
    expect(rules.map((r) => `${r.table} ${r.chain} ${r.args.in} ${r.args.dport} ${r.args.to}`)).toEqual([
      "nat PREROUTING eth0 8001 10.0.1.210:8000",
      "nat PREROUTING eth1 8002 10.0.1.211:8000",
    ]);
    expect(rules[1]!.negated.has("dport")).toBe(true);
    expect(rules[0]!.args.target).toBe("DNAT");
  });

  it("reads ipvsadm -Sn with schedulers, methods, weights and persistence", () => {
    const services = parseIpvsSave(fixture("ipvsadm-Sn.txt"));
    expect(services).toEqual([
      {
        protocol: "tcp",
        address: "198.51.100.50:80",
        scheduler: "wrr",
        realServers: [
          { address: "10.0.1.210:8000", method: "masq", weight: 3 },
          { address: "10.0.1.211:8000", method: "masq", weight: 1 },
        ],
      },
      {
        protocol: "tcp",
        address: "198.51.100.77:80",
        scheduler: "rr",
        persistent: 300,
        realServers: [
          { address: "198.51.100.20:80", method: "route", weight: 1 },
          { address: "198.51.100.21:80", method: "tunnel", weight: 0 },
        ],
      },
    ]);
  });

  it("reads ip route", () => {
    expect(parseRoutes(fixture("ip-route.txt"))).toEqual([
      { to: "default", via: "10.0.1.50", dev: "eth0" },
      { to: "10.0.1.0/24", dev: "eth0" },
    ]);
  });

  it("reads metrics and the kernel's choice from ip route get", () => {
    const recording = readRecording("route/append-metric-500.txt");
    expect(parseRoutes(recording.get("ip -4 route show")!.output).slice(0, 2)).toEqual([
      { to: "default", via: "10.0.1.1", dev: "eth0" },
      { to: "default", via: "10.0.1.50", dev: "eth0", metric: 500 },
    ]);
    expect(parseRouteGet(recording.get("ip -4 route get 198.51.100.100")!.output)).toEqual({ destination: "198.51.100.100", via: "10.0.1.1", dev: "eth0" });
    expect(parseRouteGet("10.0.1.50 dev eth0 src 10.0.1.210 uid 0 \n    cache \n")).toEqual({ destination: "10.0.1.50", dev: "eth0" });
    expect(parseRouteGet("local 10.0.1.210 dev lo table local src 10.0.1.210 uid 0 \n")).toEqual({ destination: "10.0.1.210", dev: "lo" });
    expect(parseRouteGet("RTNETLINK answers: Network is unreachable\n")).toBeUndefined();
  });

  it("reads ip -o addr with labels and /32 addresses on lo", () => {
    const addrs = parseAddresses(fixture("ip-addr.txt"));
    expect(addrs).toContainEqual({ iface: "lo", address: "198.51.100.77", prefix: 32, label: "lo:0" });
    expect(addrs).toContainEqual({ iface: "eth0", address: "10.0.1.210", prefix: 24 });
    expect(parseAddressList(fixture("ip-addr.txt"))["10.0.1.210"]).toBe("eth0");
  });

  it("reads neighbour and link tables", () => {
    expect(parseNeighbours(fixture("ip-neigh.txt"))).toEqual({ "198.51.100.50": "02:42:c6:33:64:32" });
    expect(parseLinks(fixture("ip-link.txt"))).toEqual({ eth0: "02:42:c6:33:64:32", eth1: "02:42:0a:00:01:32" });
  });

  it("reads the client's request loop", () => {
    expect(parseHttpSamples("ok rs1 saw 198.51.100.100:40000\nfail 28\nok rs2 saw 10.0.1.50:1\nfail 7\n")).toEqual([
      { ok: true, server: "rs1", clientSeen: "198.51.100.100" },
      { ok: false, error: "timed out" },
      { ok: true, server: "rs2", clientSeen: "10.0.1.50" },
      { ok: false, error: "connection refused" },
    ]);
  });

  it("reads the kernel check", () => {
    expect(parseKernelReport("ipvs=yes\nipip=no\nsched=rr\nsched=wlc\nIP Virtual Server version 1.2.1 (size=4096)\n")).toEqual({
      ipvs: true,
      ipip: false,
      schedulers: ["rr", "wlc"],
      detail: "IP Virtual Server version 1.2.1 (size=4096)",
    });
    expect(parseKernelReport("ipvs=no\nipip=no\nCan't initialize ipvs: Protocol not available\n").ipvs).toBe(false);
  });

  it("reads /proc/net/route, skipping the default route", () => {
    const text = [
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
      "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
      "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
      "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
    ].join("\n");
    expect(parseProcNetRoute(text)).toEqual(["10.0.2.0/24", "172.17.0.0/16"]);
  });
});
