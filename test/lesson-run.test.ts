/**
 * The check-and-record use case on an in-memory engine: what `check`, the lesson screen and
 * catch-ups share (the real engine runs it in cli.docker and class.docker).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { labImageRef } from "../src/docker/image.js";
import { changeType, checkAndRecord, progressEvent } from "../src/lab/lesson-run.js";
import { startLab } from "../src/lab/session.js";
import { freshProgress, revealHint } from "../src/state/progress.js";
import { FakeEngine } from "./helpers/fake-engine.js";

beforeEach(() => {
  process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), "lvs-lab-run-"));
});

/** dnat on a fake engine whose director forwards (step 1 passes) or not; the probes' batch answered command by command. */
async function dnat(forwarding: boolean) {
  const e = new FakeEngine({
    answer: (node, script) => {
      if (node !== "director" || !script.includes("ip_forward")) return undefined;
      const marker = /^echo '(\S+) 0 begin'/.exec(script)?.[1];
      const value = forwarding ? "1" : "0";
      return { exitCode: 0, stdout: marker ? `${marker} 0 begin\n${value}\n${marker} 0 end 0\n` : `${value}\n`, stderr: "" };
    },
  });
  e.images.add(labImageRef());
  return startLab("dnat", e, { name: "run" });
}

describe("checkAndRecord", () => {
  it("records a pass of the current step and moves on to the next, in the progress it returns and its event", async () => {
    const s = await dnat(true);
    const before = freshProgress("dnat", new Date("2026-01-01T00:00:00Z"));
    const run = await checkAndRecord(s, before, 0, { only: true });
    expect(run.checks.map((c) => [c.index, c.passed])).toEqual([[0, true]]);
    expect(run.progress).toMatchObject({ step: 1, passed: ["forward"] });
    expect(run.events).toEqual([{ type: "check", progress: run.progress, checks: run.checks }]);
    expect(before).toMatchObject({ step: 0, passed: [] });
    // Onward: step 2 is checked too, fails, and stays current.
    const onward = await checkAndRecord(s, before, 0);
    expect(onward.checks.map((c) => [c.index, c.passed])).toEqual([[0, true], [1, false]]);
    expect(onward.progress).toMatchObject({ step: 1, passed: ["forward"] });
  });

  it("checks onward while steps pass, stopping at the first that fails; a failure records nothing", async () => {
    const s = await dnat(false);
    const before = freshProgress("dnat");
    const run = await checkAndRecord(s, before, 0);
    expect(run.checks.map((c) => [c.index, c.passed])).toEqual([[0, false]]);
    expect(run.progress).toBe(before);
    const all = await checkAndRecord(s, before, 0, { all: true });
    expect(all.checks.map((c) => c.index)).toEqual([0, 1, 2]);
  });

  it("names each change of progress for the class", () => {
    const p = freshProgress("dnat");
    expect(progressEvent(p, revealHint(p, "forward", 2))).toEqual({ type: "hint", progress: revealHint(p, "forward", 2) });
    expect(changeType(p, { ...p, step: 1 })).toBe("progress");
  });
});
