/**
 * Two dnat instances on the real engine, each fenced off by src/lab/isolation.ts, proved
 * from inside their containers: A's client reaches A's own nodes; B's nodes are out of
 * its reach; so are the engine host's services (throw-away TCP listeners bound to
 * 0.0.0.0/:: and to A's bridge gateway, over IPv4 and, once the learner turns IPv6 on,
 * over the bridge's link-local address; dockerd's TCP API when it listens) — and without
 * the rules the very same listeners answer, so it is the rules that stop them. The lesson's
 * trap (rs1's replies via Docker's gateway die on the host) is still a trap.
 */
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, type LabNetwork } from "../src/docker/engine.js";
import { labImageRef } from "../src/docker/image.js";
import { fenceInstance, fenceScript, unfenceInstances } from "../src/lab/isolation.js";
import { checkStep, solveStep, startLab, stopLab, type LabSession } from "../src/lab/session.js";
import { cli } from "./helpers/cli.js";
import { pings, reach } from "./helpers/reach.js";

const engine = new Engine();
const A = "i-iso-a";
const B = "i-iso-b";
const CRASHED = "i-iso-crashed";
const PROVISIONED = ["i-iso-p-1", "i-iso-p-2"];
let a: LabSession;
let b: LabSession;
let aNetworks: LabNetwork[];
const servers: Server[] = [];
let port = 0;
let gatewayPort = 0;

function listen(host: string, p: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // A probe that gives up resets its connection: that is the prober's business, not an error here.
    const server = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.end("hello from the host\n");
    });
    server.once("error", reject);
    server.listen({ host, port: p, ipv6Only: host === "::" }, () => resolve((server.address() as { port: number }).port));
    servers.push(server);
  });
}

const hostRules = async () => (await engine.runOnHost(labImageRef(), "iptables-save -t filter; ip6tables-save -t filter", "reading the rules")).stdout;
const rulesOf = (text: string, instance: string) => text.split("\n").filter((l) => l.includes(`"lvs-lab:${instance}"`));
const gateway = (s: LabSession, net: string) => s.topology.networks[net]!.gateway;
/** The host's address on its first non-Docker interface (its LAN, where SSH would listen). */
const hostLanAddress = () =>
  Object.entries(networkInterfaces())
    .filter(([name]) => !/^(lo|docker|br-|veth)/.test(name))
    .flatMap(([, list]) => list ?? [])
    .find((i) => i.family === "IPv4" && !i.internal)?.address;
/** TCP ports dockerd listens on (its API bound to TCP), if any. */
const dockerdTcpPorts = () => [...execFileSync("ss", ["-Hltnp"], { encoding: "utf8" }).matchAll(/:(\d+)\s.*"dockerd"/g)].map((m) => Number(m[1]));

beforeAll(async () => {
  await Promise.all([A, B, CRASHED, ...PROVISIONED].map((n) => stopLab(engine, n)));
  [a, b] = await Promise.all([startLab("dnat", engine, { name: A }), startLab("dnat", engine, { name: B })]);
  aNetworks = await engine.listNetworks(A);
  port = await listen("0.0.0.0", 0);
  await listen("::", port);
  // A second listener bound to the bridge gateway only, as a class server bound to it would be.
  gatewayPort = await listen(gateway(a, "ext"), 0);
}, 300_000);

afterAll(async () => {
  for (const s of servers) s.close();
  await Promise.all([A, B, CRASHED, ...PROVISIONED].map((n) => stopLab(engine, n)));
});

