/**
 * Session logic on an in-memory engine: start, reattach, reset, resume, leftovers and
 * cleanup after failures, without Docker (the real engine is in *.docker.test.ts).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { labImageRef } from "../src/docker/image.js";
import { instanceContainers } from "../src/docker/instance.js";
import { LABEL } from "../src/docker/labels.js";
import { findLeftovers, openLab, replaySteps, resetLab, runningInstanceOf, startLab, stopLab } from "../src/lab/session.js";
import { readInstanceRecord } from "../src/state/instances.js";
import { FakeEngine, type FakeEngineOptions } from "./helpers/fake-engine.js";

function engine(opts: FakeEngineOptions = {}): FakeEngine {
  const e = new FakeEngine(opts);
  e.images.add(labImageRef());
  return e;
}

async function message(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

beforeEach(() => {
  process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), "lvs-lab-session-"));
});

describe("starting a lab", () => {
  it("creates the topology's networks and labelled containers, learns the interfaces and records the instance", async () => {
    const e = engine();
    const s = await startLab("dnat", e, { name: "alice" });
    expect([...e.networks.values()].map((n) => n.name).sort()).toEqual(["lvs-lab-alice-ext", "lvs-lab-alice-int"]);
    expect(Object.keys(s.containers).sort()).toEqual(["client", "director", "rs1"]);
    expect(s.ifaces).toEqual({ client: { ext: "eth0" }, director: { ext: "eth0", int: "eth1" }, rs1: { int: "eth0" } });
    expect(s.vars["director.int.iface"]).toBe("eth1");
    const labels = [...e.containers.values()].map((c) => c.labels);
    expect(labels.every((l) => l[LABEL.instance] === "alice" && l[LABEL.lab] === "dnat" && l[LABEL.version])).toBe(true);
    expect(await readInstanceRecord("alice")).toMatchObject({ name: "alice", lab: "dnat", dockerHost: e.host });
  });

  it("refuses a name that runs, and says which lab runs under a taken name", async () => {
    const e = engine();
    await startLab("dnat", e, { name: "bob" });
    expect(await message(startLab("dnat", e, { name: "bob" }))).toBe('An instance named "bob" already runs (lab dnat).');
    expect(await runningInstanceOf(e, "bob", "dnat")).toBe(true);
    expect(await message(runningInstanceOf(e, "bob", "nat"))).toBe('An instance named "bob" already runs lab dnat.');
    expect(await runningInstanceOf(e, "carol", "dnat")).toBe(false);
  });

  it("refuses an LVS lab on a kernel without ip_vs and leaves nothing behind", async () => {
    const e = engine({ modules: [] });
    expect(await message(startLab("nat", e))).toBe("Lab nat needs the kernel module ip_vs, which the kernel running Docker (6.1.0-fake) does not have.");
    expect(e.containers.size + e.networks.size).toBe(0);
  });

  it("removes everything when a node's setup fails", async () => {
    const e = engine({ modules: ["ip_vs"], answer: (node, script) => (node === "client" && script.startsWith("lvs-lab-monitor") ? { exitCode: 1, stdout: "", stderr: "no curl" } : undefined) });
    expect(await message(startLab("failover", e))).toMatch(/^Setting up client failed at "lvs-lab-monitor start http:\/\/[\d.]+\/ 0\.2 7200": no curl$/);
    expect(e.containers.size + e.networks.size).toBe(0);
  });

  it("stops at an abort and removes the half-built instance", async () => {
    const e = engine();
    const abort = new AbortController();
    abort.abort();
    expect(await message(startLab("dnat", e, { signal: abort.signal }))).toBe("Interrupted: the half-built lab was removed again.");
    expect(e.containers.size + e.networks.size).toBe(0);
  });

  it("clears the leftovers of its own crashed start and names other leftovers", async () => {
    const e = engine();
    await startLab("dnat", e, { name: "crashed" });
    await startLab("dnat", e, { name: "other" });
    // A kill -9 during start: one container never started, another is gone.
    const [first, second] = await e.listContainers("crashed");
    await e.removeContainer(first!.id);
    e.containers.get(second!.id)!.state = "created";
    const otherRs1 = (await e.listContainers("other")).find((c) => c.labels[LABEL.node] === "rs1")!;
    e.containers.get(otherRs1.id)!.state = "exited";
    expect((await findLeftovers(e)).sort()).toEqual(["crashed", "other"]);
    const notes: string[] = [];
    await startLab("dnat", e, { name: "crashed", onNote: (n) => notes.push(n) });
    expect(notes).toEqual(['removed the leftovers of an interrupted start of "crashed"']);
    expect(await findLeftovers(e)).toEqual(["other"]);
    const more: string[] = [];
    await startLab("dnat", e, { name: "third", onNote: (n) => more.push(n) });
    expect(more).toEqual(["leftovers of crashed runs: other (`lvs-lab stop --all` removes them)"]);
  });
});

describe("a running lab", () => {
  it("is reattached from what the lookup found, with the subnets the engine holds", async () => {
    const e = engine();
    const first = await startLab("dnat", e, { name: "dana" });
    const again = await openLab({ name: "dana", engine: e, containers: await instanceContainers(e, "dana") });
    expect(again.topology.networks).toEqual(first.topology.networks);
    expect(again.vars).toEqual(first.vars);
  });

  it("names a missing or stopped node", async () => {
    const e = engine();
    await startLab("dnat", e, { name: "eve" });
    const found = await instanceContainers(e, "eve");
    e.containers.get(found.rs1!.id)!.state = "exited";
    expect(await message(openLab({ name: "eve", engine: e, containers: await instanceContainers(e, "eve") }))).toBe('In instance "eve", rs1 is not running.');
    await e.removeContainer(found.rs1!.id);
    expect(await message(openLab({ name: "eve", engine: e, containers: await instanceContainers(e, "eve") }))).toBe('Instance "eve" is missing rs1.');
  });

  it("resets to the start of a step: fresh containers on the same networks, earlier solutions replayed", async () => {
    const e = engine();
    const s = await startLab("dnat", e, { name: "fred" });
    const networks = [...e.networks.keys()];
    const before = Object.values(s.containers);
    e.log.length = 0;
    const fresh = await resetLab(s, 2);
    expect([...e.networks.keys()]).toEqual(networks);
    expect(Object.values(fresh.containers).some((id) => before.includes(id))).toBe(false);
    expect(e.log.filter((l) => /ip_forward|PREROUTING/.test(l))).toEqual([
      "director: echo 1 > /proc/sys/net/ipv4/ip_forward",
      `director: iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 8001 -j DNAT --to-destination ${s.vars["rs1.int"]}:8000`,
    ]);
  });

  it("a reset that fails removes the instance rather than leave it half-built", async () => {
    const e = engine();
    const s = await startLab("dnat", e, { name: "gina" });
    let created = 0;
    e.createContainer = async function (this: FakeEngine, spec) {
      if (++created === 2) throw new Error("no space left on device");
      return FakeEngine.prototype.createContainer.call(this, spec);
    };
    expect(await message(resetLab(s, 0))).toBe("no space left on device");
    expect(e.containers.size + e.networks.size).toBe(0);
  });

  it("resumes a learner's progress on fresh containers by replaying the steps done", async () => {
    const e = engine();
    const s = await startLab("dnat", e, { name: "hank" });
    e.log.length = 0;
    const replayed: number[] = [];
    await replaySteps(s, 1, (i) => replayed.push(i));
    expect(replayed).toEqual([0]);
    expect(e.log).toEqual(["director: echo 1 > /proc/sys/net/ipv4/ip_forward"]);
  });

  it("stops: containers, networks and the record go", async () => {
    const e = engine();
    await startLab("dnat", e, { name: "ivan" });
    expect(await stopLab(e, "ivan")).toEqual({ containers: 3, networks: 2 });
    expect(e.containers.size + e.networks.size).toBe(0);
    expect(await readInstanceRecord("ivan")).toBeUndefined();
    expect(await stopLab(e, "ivan")).toEqual({ containers: 0, networks: 0 });
  });
});
