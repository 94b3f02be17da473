/** The lesson screen's reducer, without a terminal: events in, state and effects out. */
import { describe, expect, it } from "vitest";
import type { ProbeResult } from "../src/probes/runner.js";
import { freshProgress, type Progress } from "../src/state/progress.js";
import type { ResolvedTopology } from "../src/topology/resolve.js";
import { initialLessonState, recheckDelayMs, reduce, shownStep, snapshotOf, type KeyPress, type LessonEffect, type LessonEvent, type LessonState } from "../src/ui/lesson-state.js";
import { plainText } from "../src/text/lines.js";
import { columns, lessonPane } from "../src/ui/screen.js";
import type { LabView, StepView, UiSnapshot } from "../src/ui/types.js";

const T = Date.UTC(2024, 0, 1, 10, 0, 0);
/** The lesson pane's width inside an 80-column screen. */
const WIDTH = columns(80).right - 2;

const topology: ResolvedTopology = {
  id: "dnat",
  title: "Port forwarding",
  networks: { ext: { name: "ext", subnet: "198.51.100.0/24", prefix: 24, gateway: "198.51.100.1" } },
  nodes: {
    client: { name: "client", role: "client", addresses: { ext: "198.51.100.100" }, serve: [], sysctls: {}, setup: [] },
    director: { name: "director", role: "director", addresses: { ext: "198.51.100.50" }, serve: [], sysctls: {}, setup: [] },
    rs1: { name: "rs1", role: "realserver", addresses: { ext: "198.51.100.210" }, serve: [8000], sysctls: {}, setup: [] },
  },
  vips: {},
};

const predict = { question: "What does curl do?", choices: ["rs1 answers", "it hangs", "refused"], answer: 2, reveal: "It hangs: the reply takes the wrong gateway." };
const steps: StepView[] = [
  {
    id: "forward",
    title: "Let the director forward packets",
    prose: "Turn on forwarding.\n\n" + "A long paragraph about forwarding. ".repeat(30),
    hints: ["First hint: read the value.", "Second hint: write 1 into it."],
    solutions: [{ node: "director", commands: "echo 1 > /proc/sys/net/ipv4/ip_forward" }],
  },
  { id: "dnat-rule", title: "Rewrite the destination", prose: "Add a DNAT rule.", hints: ["Use iptables."], solutions: [{ node: "director", commands: "iptables -t nat -A PREROUTING -j DNAT" }], predict },
  { id: "gateway", title: "Send replies back", prose: "Fix the gateway.", hints: [], solutions: [{ node: "rs1", commands: "ip route replace default via 198.51.100.50" }] },
];
const view: LabView = { labId: "dnat", title: "Port forwarding", instance: "dnat", engineHost: "unix:///x", intro: "", steps, topology, ifaces: {}, nodes: ["client", "director", "rs1"] };
const ids = steps.map((s) => s.id);

const failing: ProbeResult[] = [{ ok: false, kind: "sysctl", node: "director", description: "ip_forward = 1", message: "it is 0.", hint: 1 }];
const passing: ProbeResult[] = [{ ok: true, kind: "sysctl", node: "director", description: "ip_forward = 1", message: "it is 1." }];
const observation: ProbeResult = { ok: false, observation: true, kind: "http", node: "client", description: "no answer yet", message: "answered 2 of 2." };

function lesson(progress: Partial<Progress> = {}, snap: Partial<UiSnapshot> = {}, autoCheck = true): LessonState {
  const snapshot: UiSnapshot = { view, progress: { ...freshProgress("dnat", new Date(T)), ...progress }, scroll: 0, solutionShown: [], outcome: {}, ...snap };
  return initialLessonState(snapshot, { width: 80, height: 23, colour: false }, { autoCheck, checkEveryMs: 2000, advanceAfterMs: 1500 });
}

/** Reduces events in order; returns the last state and every effect asked for on the way. */
function play(state: LessonState, ...events: LessonEvent[]): { state: LessonState; effects: LessonEffect[] } {
  const effects: LessonEffect[] = [];
  for (const e of events) {
    const t = reduce(state, e);
    state = t.state;
    effects.push(...t.effects);
  }
  return { state, effects };
}

