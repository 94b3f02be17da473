/**
 * A workshop's normal case: Ctrl-C at the worst moment, kill -9, several learners side
 * by side, learners who break their lab, corrupt saved state.
 */
import { execa } from "execa";
import { mkdir, writeFile, readdir } from "node:fs/promises";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Engine } from "../src/docker/engine.js";
import { BIN, cli, json } from "./helpers/cli.js";

const engine = new Engine();
const stateHome = mkdtempSync(join(tmpdir(), "lvs-lab-state-"));
const run = (args: string[]) => cli(args, { XDG_STATE_HOME: stateHome });
const resources = async (name: string) => ({
  containers: (await engine.listContainers(name)).length,
  networks: (await engine.listNetworks(name)).length,
});

afterAll(async () => {
  for (const name of ["t-int", "t-kill", "t-break", "t-many-1", "t-many-2", "t-many-3", "t-many-4"]) await run(["stop", "--name", name]);
});

describe("interruption", () => {
  for (const [signal, delay] of [["SIGINT", 150], ["SIGINT", 350], ["SIGINT", 600], ["SIGTERM", 450]] as const) {
    it(`${signal} after ${delay} ms of start leaves nothing behind, and the next start works`, async () => {
      const child = execa("node", [BIN, "start", "dnat", "--name", "t-int", "--no-ui"], { reject: false, env: { NO_COLOR: "1", XDG_STATE_HOME: stateHome } });
      await new Promise((r) => setTimeout(r, delay));
      child.kill(signal);
      const result = await child;
      if (result.signal) {
        // Killed before lvs-lab had started any work (node was still loading): nothing to clean.
        expect(result.exitCode).toBeUndefined();
      } else if (result.exitCode === 0) {
        // Too late to interrupt: start had finished. Then stop must clean up.
        expect((await run(["stop", "--name", "t-int"])).code).toBe(0);
      } else {
        expect(result.exitCode).toBe(130);
        expect(String(result.stderr)).toMatch(/interrupted|terminated/);
      }
      expect(await resources("t-int")).toEqual({ containers: 0, networks: 0 });
      const again = await run(["start", "dnat", "--name", "t-int", "--no-ui"]);
      expect(again.code, again.stderr).toBe(0);
      expect((await run(["stop", "--name", "t-int"])).code).toBe(0);
    });
  }

  it("kill -9 leaves labelled leftovers that start, status and doctor detect and stop --all removes", async () => {
    const child = execa("node", [BIN, "start", "dnat", "--name", "t-kill", "--no-ui"], { reject: false, env: { XDG_STATE_HOME: stateHome } });
    // Wait until the networks exist, then kill mid-way through the containers.
    for (let i = 0; i < 100 && (await resources("t-kill")).networks === 0; i++) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await child;
    const left = await resources("t-kill");
    expect(left.networks).toBeGreaterThan(0);
    const status = await json<Array<{ name: string; broken: boolean }>>(["status"]);
    expect(status.find((s) => s.name === "t-kill")).toMatchObject({ broken: true });
    const doctor = await cli(["doctor"]);
    expect(doctor.stdout).toMatch(/leftovers\s+broken or half-built instances: .*t-kill/);
    const otherStart = await run(["start", "dnat", "--name", "t-int", "--no-ui"]);
    expect(otherStart.stderr).toMatch(/leftovers of crashed runs: .*t-kill/);
    await run(["stop", "--name", "t-int"]);
    expect((await cli(["stop", "--all"])).code).toBe(0);
    expect(await resources("t-kill")).toEqual({ containers: 0, networks: 0 });
  });
});

