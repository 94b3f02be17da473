/** The lesson screen and the class: an instructor's offer is shown, g accepts it, and the catch-up's progress takes over. */
import { describe, expect, it } from "vitest";
import { render } from "ink-testing-library";
import { App } from "../src/ui/app.js";
import { freshProgress, markSolvedWithHelp, moveTo, recordPass, type Progress } from "../src/state/progress.js";
import { initialLessonState, reduce, type LessonEffect, type LessonEvent, type LessonState } from "../src/ui/lesson-state.js";
import type { ClassNotice, LabView, UiActions, UiSnapshot } from "../src/ui/types.js";

const steps = ["forward", "dnat-rule", "gateway"].map((id) => ({ id, title: id, prose: "", hints: [], solutions: [] }));
const topology = {
  id: "dnat",
  title: "DNAT",
  networks: { ext: { name: "ext", subnet: "198.51.100.0/24", prefix: 24, gateway: "198.51.100.1" } },
  nodes: { director: { name: "director", role: "director", addresses: { ext: "198.51.100.50" }, serve: [], sysctls: {}, setup: [] } },
  vips: {},
};
const view = { labId: "dnat", title: "DNAT", instance: "dnat", engineHost: "x", intro: "", steps, topology, ifaces: {}, nodes: ["director"] } as unknown as LabView;
const ids = steps.map((s) => s.id);

function lesson(progress: Progress = freshProgress("dnat")): LessonState {
  const snapshot: UiSnapshot = { view, progress, scroll: 0, solutionShown: [], outcome: {} };
  return initialLessonState(snapshot, { width: 80, height: 23, colour: false }, { autoCheck: false, checkEveryMs: 2000, advanceAfterMs: 1500 });
}

function play(state: LessonState, ...events: LessonEvent[]): { state: LessonState; effects: LessonEffect[] } {
  const effects: LessonEffect[] = [];
  for (const e of events) {
    const t = reduce(state, e);
    state = t.state;
    effects.push(...t.effects);
  }
  return { state, effects };
}
const key = (input: string): LessonEvent => ({ type: "key", input, key: {}, at: 0 });

describe("a catch-up offer in the lesson screen", () => {
  it("is shown, and g asks for the catch-up with the progress as it is", () => {
    const offered = play(lesson(), { type: "classNotice", notice: { kind: "offer", id: "o1", step: 2 } });
    expect(offered.state.notice).toBe("Your instructor offers to bring your lab to step 3: g accepts (the earlier steps' solutions are applied where they do not pass).");
    const accepted = play(offered.state, key("g"));
    expect(accepted.effects).toEqual([{ type: "catchUp", step: 2, progress: offered.state.progress }]);
    expect(accepted.state.busy?.label).toBe("Catching up to step 3");
    // Keys that would change the lab wait while it runs.
    expect(play(accepted.state, key("g")).effects).toEqual([]);
  });

  it("takes the caught-up progress, saves it and checks the new step", () => {
    const busy = play(lesson(), { type: "classNotice", notice: { kind: "offer", id: "o1", step: 2 } }, key("g")).state;
    let caught = markSolvedWithHelp(markSolvedWithHelp(recordPass(recordPass(freshProgress("dnat"), ids, 0), ids, 1), "forward"), "dnat-rule");
    caught = moveTo(caught, ids, 2);
    const done = play(busy, { type: "caughtUp", progress: caught, summary: "Caught up to step 3: the solutions of step 1, 2 applied." });
    expect(done.state).toMatchObject({ progress: caught, offer: undefined, busy: undefined, notice: "Caught up to step 3: the solutions of step 1, 2 applied." });
    expect(done.effects).toEqual([{ type: "save", progress: caught }, { type: "stopTimer", timer: "recheck" }, { type: "check", step: 2 }]);
  });

  it("ignores an offer for a step the learner has reached, and g without an offer says so", () => {
    const at3 = moveTo(freshProgress("dnat"), ids, 2);
    expect(play(lesson(at3), { type: "classNotice", notice: { kind: "offer", id: "o1", step: 1 } }).state.offer).toBeUndefined();
    expect(play(lesson(), key("g")).state.notice).toBe("There is no catch-up offer from the instructor.");
  });

  it("shows the instructor's messages in the status line", () => {
    expect(play(lesson(), { type: "classNotice", notice: { kind: "message", id: "m1", text: "Break until 11" } }).state.notice).toBe("Instructor: Break until 11");
  });

  it("reports a failed catch-up and leaves the progress alone", () => {
    const busy = play(lesson(), { type: "classNotice", notice: { kind: "offer", id: "o1", step: 2 } }, key("g")).state;
    const failed = play(busy, { type: "workFailed", error: "Step 1 still fails" });
    expect(failed.state.notice).toBe("Catching up to step 3 failed: Step 1 still fails");
    expect(failed.state.progress).toBe(busy.progress);
  });
});

describe("the lesson screen with a class", () => {
  it("shows the offer it hears of, and g runs the catch-up and takes its progress", async () => {
    let tell: (n: ClassNotice) => void = () => undefined;
    const asked: number[] = [];
    const saved: Progress[] = [];
    const caught = moveTo(markSolvedWithHelp(recordPass(freshProgress("dnat"), ids, 0), "forward"), ids, 1);
    const actions: UiActions = {
      check: async () => [{ kind: "sysctl", node: "director", description: "ip_forward", ok: false, message: "it is 0" }],
      solve: async () => "",
      reset: async () => view,
      saveProgress: (p) => saved.push(p),
      subscribe: (listener) => {
        tell = listener;
        return () => undefined;
      },
      catchUp: async (step) => {
        asked.push(step);
        return { progress: caught, summary: "Caught up to step 2: the solutions of step 1 applied." };
      },
    };
    const snapshot: UiSnapshot = { view, progress: freshProgress("dnat"), scroll: 0, solutionShown: [], outcome: {} };
    const ui = render(<App initial={snapshot} actions={actions} width={80} height={23} onExit={() => undefined} autoCheck={false} />);
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(() => ui.lastFrame()!.includes("step 1 of 3"));
    tell({ kind: "offer", id: "o1", step: 1 });
    await until(() => ui.lastFrame()!.includes("Your instructor offers"));
    expect(ui.lastFrame()).toContain("Your instructor offers to bring your lab to step 2");
    ui.stdin.write("g");
    await until(() => ui.lastFrame()!.includes("Caught up to step 2"));
    expect(asked).toEqual([1]);
    expect(ui.lastFrame()).toContain("step 2 of 3");
    expect(saved.at(-1)).toEqual(caught);
    ui.unmount();
  });
});