const key = (input: string, k: KeyPress = {}): LessonEvent => ({ type: "key", input, key: k, at: T + 1000 });
const keys = (...inputs: string[]) => inputs.map((i) => key(i));
const checked = (step: number, results: ProbeResult[]): LessonEvent => ({ type: "checked", step, results, at: T + 2000, ms: 120 });
const timer = (t: "recheck" | "advance"): LessonEvent => ({ type: "timer", timer: t, at: T + 3000 });
const of = <K extends LessonEffect["type"]>(effects: LessonEffect[], type: K) => effects.filter((e): e is Extract<LessonEffect, { type: K }> => e.type === type);
const saves = (effects: LessonEffect[]) => of(effects, "save").map((e) => e.progress);
/** A state with a check of the current step under way (what mount does with autoCheck). */
const checking = (s: LessonState) => play(s, { type: "mount" }).state;

describe("checks", () => {
  it("checks on mount only when checking by itself", () => {
    expect(play(lesson(), { type: "mount" }).effects).toEqual([{ type: "stopTimer", timer: "recheck" }, { type: "check", step: 0 }]);
    expect(play(lesson({}, {}, false), { type: "mount" }).effects).toEqual([]);
  });

  it("runs one check at a time: one asked for meanwhile runs after it, then the re-check timer", () => {
    const s = checking(lesson());
    const asked = play(s, key("c"));
    expect(of(asked.effects, "check")).toEqual([]);
    const done = play(asked.state, checked(0, failing));
    expect(of(done.effects, "check")).toEqual([{ type: "check", step: 0 }]);
    const again = play(done.state, checked(0, failing));
    expect(again.effects).toEqual([{ type: "startTimer", timer: "recheck", ms: 2000 }]);
    expect(again.state.checking).toBe(false);
    expect(play(again.state, timer("recheck")).effects).toEqual([{ type: "stopTimer", timer: "recheck" }, { type: "check", step: 0 }]);
  });

  it("shows a failing result, marks the step and keeps unchanged results as they were", () => {
    const first = play(checking(lesson()), checked(0, failing)).state;
    expect(first.last).toEqual({ step: 0, results: failing, at: T + 2000, ms: 120 });
    expect(first.outcome).toEqual({ forward: false });
    const second = play(first, timer("recheck"), checked(0, structuredClone(failing))).state;
    expect(second.last!.results).toBe(first.last!.results);
    expect(second.outcome).toBe(first.outcome);
  });

  it("names a check that could not run, and checks again later", () => {
    const r = play(checking(lesson()), { type: "checkFailed", step: 0, error: "engine gone" });
    expect(r.state.notice).toBe("Check failed: engine gone");
    expect(r.effects).toEqual([{ type: "startTimer", timer: "recheck", ms: 2000 }]);
  });

  it("never runs a check that restarts nodes by itself: only c does, and no timer follows it", () => {
    const manual: LabView = { ...view, steps: [steps[0]!, { ...steps[2]!, restarts: ["director"] }] };
    const s = lesson({}, { view: manual });
    const moved = play(checking(s), key("n"), checked(0, failing));
    expect(moved.state.notice).toBe("This step's check restarts director: it runs only when you press c.");
    expect(of(moved.effects, "check")).toEqual([]);
    const asked = play(moved.state, key("c"));
    expect(of(asked.effects, "check")).toEqual([{ type: "check", step: 1 }]);
    expect(play(asked.state, checked(1, failing)).effects).toEqual([]);
  });

  it("drops the result of a check for a step the learner has left", () => {
    const moved = play(checking(lesson()), key("n")).state;
    const r = play(moved, checked(0, passing));
    expect(r.state.last).toBeUndefined();
    expect(r.state.outcome).toEqual({});
    expect(r.state.progress.passed).toEqual([]);
    expect(r.effects).toEqual([{ type: "stopTimer", timer: "recheck" }, { type: "check", step: 1 }]);
  });
});

