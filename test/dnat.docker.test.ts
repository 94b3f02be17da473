/**
 * Against the real Docker engine: the dnat lab built by the real binary, the reference
 * text's exercise typed through `exec`, the learner's classic mistakes, selftest.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../src/docker/engine.js";
import { cli, json } from "./helpers/cli.js";

const NAME = "t-dnat";
const on = (node: string, ...cmd: string[]) => cli(["exec", node, "--name", NAME, "--", ...cmd]);
const sh = (node: string, script: string) => on(node, "sh", "-c", script);

interface CheckJson {
  passed: boolean;
  probes: Array<{ ok: boolean; message: string; kind: string }>;
}
const check = (step: number) => json<CheckJson>(["check", "--name", NAME, "--step", String(step)]);
const failures = (r: CheckJson) => r.probes.filter((p) => !p.ok).map((p) => p.message);

let vars: { clientExt: string; directorExt: string; directorInt: string; rs1: string; extIface: string; intIface: string };

beforeAll(async () => {
  await cli(["stop", "--name", NAME]);
  const started = await cli(["start", "dnat", "--name", NAME, "--no-ui", "--restart"]);
  expect(started.code, started.stderr).toBe(0);
  const dirAddrs = (await on("director", "ip", "-o", "-4", "addr", "show")).stdout;
  const find = (out: string, prefix: RegExp) => {
    const line = out.split("\n").find((l) => prefix.test(l))!;
    const m = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)/.exec(line)!;
    return { iface: m[1]!, ip: m[2]! };
  };
  const ext = find(dirAddrs, /inet 198\.51\.100\.|inet 198\.1[89]\./);
  const int = find(dirAddrs, /inet 10\./);
  const client = find((await on("client", "ip", "-o", "-4", "addr", "show")).stdout, /eth0/);
  const rs1 = find((await on("rs1", "ip", "-o", "-4", "addr", "show")).stdout, /eth0/);
  vars = { clientExt: client.ip, directorExt: ext.ip, directorInt: int.ip, rs1: rs1.ip, extIface: ext.iface, intIface: int.iface };
}, 600_000);

afterAll(async () => {
  await cli(["stop", "--name", NAME]);
});

describe("the dnat topology on the real engine", () => {
  it("lets every node reach its neighbours", async () => {
    expect((await on("client", "ping", "-c1", "-W2", vars.directorExt)).code).toBe(0);
    expect((await on("director", "ping", "-c1", "-W2", vars.rs1)).code).toBe(0);
    expect((await on("rs1", "ping", "-c1", "-W2", vars.directorInt)).code).toBe(0);
  });

  it("lets learners set net sysctls but nothing host-wide", async () => {
    expect((await sh("director", "echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward")).stdout.trim()).toBe("1");
    const core = await sh("director", "echo x > /proc/sys/kernel/core_pattern");
    expect(core.code).not.toBe(0);
    expect(core.stderr).toMatch(/Read-only file system/);
    expect((await sh("director", "echo b > /proc/sysrq-trigger")).code).not.toBe(0);
    await sh("director", "echo 0 > /proc/sys/net/ipv4/ip_forward");
  });

  it("runs only with the intended capabilities, unprivileged", async () => {
    const engine = new Engine();
    const containers = await engine.listContainers(NAME);
    expect(containers).toHaveLength(3);
    // CapEff: NET_ADMIN(12) NET_RAW(13) NET_BROADCAST(11, director) SETUID(7) SETGID(6) CHOWN(0)
    const caps = (await sh("rs1", "grep CapEff /proc/self/status")).stdout;
    expect(caps.trim()).toBe("CapEff:\t00000000000030c1");
    expect((await sh("director", "grep CapEff /proc/self/status")).stdout.trim()).toBe("CapEff:\t00000000000038c1");
    expect((await sh("rs1", "test -S /var/run/docker.sock")).code).not.toBe(0);
  });
});

describe("the reference text's DNAT exercise, typed through exec", () => {
  it("times out while rs1 routes via Docker's gateway, and works once rs1 routes via the director", async () => {
    expect((await sh("director", "echo 1 > /proc/sys/net/ipv4/ip_forward")).code).toBe(0);
    const rule = `iptables -t nat -A PREROUTING -i ${vars.extIface} -p tcp --dport 8001 -j DNAT --to-destination ${vars.rs1}:8000`;
    expect((await sh("director", rule)).code).toBe(0);
    const before = await on("client", "curl", "-s", "-m", "2", `http://${vars.directorExt}:8001/`);
    expect(before.code).toBe(28);
    expect((await sh("director", "conntrack -L -p tcp 2>/dev/null")).stdout).toMatch(/UNREPLIED/);
    expect((await sh("rs1", `route del default; route add default gw ${vars.directorInt}`)).code).toBe(0);
    const after = await on("client", "curl", "-s", "-m", "3", `http://${vars.directorExt}:8001/`);
    expect(after.stdout).toMatch(new RegExp(`^rs1 saw ${vars.clientExt.replace(/\./g, "\\.")}:\\d+`));
    const report = await check(3);
    expect(failures(report)).toEqual([]);
    expect(report.passed).toBe(true);
  });

  it("names each classic mistake", async () => {
    await sh("director", "echo 0 > /proc/sys/net/ipv4/ip_forward");
    expect(failures(await check(3))).toContain("director: net.ipv4.ip_forward is 0, it must be 1. Go back to the first step.");
    await sh("director", "echo 1 > /proc/sys/net/ipv4/ip_forward");

    const rule = (iface: string, port: number, to: string) => `-A PREROUTING -i ${iface} -p tcp --dport ${port} -j DNAT --to-destination ${to}`;
    await sh("director", `iptables -t nat -F PREROUTING; iptables -t nat ${rule(vars.intIface, 8001, `${vars.rs1}:8000`)}`);
    expect(failures(await check(2))[0]).toBe(
      `director's rule "${rule(vars.intIface, 8001, `${vars.rs1}:8000`)}" does not catch the client's packets: they arrive on ${vars.extIface}, not ${vars.intIface}.`,
    );

    await sh("director", `iptables -t nat -F PREROUTING; iptables -t nat ${rule(vars.extIface, 8010, `${vars.rs1}:8000`)}`);
    expect(failures(await check(2))[0]).toBe(`director's rule "${rule(vars.extIface, 8010, `${vars.rs1}:8000`)}" does not catch the client's packets: they are for port 8001, not 8010.`);

    const typo = vars.rs1.replace(/\d+$/, "201");
    await sh("director", `iptables -t nat -F PREROUTING; iptables -t nat ${rule(vars.extIface, 8001, `${typo}:8000`)}`);
    expect(failures(await check(2))[0]).toBe(`director's rule "${rule(vars.extIface, 8001, `${typo}:8000`)}" DNATs the client's packets to ${typo}:8000, not to ${vars.rs1}:8000 (rs1).`);

    await sh("director", `iptables -t nat -F PREROUTING; iptables -t nat ${rule(vars.extIface, 8001, `${vars.rs1}:8000`)}`);
    const dockerGateway = vars.directorInt.replace(/\d+$/, "1");
    await sh("rs1", `ip route replace default via ${dockerGateway}`);
    const gateway = failures(await check(3));
    expect(gateway[0]).toBe(
      `rs1 sends packets for ${vars.clientExt} (client) via ${dockerGateway} (Docker's gateway on int), not via ${vars.directorInt} (director). Replies must pass the director so that it can undo the DNAT.`,
    );
    // The traffic verdict names the cause its hop trace shows before the count.
    expect(gateway[1]).toBe(
      `rs1 sent its SYN-ACK to ${vars.clientExt} (client) via ${dockerGateway} (Docker's gateway on int), past director, which alone can rewrite it back to ${vars.directorExt}:8001: rs1's route to the client must go through director. Only 0 of 4 requests from client to ${vars.directorExt}:8001 were answered; the rest: timed out.`,
    );
  });

  it("reset puts the lab back to the start of a step", async () => {
    const r = await cli(["reset", "--name", NAME, "--step", "3"]);
    expect(r.code, r.stderr).toBe(0);
    const report = await check(3);
    expect(report.probes.map((p) => p.ok)).toEqual([true, true, false, false]);
  });
});

describe("a learner who configures the whole lab before the first check", () => {
  const AHEAD = "t-dnat-ahead";
  afterAll(async () => {
    await cli(["stop", "--name", AHEAD]);
  });

  it("reaches \"all done\" in one check, with other correct commands than the lesson's", async () => {
    await cli(["stop", "--name", AHEAD]);
    const started = await cli(["start", "dnat", "--name", AHEAD, "--no-ui", "--restart"]);
    expect(started.code, started.stderr).toBe(0);
    const run = (node: string, script: string) => cli(["exec", node, "--name", AHEAD, "--", "sh", "-c", script]);
    const addr = async (node: string, re: RegExp) => re.exec((await run(node, "ip -o -4 addr show")).stdout)![1]!;
    const directorExt = await addr("director", /inet (198\.(?:51\.100|1[89]\.\d+)\.\d+)\//);
    const directorInt = await addr("director", /inet (10\.\d+\.\d+\.\d+)\//);
    const rs1 = await addr("rs1", /inet (10\.\d+\.\d+\.\d+)\//);
    const predict = (...args: string[]) => cli(["predict", "--name", AHEAD, ...args]);
    expect((await predict()).stderr).toBe("lvs-lab: Step 1 (Let the director forward packets) asks for no prediction.");
    expect((await predict("--step", "2", "7")).stderr).toBe("lvs-lab: Answer with a number from 1 to 3.");
    expect((await predict("--step", "2", "2")).code).toBe(0);
    const again = await predict("--step", "2", "1");
    expect([again.code, again.stderr]).toEqual([2, "lvs-lab: You predicted 2 already; a prediction is made once."]);
    expect((await run("director", "sysctl -w net.ipv4.ip_forward=1")).code).toBe(0);
    const nft = [
      "nft add table ip lab",
      "nft add chain ip lab prerouting '{ type nat hook prerouting priority dstnat; }'",
      `nft add rule ip lab prerouting ip daddr ${directorExt} tcp dport 8001 dnat to ${rs1}:8000`,
    ].join(" && ");
    expect((await run("director", nft)).code).toBe(0);
    expect((await run("rs1", `route add default gw ${directorInt}`)).code).toBe(0);

    const report = await json<{ passed: boolean; finished: boolean; current: number; steps: Array<{ id: string; passed: boolean }> }>(["check", "--name", AHEAD]);
    expect(report.steps.map((s) => [s.id, s.passed])).toEqual([
      ["forward", true],
      ["dnat-rule", true],
      ["gateway", true],
    ]);
    expect(report).toMatchObject({ passed: true, finished: true, current: 3 });
    const revealed = (report.steps[1] as { prediction?: { yours?: number; answer: number; reveal?: string } }).prediction;
    expect(revealed).toMatchObject({ yours: 2, answer: 2 });
    expect(revealed!.reveal).toMatch(/^It hangs\. The director rewrote the request/);
    const all = await cli(["check", "--name", AHEAD, "--all", "--step", "2"]);
    expect([all.code, all.stderr]).toEqual([2, "lvs-lab: --all and --step cannot go together: --all checks every step."]);
    const text = await cli(["check", "--name", AHEAD]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("All steps done.");
  }, 300_000);
});

describe("commands and errors", () => {
  it("reattaches to a running instance, refuses a name taken by another lab and unknown labs", async () => {
    const again = await cli(["start", "dnat", "--name", NAME, "--no-ui"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/reattached to the running instance t-dnat/);
    const taken = await cli(["start", "nat", "--name", NAME, "--no-ui"]);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/An instance named "t-dnat" already runs lab dnat\./);
    const unknown = await cli(["start", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^lvs-lab: There is no lab "nope"\./);
    expect(unknown.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it("says one sentence when DOCKER_HOST points nowhere", async () => {
    const r = await cli(["status"], { DOCKER_HOST: "tcp://127.0.0.1:1" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^lvs-lab: The Docker engine at tcp:\/\/127\.0\.0\.1:1 is not reachable \(econnrefused\)\./);
  });

  it("lists the instance in status --json", async () => {
    const rows = await json<Array<{ name: string; lab: string; nodes: unknown[] }>>(["status"]);
    expect(rows.find((r) => r.name === NAME)).toMatchObject({ lab: "dnat" });
  });
});
