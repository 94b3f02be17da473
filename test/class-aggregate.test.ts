/** The class as data: folding records, the grid rows, stuck and regressed, the CSV. */
import { describe, expect, it } from "vitest";
import { applyRecord, classStep, classView, emptyClass, failingSignature, type ClassState } from "../src/class/aggregate.js";
import { exportCsv } from "../src/class/export.js";
import type { LogRecord } from "../src/class/log.js";
import { cleanText, learnerEventSchema } from "../src/class/protocol.js";
import { DNAT, NAT, event, failing, failingHttp, failingRoute, passing } from "./helpers/class.js";

const HASH = "0".repeat(64);
const MIN = 60_000;

function fold(records: LogRecord[]): ClassState {
  return records.reduce(applyRecord, emptyClass("Workshop"));
}
const join = (learner: string, name: string, t = 0): LogRecord => ({ r: "join", t, learner, name, tokenHash: HASH });
const ev = (learner: string, t: number, e: ReturnType<typeof event>): LogRecord => ({ r: "event", t, learner, e });
const view = (state: ClassState, now: number, stuckMinutes = 5) => classView(state, [DNAT, NAT], { now, stuckMinutes });

describe("the grid", () => {
  it("shows each learner's steps as passed, solved with help, failing or not yet, with time on step and hints", () => {
    const state = fold([
      join("a", "alice"),
      join("b", "bob"),
      ev("a", 10 * MIN, event({ step: "gateway", passed: ["forward", "dnat-rule"], helped: ["dnat-rule"], stepSeconds: 120, hints: { gateway: 2 }, checks: [failing("gateway")] })),
      ev("b", 10 * MIN, event({ step: "forward", stepSeconds: 30 })),
    ]);
    const v = view(state, 11 * MIN);
    expect(v.labs).toHaveLength(1);
    const [alice, bob] = v.labs[0]!.rows;
    expect(alice).toMatchObject({ name: "alice", current: 3, cells: ["passed", "helped", "failed"], onStepSeconds: 180, hints: 2, stuck: false, regressed: [], finished: false });
    expect(alice!.failing).toEqual(["rs1: default route via 10.0.1.50 (director)"]);
    expect(bob).toMatchObject({ name: "bob", current: 1, cells: ["todo", "todo", "todo"], onStepSeconds: 90, failing: [] });
    expect(v.labs[0]!.classStep).toBe(3);
  });

  it("lists learners who have not reported a lab as waiting, and leaves out those who left", () => {
    const state = fold([join("a", "alice"), join("b", "bob"), { r: "leave", t: 5, learner: "b" }]);
    const v = view(state, 10);
    expect(v.waiting).toEqual([{ learner: "a", name: "alice" }]);
    expect(v.learners).toBe(1);
  });

  it("groups learners by lab", () => {
    const state = fold([join("a", "alice"), join("b", "bob"), ev("a", 1, event()), ev("b", 1, event({ lab: "nat", step: "rr", passed: ["ipvs"] }))]);
    expect(view(state, 2).labs.map((g) => [g.id, g.rows.map((r) => r.name)])).toEqual([
      ["dnat", ["alice"]],
      ["nat", ["bob"]],
    ]);
  });

  it("ignores an older event that arrives after a newer one (a queue flushed late)", () => {
    const state = fold([join("a", "alice"), ev("a", 2 * MIN, event({ step: "gateway", passed: ["forward", "dnat-rule"] })), ev("a", 1 * MIN, event({ step: "forward" }))]);
    expect(view(state, 3 * MIN).labs[0]!.rows[0]).toMatchObject({ current: 3, events: 2 });
  });

  it("takes the class step as the upper median of the learners' current steps", () => {
    const rows = (steps: number[]) => steps.map((current) => ({ current, left: false }) as never);
    expect(classStep(rows([1, 3, 3]))).toBe(3);
    expect(classStep(rows([1, 1, 2]))).toBe(1);
    expect(classStep(rows([1, 3]))).toBe(3);
    expect(classStep([])).toBe(1);
  });
});

describe("stuck", () => {
  const stuckAfter = (records: LogRecord[], now: number) => view(fold([join("a", "alice"), ...records]), now).labs[0]!.rows[0]!;

  it("flags a learner whose same probes have failed on the current step for N minutes", () => {
    const records = [ev("a", 0, event({ checks: [failing("forward")] })), ev("a", 2 * MIN, event({ stepSeconds: 120, checks: [failing("forward")] }))];
    expect(stuckAfter(records, 4 * MIN + 59_000).stuck).toBe(false);
    expect(stuckAfter(records, 5 * MIN)).toMatchObject({ stuck: true, stuckSeconds: 300 });
  });

  it("does not flag a learner whose failing probes change (they are trying things)", () => {
    const records = [ev("a", 0, event({ checks: [failing("forward", failingRoute)] })), ev("a", 4 * MIN, event({ stepSeconds: 240, checks: [failing("forward", failingHttp)] }))];
    expect(stuckAfter(records, 6 * MIN).stuck).toBe(false);
    expect(stuckAfter(records, 9 * MIN).stuck).toBe(true);
  });

  it("clears the flag when the step passes, and starts over on the next step", () => {
    const records = [
      ev("a", 0, event({ checks: [failing("forward")] })),
      ev("a", 6 * MIN, event({ step: "dnat-rule", passed: ["forward"], checks: [passing("forward"), failing("dnat-rule")] })),
    ];
    expect(stuckAfter(records, 7 * MIN).stuck).toBe(false);
    expect(stuckAfter(records, 11 * MIN).stuck).toBe(true);
  });

  it("never flags without a failing check, nor a finished learner", () => {
    expect(stuckAfter([ev("a", 0, event())], 60 * MIN).stuck).toBe(false);
    const done = event({ step: "gateway", passed: ["forward", "dnat-rule", "gateway"], checks: [failing("gateway")] });
    expect(stuckAfter([ev("a", 0, done)], 60 * MIN).stuck).toBe(false);
  });

  it("sees only the probes that hold the step back, whatever their message says", () => {
    const a = failingSignature([failingRoute, { ...failingHttp, ok: true }, { ...failingHttp, observation: true }]);
    expect(a).toBe(failingSignature([{ ...failingRoute, message: "other words" }]));
  });
});