describe("a pass", () => {
  it("is recorded and saved at once, the step stays on screen, and the advance timer opens the next", () => {
    const r = play(checking(lesson()), checked(0, passing));
    expect(saves(r.effects)).toHaveLength(1);
    expect(r.state.progress).toMatchObject({ passed: ["forward"], step: 1 });
    expect(shownStep(r.state)).toBe(0);
    expect(r.state.notice).toBe("✔ Step 1 passed! On to the next step…");
    expect(r.effects).toContainEqual({ type: "startTimer", timer: "advance", ms: 1500 });
    // Leaving now starts the next mount on the next step.
    expect(snapshotOf(r.state)).toMatchObject({ progress: { step: 1 }, last: undefined, scroll: 0 });
    const next = play(r.state, timer("advance"));
    expect(shownStep(next.state)).toBe(1);
    expect(next.state.last).toBeUndefined();
    expect(saves(next.effects)).toEqual([]);
    expect(next.state.notice).toBe("Predict first: the question is in the lesson pane, answer with 1–3.");
    expect(of(next.effects, "check")).toEqual([{ type: "check", step: 1 }]);
  });

  it("is not recorded twice, and n during the pause goes on at once", () => {
    const held = play(checking(lesson()), checked(0, passing), timer("recheck")).state;
    const again = play(held, checked(0, passing));
    expect(saves(again.effects)).toEqual([]);
    const on = play(again.state, key("n"));
    expect(shownStep(on.state)).toBe(1);
    expect(on.effects).toContainEqual({ type: "stopTimer", timer: "advance" });
    expect(play(on.state, timer("advance")).state).toBe(on.state);
  });

  it("is held back by no observation: only counted probes decide", () => {
    const r = play(checking(lesson()), checked(0, [...passing, observation]));
    expect(r.state.progress.passed).toEqual(["forward"]);
    expect(r.state.outcome).toEqual({ forward: true });
    const onlyObserved = play(checking(lesson()), checked(0, [{ ...observation, ok: true }]));
    expect(onlyObserved.state.progress.passed).toEqual([]);
  });

  it("of the last step completes the lab, or points back to the others; nothing opens after it", () => {
    const done = play(checking(lesson({ step: 2, passed: ["forward", "dnat-rule"] })), checked(2, passing));
    expect(done.state.notice).toBe("✔ Step 3 passed: lab complete! q quits.");
    expect(of(done.effects, "startTimer").map((e) => e.timer)).toEqual(["recheck"]);
    expect(done.state.holding).toBeUndefined();
    const gaps = play(checking(lesson({ step: 2 })), checked(2, passing));
    expect(gaps.state.notice).toBe("✔ Step 3 passed; n/p to revisit the others.");
  });
});