describe("many learners side by side", () => {
  const names = ["t-many-1", "t-many-2", "t-many-3", "t-many-4"];

  it("start at once, get separate subnets, check concurrently, and cannot reach each other", async () => {
    const started = await Promise.all(names.map((n) => run(["start", "dnat", "--name", n, "--no-ui"])));
    for (const s of started) expect(s.code, s.stderr).toBe(0);
    const subnets = await Promise.all(names.map(async (n) => (await engine.listNetworks(n)).flatMap((net) => net.subnets)));
    const all = subnets.flat();
    expect(new Set(all).size).toBe(all.length);
    await Promise.all(names.map((n) => run(["solve", "--all", "--name", n])));
    const checks = await Promise.all(names.map((n) => cli(["check", "--name", n, "--step", "3", "--json"], { XDG_STATE_HOME: stateHome })));
    for (const c of checks) expect(JSON.parse(c.stdout).passed, c.stdout).toBe(true);
    const status = await json<Array<{ name: string }>>(["status"]);
    expect(status.map((s) => s.name)).toEqual(expect.arrayContaining(names));
    // Learner 1's client cannot reach learner 2's director: Docker isolates the bridges.
    const other = /inet ([\d.]+)\/\d+ .* eth0/.exec((await cli(["exec", "director", "--name", names[1]!, "--", "ip", "-o", "-4", "addr", "show", "eth0"])).stdout)![1]!;
    const reach = await cli(["exec", "client", "--name", names[0]!, "--", "ping", "-c1", "-W1", other]);
    expect(reach.code).not.toBe(0);
  }, 300_000);
});

describe("learner breakage and bad input", () => {
  it("check explains a broken lab and reset restores the step's start", async () => {
    expect((await run(["start", "dnat", "--name", "t-break", "--no-ui"])).code).toBe(0);
    await run(["solve", "--all", "--name", "t-break"]);
    const sh = (node: string, script: string) => run(["exec", node, "--name", "t-break", "--", "sh", "-c", script]);
    await sh("director", "iptables -t nat -F");
    await sh("rs1", "ip route flush table main");
    await sh("rs1", "pkill -f lvs-lab-responder");
    const broken = await json<{ probes: Array<{ ok: boolean; message: string }> }>(["check", "--name", "t-break", "--step", "3"]);
    const messages = broken.probes.filter((p) => !p.ok).map((p) => p.message);
    expect(messages[0]).toMatch(/director has no rule in the nat table's PREROUTING chain/);
    expect(messages[1]).toMatch(/^rs1 has no route to \S+ \(client\) \(`ip route get` says "Network is unreachable"\); it needs one via \S+ \(director\)/);
    const reset = await run(["reset", "--name", "t-break", "--step", "3"]);
    expect(reset.code, reset.stderr).toBe(0);
    await run(["solve", "--name", "t-break", "--step", "3"]);
    const fixed = await json<{ passed: boolean }>(["check", "--name", "t-break", "--step", "3"]);
    expect(fixed.passed).toBe(true);
  }, 300_000);

  it("a corrupt progress file is set aside and the learner starts fresh", async () => {
    await mkdir(join(stateHome, "lvs-lab", "progress"), { recursive: true });
    await writeFile(join(stateHome, "lvs-lab", "progress", "t-break.json"), "{ not json");
    const r = await run(["check", "--name", "t-break"]);
    expect(r.stderr).toMatch(/the saved progress was unreadable; it was moved to .*corrupt/);
    expect([0, 1]).toContain(r.code);
    expect((await readdir(join(stateHome, "lvs-lab", "progress"))).some((f) => f.includes(".corrupt-"))).toBe(true);
  });

  it("unknown nodes, wrong step numbers and names get one sentence and exit 2", async () => {
    const node = await run(["exec", "rs7", "--name", "t-break", "--", "true"]);
    expect(node.code).toBe(2);
    expect(node.stderr).toBe('lvs-lab: Instance "t-break" has no node "rs7" (nodes: client, director, rs1).');
    const step = await run(["check", "--name", "t-break", "--step", "9"]);
    expect(step.code).toBe(2);
    expect(step.stderr).toMatch(/^lvs-lab: --step must be a number from 1 to 3\./);
    const name = await run(["start", "dnat", "--name", "Bad_Name", "--no-ui"]);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/cannot name an instance/);
    const missing = await run(["check", "--name", "nobody"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^lvs-lab: There is no running lab instance "nobody"\./);
  });
});