describe("an instance is fenced off on a shared engine", () => {
  it("A's containers reach A's own nodes on both networks", async () => {
    expect(await pings(engine, a.containers.client!, a.vars["director.ext"]!)).toBe(true);
    expect(await pings(engine, a.containers.director!, a.vars["rs1.int"]!)).toBe(true);
    expect(await reach(engine, a.containers.director!, [`${a.vars["rs1.int"]}:8000`])).toEqual({ [`${a.vars["rs1.int"]}:8000`]: "open" });
  });

  it("B's nodes are out of A's reach, even from A's director with its two networks and a route through the host", async () => {
    await engine.execScript(a.containers.director!, `ip route add ${b.topology.networks.int!.subnet} via ${gateway(a, "int")}`);
    const targets = [`${b.vars["client.ext"]}:22`, `${b.vars["director.ext"]}:22`, `${b.vars["rs1.int"]}:8000`];
    expect(Object.values(await reach(engine, a.containers.client!, targets))).toEqual(["timeout", "timeout", "timeout"]);
    expect(Object.values(await reach(engine, a.containers.director!, targets))).toEqual(["timeout", "timeout", "timeout"]);
    expect(await pings(engine, a.containers.client!, b.vars["client.ext"]!)).toBe(false);
  });

  it("the host's services: answering without A's rules, out of A's reach with them, on every host address, IPv4 and IPv6", async () => {
    // A learner turns IPv6 on (net sysctls are writable) to try the bridge's link-local address.
    await engine.execScript(a.containers.client!, "sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0; sleep 2");
    const bridge = aNetworks.find((n) => n.labels["io.lvs-lab.network"] === "ext")!.bridge!;
    const linkLocal = networkInterfaces()[bridge]?.find((i) => i.family === "IPv6")?.address;
    const lan = hostLanAddress();
    const targets = [
      `${gateway(a, "ext")}:${port}`,
      `${gateway(a, "ext")}:${gatewayPort}`,
      `${gateway(a, "int")}:${port}`,
      `${gateway(b, "ext")}:${port}`,
      ...(lan ? [`${lan}:${port}`] : []),
      ...(linkLocal ? [`${linkLocal}%eth0:${port}`] : []),
      ...dockerdTcpPorts().map((p) => `${gateway(a, "ext")}:${p}`),
    ];
    expect(linkLocal, "the bridge has an IPv6 link-local address").toBeDefined();
    expect(lan, "the host has a LAN address").toBeDefined();

    await unfenceInstances(engine, labImageRef(), A);
    const unfenced = await reach(engine, a.containers.client!, targets);
    await fenceInstance(engine, A, labImageRef());
    const fenced = await reach(engine, a.containers.client!, targets);

    // Without the rules the host answers on its own addresses (B's gateway is the host too).
    expect(Object.values(unfenced).every((r) => r === "open")).toBe(true);
    expect(fenced).toEqual(Object.fromEntries(targets.map((t) => [t, "timeout"])));
    expect(await pings(engine, a.containers.client!, gateway(a, "ext"))).toBe(false);
  });

  it("the lesson's trap is still a trap: rs1's replies via Docker's gateway never reach the client", async () => {
    await solveStep(a, 0);
    await solveStep(a, 1);
    const http = (await checkStep(a, 2)).find((r) => r.kind === "http")!;
    expect(http.ok).toBe(false);
    expect(http.message).toMatch(/timed out/);
    await solveStep(a, 2);
    expect((await checkStep(a, 2)).every((r) => r.ok)).toBe(true);
  });

  it("the rules are labelled with their instance, go with it, and a crash's leftovers are found by name", async () => {
    const before = await hostRules();
    expect(rulesOf(before, A)).toHaveLength(12); // 2 bridges × 3, iptables and ip6tables
    expect(rulesOf(before, B)).toHaveLength(12);
    for (const n of aNetworks) expect(rulesOf(before, A).filter((l) => l.includes(n.bridge!))).toHaveLength(6);

    await stopLab(engine, B);
    const afterB = await hostRules();
    expect(rulesOf(afterB, B)).toEqual([]);
    expect(rulesOf(afterB, A)).toEqual(rulesOf(before, A));

    // A crash: rules whose instance has no container or network left.
    await engine.runOnHost(labImageRef(), fenceScript(CRASHED, [{ hook: "input", match: "-i br-deadbeef0001" }]), "a crash's rules");
    expect(rulesOf(await hostRules(), CRASHED)).toHaveLength(2);
    await stopLab(engine, CRASHED);
    expect(rulesOf(await hostRules(), CRASHED)).toEqual([]);
  });

  it("class provision starts one fenced instance per learner and leaves running ones alone", async () => {
    const provision = () => cli(["class", "provision", "--lab", "dnat", "--count", "2", "--prefix", "i-iso-p", "--json"]);
    const first = await provision();
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as { results: Array<{ name: string; state: string }> }).results.map((r) => [r.name, r.state])).toEqual(PROVISIONED.map((n) => [n, "started"]));
    const rules = await hostRules();
    for (const n of PROVISIONED) expect(rulesOf(rules, n)).toHaveLength(12);
    const again = await provision();
    expect((JSON.parse(again.stdout) as { results: Array<{ state: string }> }).results.map((r) => r.state)).toEqual(["running", "running"]);
  });
});
