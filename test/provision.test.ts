/** One instance per learner: names, rosters, and starts side by side on the in-memory engine. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { labImageRef } from "../src/docker/image.js";
import { LABEL } from "../src/docker/labels.js";
import { numberedNames, parseRoster, provisionClass } from "../src/lab/provision.js";
import { startLab } from "../src/lab/session.js";
import { FakeEngine } from "./helpers/fake-engine.js";

describe("learners' instance names", () => {
  it("numbers them to the width of the count, so that they sort", () => {
    expect(numberedNames("learner", 3)).toEqual(["learner-1", "learner-2", "learner-3"]);
    expect(numberedNames("w", 20).slice(8, 11)).toEqual(["w-09", "w-10", "w-11"]);
    expect(() => numberedNames("learner", 0)).toThrow("--count must be a whole number of learners, at least 1.");
    expect(() => numberedNames("Learner", 2)).toThrow('"Learner-1", "Learner-2" cannot name an instance');
  });

  it("reads a roster: a name a line, comments and blank lines skipped, duplicates and bad names refused", () => {
    expect(parseRoster("# morning group\nalice\n\n  bob  # late\n")).toEqual(["alice", "bob"]);
    expect(() => parseRoster("alice\nbob\nalice\n")).toThrow("The roster names alice twice.");
    expect(() => parseRoster("Alice Smith\n")).toThrow('"Alice Smith" cannot name an instance');
    expect(() => parseRoster("# nobody\n")).toThrow("The roster names nobody: one instance name a line.");
  });
});

describe("provisioning a class", () => {
  beforeEach(() => {
    process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), "lvs-lab-provision-"));
  });

  it("starts one fenced instance per learner, never more than `parallel` at once, and leaves a running one alone", async () => {
    const e = new FakeEngine();
    e.images.add(labImageRef());
    await startLab("dnat", e, { name: "w-1" });
    let running = 0;
    let most = 0;
    const create = e.createNetwork.bind(e);
    e.createNetwork = async (spec) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return create(spec);
    };
    const results = await provisionClass("dnat", e, numberedNames("w", 5), { parallel: 2 });
    expect(results.map((r) => [r.name, r.state])).toEqual([["w-1", "running"], ["w-2", "started"], ["w-3", "started"], ["w-4", "started"], ["w-5", "started"]]);
    expect(most).toBe(2); // starts take turns until their two networks exist
    const instances = new Set([...e.containers.values()].map((c) => c.labels[LABEL.instance]));
    expect(instances).toEqual(new Set(["w-1", "w-2", "w-3", "w-4", "w-5"]));
    expect(e.hostScripts.filter((s) => s.includes("-I INPUT 1"))).toHaveLength(5);
  });

  it("twenty starts at once pick twenty different pairs of blocks at the first try", async () => {
    const e = new FakeEngine();
    e.images.add(labImageRef());
    const used = e.usedSubnets.bind(e);
    // The engine answers slowly, as a loaded one does: without turns every start would see the same free blocks.
    e.usedSubnets = async () => {
      await new Promise((r) => setTimeout(r, 10));
      return used();
    };
    let attempts = 0;
    const create = e.createNetwork.bind(e);
    e.createNetwork = (spec) => {
      attempts++;
      return create(spec);
    };
    const results = await provisionClass("dnat", e, numberedNames("c", 20), { parallel: 20 });
    expect(results.every((r) => r.state === "started")).toBe(true);
    expect(attempts).toBe(40);
    expect(new Set([...e.networks.values()].map((n) => n.subnets[0])).size).toBe(40);
  });

  it("one failed start does not stop the others, and says why it failed", async () => {
    const e = new FakeEngine();
    e.images.add(labImageRef());
    await startLab("dnat", e, { name: "b" });
    const results = await provisionClass("nat", e, ["a", "b"], { parallel: 2 });
    expect(results.map((r) => [r.name, r.state, r.error])).toEqual([
      ["a", "failed", "Lab nat needs the kernel module ip_vs, which the kernel running Docker (6.1.0-fake) does not have."],
      ["b", "failed", 'An instance named "b" already runs lab dnat.'],
    ]);
  });
});