describe("keys", () => {
  it("n and p move through the steps with moveTo, within the lesson", () => {
    const r = play(lesson({}, {}, false), ...keys("n", "n", "n"));
    expect(shownStep(r.state)).toBe(2);
    expect(saves(r.effects).map((p) => p.step)).toEqual([1, 2]);
    expect(saves(r.effects)[0]!.startedAt[ids[1]!]).toBe(new Date(T + 1000).toISOString());
    const back = play(r.state, ...keys("p", "p", "p"));
    expect(shownStep(back.state)).toBe(0);
    expect(saves(back.effects)).toHaveLength(2);
  });

  it("c clears the notice and checks now", () => {
    const r = play(lesson({}, { notice: "Back from director" }, false), key("c"));
    expect(r.state.notice).toBeUndefined();
    expect(of(r.effects, "check")).toEqual([{ type: "check", step: 0 }]);
  });

  it("h reveals one hint at a time with revealHint and scrolls to it", () => {
    const one = play(lesson({}, {}, false), key("h"));
    expect(one.state.progress.hintsShown).toEqual({ forward: 1 });
    expect(one.state.notice).toBe("Hint 1 of 2 is in the lesson pane.");
    const pane = lessonPane(view, one.state.progress, [], 0, WIDTH, false);
    expect(one.state.scroll).toBe(pane.hintAt[0]! - 1);
    const all = play(one.state, key("h"), key("h"));
    expect(all.state.progress.hintsShown).toEqual({ forward: 2 });
    expect(saves(all.effects)).toHaveLength(1);
    expect(all.state.notice).toBe("All 2 hints are shown. s shows the solution.");
    expect(play(lesson({ step: 2 }), key("h")).state.notice).toBe("This step has no hints.");
  });

  it("j, k, space and b scroll the lesson within its length", () => {
    const s = lesson({}, {}, false);
    const length = lessonPane(view, s.progress, [], 0, WIDTH, false).lines.length;
    expect(play(s, key("k")).state.scroll).toBe(0);
    expect(play(s, key("j"), key("j")).state.scroll).toBe(2);
    expect(play(s, key("", { downArrow: true })).state.scroll).toBe(1);
    const paged = play(s, key(" ")).state.scroll;
    expect(paged).toBeGreaterThan(1);
    expect(play(s, key(" "), key("b")).state.scroll).toBe(0);
    const end = play(s, ...Array.from({ length: 20 }, () => key("", { pageDown: true }))).state.scroll;
    expect(end).toBeLessThan(length);
    expect(play(s, ...Array.from({ length: 21 }, () => key("", { pageDown: true }))).state.scroll).toBe(end);
  });

  it("? opens the help with its own scroll; Esc, ? or q close it", () => {
    const open = play(lesson({}, {}, false), key("?")).state;
    expect(open.help).toEqual({ scroll: 0 });
    expect(play(open, key("j")).state.help!.scroll).toBe(1);
    expect(play(open, key("j")).state.scroll).toBe(0);
    for (const close of [key("", { escape: true }), key("?"), key("q")]) {
      const r = play(open, close);
      expect(r.state.help).toBeUndefined();
      expect(r.state.dialog).toBeUndefined();
    }
  });

  it("Ctrl-C leaves at once, keeping the lab, from anywhere; nothing is handled after", () => {
    for (const s of [lesson(), play(lesson(), key("q")).state, play(lesson(), key("x")).state]) {
      const r = play(s, key("c", { ctrl: true }));
      expect(r.effects).toEqual([{ type: "exit", exit: { kind: "quit", stop: false, snapshot: snapshotOf(s) } }]);
      expect(play(r.state, key("n"), checked(0, passing), timer("recheck"))).toEqual({ state: r.state, effects: [] });
    }
  });

  it("an abort leaves like a quit that keeps the lab, with what the screen had", () => {
    const s = play(lesson(), key("h")).state;
    expect(play(s, { type: "abort" }).effects).toEqual([{ type: "exit", exit: { kind: "quit", stop: false, snapshot: snapshotOf(s) } }]);
  });

  it("a resize is remembered for the layout", () => {
    expect(play(lesson(), { type: "resize", width: 120, height: 40 }).state.screen).toEqual({ width: 120, height: 40, colour: false });
  });
});

describe("predictions", () => {
  const atPredict = () => lesson({ step: 1, passed: ["forward"] }, {}, false);

  it("1–N record the answer once with recordPrediction; other keys and later answers change nothing", () => {
    const r = play(atPredict(), key("4"), key("0"), key("3"), key("1"));
    expect(saves(r.effects).map((p) => p.predictions)).toEqual([{ "dnat-rule": 3 }]);
    expect(r.state.notice).toBe("Prediction 3 kept. Measure now: the step's pass shows the answer.");
  });

  it("are revealed after the pass, and cannot be made after it", () => {
    const answered = play(atPredict(), key("2")).state;
    expect(plainText(lessonPane(view, answered.progress, [], 1, WIDTH, false).lines)).not.toContain("It hangs");
    const passed = play(answered, key("c"), checked(1, passing)).state;
    expect(plainText(lessonPane(view, passed.progress, [], 1, WIDTH, false).lines)).toContain("It hangs: the reply takes the wrong gateway.");
    const late = play(play(atPredict(), key("c"), checked(1, passing)).state, key("p"), key("n"), key("2"));
    expect(late.state.progress.predictions).toEqual({});
  });

  it("keep their step on screen after the pass, scrolled to the answer, until n opens the next", () => {
    const r = play(play(atPredict(), key("2")).state, key("c"), checked(1, passing));
    expect(shownStep(r.state)).toBe(1);
    expect(r.state.progress.step).toBe(2);
    expect(of(r.effects, "startTimer")).toEqual([]);
    expect(r.state.notice).toBe("✔ Step 2 passed. n: next step");
    const pane = lessonPane(view, r.state.progress, [], 1, WIDTH, false);
    expect(r.state.scroll).toBe(pane.predictAt! - 1);
    expect(shownStep(play(r.state, key("n")).state)).toBe(2);
  });
});

