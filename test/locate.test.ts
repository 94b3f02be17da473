/**
 * The road to a lab (src/lab/locate.ts) on the in-memory engine: one Engine per host, a
 * look-up that only looks, and the kernel report placing a lab asked, passed on to startLab.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { labImageRef } from "../src/docker/image.js";
import { engineAt, engineHolding, locateInstance } from "../src/lab/locate.js";
import { parseKernelReport } from "../src/lab/kernel.js";
import { startLab } from "../src/lab/session.js";
import { readInstanceRecord, saveInstanceRecord } from "../src/state/instances.js";
import { FakeEngine } from "./helpers/fake-engine.js";

beforeEach(() => {
  process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), "lvs-lab-locate-"));
  process.env.XDG_CACHE_HOME = mkdtempSync(join(tmpdir(), "lvs-lab-locate-cache-"));
  // No engine answers here: the look-ups below must not need one.
  process.env.DOCKER_HOST = `unix://${join(tmpdir(), "lvs-lab-no-engine.sock")}`;
});

/** A fake engine at its own address. */
function fakeAt(host: string, opts: ConstructorParameters<typeof FakeEngine>[0] = {}): FakeEngine {
  const e = new FakeEngine(opts);
  Object.defineProperty(e, "host", { value: host });
  e.images.add(labImageRef());
  return e;
}

describe("engineAt", () => {
  it("gives one Engine per host for the whole process", () => {
    expect(engineAt("tcp://127.0.0.1:1")).toBe(engineAt("tcp://127.0.0.1:1"));
    expect(engineAt("tcp://127.0.0.1:1")).not.toBe(engineAt("tcp://127.0.0.1:2"));
    expect(engineAt("tcp://127.0.0.1:2").host).toBe("tcp://127.0.0.1:2");
  });
});

describe("engineHolding", () => {
  it("finds the first engine where the instance has containers, past one that does not answer", async () => {
    const silent = fakeAt("tcp://127.0.0.1:3");
    silent.listContainers = () => Promise.reject(new Error("connect ECONNREFUSED"));
    const empty = fakeAt("tcp://127.0.0.1:4");
    const holding = fakeAt("tcp://127.0.0.1:5");
    await startLab("dnat", holding, { name: "here" });
    expect(await engineHolding("here", [silent, empty, holding])).toBe(holding);
    expect(await engineHolding("elsewhere", [silent, empty, holding])).toBeUndefined();
  });
});

describe("locateInstance", () => {
  it("only looks: an instance whose engine is gone is not found, and its record stays", async () => {
    const record = { name: "gone", lab: "dnat", dockerHost: `unix://${join(tmpdir(), "lvs-lab-gone.sock")}`, subnets: {}, ifaces: {}, createdAt: "2026-01-01T00:00:00Z" };
    await saveInstanceRecord(record);
    expect(await locateInstance("gone")).toBeUndefined();
    expect(await readInstanceRecord("gone")).toEqual(record);
  });
});

describe("the kernel report placing a lab asked", () => {
  it("is what startLab judges by: no second question to the kernel", async () => {
    const noIpvs = fakeAt("tcp://127.0.0.1:6", { modules: [] });
    await expect(startLab("nat", noIpvs, { name: "asked" })).rejects.toThrow(
      "Lab nat needs the kernel module ip_vs, which the kernel running Docker (6.1.0-fake) does not have.",
    );
    const s = await startLab("nat", noIpvs, { name: "passed", kernelReport: parseKernelReport("ipvs=yes\nipip=no\nsched=rr\n") });
    expect(s.name).toBe("passed");
  });
});