describe("regressed", () => {
  it("flags a step that passed before and whose latest check fails", () => {
    const state = fold([
      join("a", "alice"),
      ev("a", 1, event({ step: "dnat-rule", passed: ["forward"], checks: [passing("forward")] })),
      ev("a", 2, event({ step: "dnat-rule", passed: ["forward"], checks: [failing("forward"), failing("dnat-rule")] })),
    ]);
    expect(view(state, 3).labs[0]!.rows[0]).toMatchObject({ regressed: [1], cells: ["failed", "failed", "todo"] });
  });

  it("clears it when the step passes again", () => {
    const state = fold([
      join("a", "alice"),
      ev("a", 1, event({ step: "dnat-rule", passed: ["forward"], checks: [failing("forward")] })),
      ev("a", 2, event({ step: "dnat-rule", passed: ["forward"], checks: [passing("forward")] })),
    ]);
    expect(view(state, 3).labs[0]!.rows[0]!.regressed).toEqual([]);
  });
});

describe("offers", () => {
  it("shows an open catch-up offer on the rows it reaches until the learner gets there", () => {
    const base = [join("a", "alice"), join("b", "bob"), ev("a", 1, event()), ev("b", 1, event({ step: "gateway", passed: ["forward", "dnat-rule"] }))];
    const offered = fold([...base, { r: "offer", t: 2, id: "o1", lab: "dnat", step: 3 }]);
    expect(view(offered, 3).labs[0]!.rows.map((r) => r.offer)).toEqual([3, undefined]);
    const arrived = fold([...base, { r: "offer", t: 2, id: "o1", lab: "dnat", step: 3 }, ev("a", 3, event({ step: "gateway", passed: ["forward", "dnat-rule"], helped: ["forward", "dnat-rule"] }))]);
    expect(view(arrived, 4).labs[0]!.rows[0]!.offer).toBeUndefined();
  });
});

describe("a catch-up", () => {
  it("turns the steps it solved into solved-with-help, not failing nor regressed", () => {
    const state = fold([
      join("a", "alice"),
      ev("a", 0, event({ checks: [failing("forward")] })),
      ev("a", 1, event({ type: "catch-up", step: "gateway", passed: ["forward", "dnat-rule"], helped: ["forward", "dnat-rule"] })),
    ]);
    expect(view(state, 2).labs[0]!.rows[0]).toMatchObject({ current: 3, cells: ["helped", "helped", "todo"], regressed: [], stuck: false });
  });
});

describe("the CSV export", () => {
  it("has one row per learner and lab, quoted, with the step columns", () => {
    const state = fold([join("a", "alice"), ev("a", 0, event({ step: "gateway", passed: ["forward", "dnat-rule"], helped: ["dnat-rule"], checks: [failing("gateway")], hints: { forward: 1 } }))]);
    const lines = exportCsv(view(state, 6 * MIN)).trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      '"learner","lab","instance","current_step","finished","passed","solved_with_help","hints","on_step_seconds","stuck","regressed_steps","failing","left","step_1","step_2","step_3"',
    );
    expect(lines[1]).toBe('"alice","dnat","dnat","3","false","2","1","1","360","true","","rs1: default route via 10.0.1.50 (director)","false","passed","helped","failed"');
  });

  it("defuses names a spreadsheet would run as formulas, and doubles quotes", () => {
    const state = fold([join("a", '=HYPERLINK("x")'), ev("a", 0, event())]);
    expect(exportCsv(view(state, 1)).split("\r\n")[1]).toMatch(/^"'=HYPERLINK\(""x""\)",/);
  });
});

describe("strings from learners' machines", () => {
  it("lose their control characters before they are kept", () => {
    const e = learnerEventSchema.parse({ ...event(), checks: [failing("forward", { ...failingRoute, message: "\x1b[2J\x1b[Hgone\r" })] });
    expect(e.checks![0]!.probes[0]!.message).toBe("\uFFFD[2J\uFFFD[Hgone\uFFFD");
    expect(cleanText("a\u202Eb")).toBe("a\uFFFDb");
  });
});