describe("dialogs", () => {
  it("the solution is shown only after y: solvedWithHelp, then a applies it", () => {
    const s = lesson({}, {}, false);
    expect(play(s, key("a")).state.notice).toBe("Show the solution first (s).");
    const asked = play(s, key("s")).state;
    expect(asked.dialog).toEqual({ kind: "solution" });
    const no = play(asked, key("n"));
    expect(no.state.dialog).toBeUndefined();
    expect(no.effects).toEqual([]);
    expect(play(asked, key("z")).state).toBe(asked);
    const yes = play(asked, key("y"));
    expect(yes.state.solutionShown).toEqual(["forward"]);
    expect(saves(yes.effects).map((p) => p.solvedWithHelp)).toEqual([["forward"]]);
    expect(yes.state.notice).toBe("Solution shown: a applies it, x opens a shell to type it.");
    expect(yes.state.scroll).toBe(lessonPane(view, yes.state.progress, ["forward"], 0, WIDTH, false).solutionAt! - 1);
    // s again only scrolls back to it.
    const again = play({ ...yes.state, scroll: 0 }, key("s")).state;
    expect(again.dialog).toBeUndefined();
    expect(again.scroll).toBe(yes.state.scroll);
    const apply = play(yes.state, key("a"));
    expect(apply.effects).toEqual([{ type: "solve", step: 0 }]);
    expect(apply.state.busy).toEqual({ work: "solve", label: "Applying the solution" });
    const done = play(apply.state, { type: "solved", summary: "Applied the solution on director." });
    expect(done.state.busy).toBeUndefined();
    expect(done.state.notice).toBe("Applied the solution on director.");
    expect(of(done.effects, "check")).toEqual([{ type: "check", step: 0 }]);
  });

  it("a reset asks first, recreates the lab at the current step and takes the new view", () => {
    const asked = play(lesson({ step: 1 }, { last: { step: 1, results: failing, at: T, ms: 1 } }, false), key("r")).state;
    expect(asked.dialog).toEqual({ kind: "reset" });
    expect(play(asked, key("", { escape: true })).state.dialog).toBeUndefined();
    const yes = play(asked, key("Y"));
    expect(yes.effects).toEqual([{ type: "reset", step: 1 }]);
    const fresh = { ...view, instance: "dnat-new" };
    const done = play(yes.state, { type: "resetDone", view: fresh });
    expect(done.state.view).toBe(fresh);
    expect(done.state.last).toBeUndefined();
    expect(done.state.notice).toBe("The lab is back at the start of step 2.");
    const failed = play(yes.state, { type: "workFailed", error: "engine gone" });
    expect(failed.state.notice).toBe("Resetting the lab failed: engine gone");
    expect(failed.state.busy).toBeUndefined();
  });

  it("quit asks: s stops, k keeps, c, q or Esc cancel", () => {
    const asked = play(lesson(), key("q")).state;
    expect(asked.dialog).toEqual({ kind: "quit" });
    expect(play(asked, key("s")).effects).toEqual([{ type: "exit", exit: { kind: "quit", stop: true, snapshot: snapshotOf(asked) } }]);
    expect(play(asked, key("k")).effects).toEqual([{ type: "exit", exit: { kind: "quit", stop: false, snapshot: snapshotOf(asked) } }]);
    for (const cancel of [key("c"), key("q"), key("", { escape: true })]) expect(play(asked, cancel).state.dialog).toBeUndefined();
    expect(play(asked, key("n")).state).toBe(asked);
  });

  it("the shell picker starts on the solution's node, moves with arrows and Tab, and leaves with Enter or a number", () => {
    const picker = play(lesson(), key("x")).state;
    expect(picker.dialog).toEqual({ kind: "shell", sel: 1 });
    expect(play(picker, key("", { rightArrow: true }), key("", { tab: true })).state.dialog).toEqual({ kind: "shell", sel: 0 });
    expect(play(picker, key("", { leftArrow: true }), key("", { upArrow: true })).state.dialog).toEqual({ kind: "shell", sel: 2 });
    const enter = play(picker, key("", { downArrow: true }), key("", { return: true }));
    expect(enter.effects).toEqual([{ type: "exit", exit: { kind: "shell", node: "rs1", snapshot: snapshotOf(picker) } }]);
    expect(play(picker, key("1")).effects).toEqual([{ type: "exit", exit: { kind: "shell", node: "client", snapshot: snapshotOf(picker) } }]);
    expect(play(picker, key("4")).state).toBe(picker);
    for (const cancel of [key("x"), key("q"), key("", { escape: true })]) expect(play(picker, cancel).state.dialog).toBeUndefined();
  });
});

describe("while busy", () => {
  const busy = () => play(lesson({}, { solutionShown: ["forward"] }), key("s"), key("a")).state;

  it("keys that change the lab wait; q still asks to quit; scrolling and help still work", () => {
    const s = busy();
    for (const k of "nphsaxrc") {
      const r = play(s, key(k));
      expect(r.state).toEqual({ ...s, notice: "Applying the solution… wait a moment." });
      expect(r.effects).toEqual([]);
    }
    expect(play(s, key("q")).state.dialog).toEqual({ kind: "quit" });
    expect(play({ ...s, scroll: 0 }, key("j")).state.scroll).toBe(1);
    expect(play(s, key("?")).state.help).toEqual({ scroll: 0 });
  });

  it("a check comes due but waits for the work, then runs once", () => {
    const s = busy();
    const due = play(s, timer("recheck"));
    expect(due.effects).toEqual([]);
    const done = play(due.state, { type: "solved", summary: "ok" });
    expect(of(done.effects, "check")).toEqual([{ type: "check", step: 0 }]);
    expect(done.state.checkAgain).toBe(false);
  });
});

describe("re-check pace under load", () => {
  const took = (ms: number, results = failing): LessonEvent => ({ type: "checked", step: 0, results, at: T + 2000, ms });
  const recheckAfter = (...durations: number[]) => {
    let s = checking(lesson());
    let last: LessonEffect[] = [];
    for (const [i, ms] of durations.entries()) {
      const r = play(s, ...(i ? [timer("recheck")] : []), took(ms));
      s = r.state;
      last = r.effects;
    }
    return of(last, "startTimer").map((e) => e.ms);
  };

  it("stays at the interval while checks take what the quickest of their kind took", () => {
    expect(recheckAfter(800, 820, 790)).toEqual([2000]);
    expect(recheckAfter(800, 840)).toEqual([2100]);
    // Slow by nature (requests waiting for their timeout) is compared with itself.
    expect(recheckAfter(8600, 8500)).toEqual([2000]);
  });

  it("stretches the pause by the slowdown, up to six times, and comes back when the server does", () => {
    expect(recheckAfter(600, 1800)).toEqual([6000]);
    expect(recheckAfter(600, 9000)).toEqual([12000]);
    expect(recheckAfter(600, 1800, 600)).toEqual([2000]);
  });

  it("does not read jitter in a quick check as a slowdown, and keeps passing and failing checks apart", () => {
    expect(recheckAfter(60, 250)).toEqual([2000]);
    expect(recheckAfter(60, 600)).toEqual([4000]);
    const s = play(checking(lesson()), took(8000), timer("recheck"), took(500, passing)).state;
    expect(s.pace.quickestMs).toEqual({ "0:fail": 8000, "0:pass": 500 });
  });

  it("as a rule: the interval times the slowdown against the quickest, floored at 300 ms, capped at 6", () => {
    expect(recheckDelayMs(2000, undefined, undefined)).toBe(2000);
    expect(recheckDelayMs(2000, 1200, 400)).toBe(6000);
    expect(recheckDelayMs(2000, 100, 50)).toBe(2000);
    expect(recheckDelayMs(2000, 60_000, 300)).toBe(12_000);
  });
});
