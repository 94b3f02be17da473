/** `class watch`: the grid and a learner's detail drawn at 80x24, and the keys as a pure reducer. */
import { describe, expect, it } from "vitest";
import { render } from "ink-testing-library";
import { applyRecord, classView, emptyClass, type ClassView } from "../src/class/aggregate.js";
import type { LearnerDetail } from "../src/class/ledger.js";
import type { LogRecord } from "../src/class/log.js";
import { initialWatch, reduceWatch, type WatchEvent, type WatchState } from "../src/class/watch/state.js";
import { WatchScreen } from "../src/class/watch/view.js";
import { DNAT, event, failing, failingHttp, failingRoute, passing } from "./helpers/class.js";

const MIN = 60_000;
const HASH = "0".repeat(64);

function classOf(records: LogRecord[], now: number): ClassView {
  return classView(records.reduce(applyRecord, emptyClass("Friday workshop")), [DNAT], { now, stuckMinutes: 5 });
}

const records: LogRecord[] = [
  { r: "join", t: 0, learner: "a", name: "alice", tokenHash: HASH },
  { r: "join", t: 0, learner: "b", name: "bob", tokenHash: HASH },
  { r: "join", t: 0, learner: "c", name: "carol", tokenHash: HASH },
  { r: "event", t: 0, learner: "a", e: event({ step: "gateway", passed: ["forward", "dnat-rule"], checks: [failing("gateway")] }) },
  { r: "event", t: 0, learner: "b", e: event({ step: "dnat-rule", passed: ["forward"], helped: ["forward"], hints: { "dnat-rule": 2 }, checks: [failing("forward"), failing("dnat-rule", failingHttp)] }) },
  { r: "event", t: 6 * MIN, learner: "c", e: event({ step: "gateway", passed: ["forward", "dnat-rule"], stepSeconds: 30, checks: [passing("dnat-rule")] }) },
];
const view = classOf(records, 7 * MIN);

function frameOf(state: WatchState): string {
  const { lastFrame, unmount } = render(<WatchScreen state={state} width={80} height={24} />);
  const frame = lastFrame() ?? "";
  unmount();
  return frame;
}

function play(state: WatchState, ...events: WatchEvent[]) {
  const effects = [];
  for (const e of events) {
    const t = reduceWatch(state, e);
    state = t.state;
    effects.push(...t.effects);
  }
  return { state, effects };
}
const key = (input: string, k = {}): WatchEvent => ({ type: "key", input, key: k });

describe("the watch grid at 80x24", () => {
  it("shows learners × steps with marks, time on step, hints and the stuck and regressed flags", () => {
    const state = play(initialWatch, { type: "view", view }).state;
    const frame = frameOf(state);
    const lines = frame.split("\n");
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(lines.every((l) => [...l].length <= 80)).toBe(true);
    expect(lines[0]).toMatch(/^lvs-lab class · Friday workshop +3 learners · live/);
    expect(frame).toContain("Port forwarding with iptables DNAT · the class is on step 3 of 3");
    expect(frame).toContain("  learner          1 2 3  step  on step  hints flags");
    expect(frame).toContain("▶ alice            ✔ ✔ ✘  3/3   7 min    0     STUCK 7 min offline");
    expect(frame).toContain("  bob              ✘ ✘ ·  2/3   7 min    2     STUCK 7 min REGRESSED 1 offline");
    expect(frame).toContain("  carol            ✔ ✔ ·  3/3   1 min    0");
    expect(lines.at(-1)).toBe("↑↓ learner  ⏎ details  c catch up to 3  C everyone behind  q quit");
  });

  it("warns the instructor when the server says the event log fills up", () => {
    const warning = "The event log has passed 80 % of the 64 MiB a class may store; at 64 MiB it refuses new events.";
    const lines = frameOf(play(initialWatch, { type: "view", view: { ...view, warning } }).state).split("\n");
    expect(lines.at(-2)).toBe(warning.slice(0, 79) + "…");
  });

  it("draws a name full of escape sequences as harmless text", () => {
    const evil = classOf([{ r: "join", t: 0, learner: "e", name: "\x1b[2J\x1b[H\x1b]0;pwned\x07eve", tokenHash: HASH }, { r: "event", t: 0, learner: "e", e: event() }], 1000);
    const frame = frameOf(play(initialWatch, { type: "view", view: evil }).state);
    expect(frame).not.toContain("\x1b");
    expect(frame).not.toContain("\x07");
    expect(frame).toContain("▶ \uFFFD[2J\uFFFD[H\uFFFD]0;pwne… · · ·");
  });

  it("says when nobody has joined and when the stream is down", () => {
    const empty = classOf([], 0);
    expect(frameOf(play(initialWatch, { type: "view", view: empty }).state)).toContain("No learner has joined yet.");
    expect(frameOf(play(initialWatch, { type: "view", view: empty }, { type: "disconnected", problem: "connect ECONNREFUSED" }).state).split("\n")[0]).toMatch(/0 learners · reconnecting: connect ECONNREFUSED$/);
  });
});

describe("a learner's detail", () => {
  const detail: LearnerDetail = {
    learner: "b",
    name: "bob",
    lab: { id: "dnat", title: DNAT.title, steps: 3 },
    row: view.labs[0]!.rows[1],
    step: { number: 2, id: "dnat-rule", title: "Rewrite the destination with DNAT" },
    checkedAt: Date.UTC(2026, 0, 1, 10, 31, 2),
    probes: [{ ...failingRoute, ok: true }, failingHttp],
  };

  it("shows the failing verdicts and where the packets went", () => {
    const state = play(initialWatch, { type: "view", view }, key("", { downArrow: true }), key("", { return: true }), { type: "detail", detail }).state;
    const frame = frameOf(state);
    expect(frame).toContain("bob · dnat step 2/3: Rewrite the destination with DNAT");
    expect(frame).toContain("✘ 4 requests from client to 198.51.100.50:8001 get answers");
    expect(frame).toContain("    Only 0 of 4 requests were answered; the rest: timed out.");
    expect(frame).toContain("    where the packets went:");
    expect(frame).toContain("      client  sent the SYN to 198.51.100.50:8001");
    expect(frame).toContain("      rs1     answered to 198.51.100.100 via 10.0.1.1, not the director");
    expect(frame).toContain("(1 more probes pass)");
    expect(frame.split("\n").at(-1)).toBe("Esc back  ↑↓ learner  c catch up  q quit");
  });
});

describe("the watch keys", () => {
  it("walk the learners, open the detail and ask for it again when the learner moves on", () => {
    const seen = play(initialWatch, { type: "view", view });
    expect(seen.state.selected).toBe("a");
    const opened = play(seen.state, key("j"), key("", { return: true }));
    expect(opened.effects).toEqual([{ type: "fetchDetail", learner: "b" }]);
    const later = classOf([...records, { r: "event", t: 7 * MIN, learner: "b", e: event({ step: "dnat-rule", passed: ["forward"], checks: [failing("dnat-rule")] }) }], 8 * MIN);
    expect(play(opened.state, { type: "view", view: later }).effects).toEqual([{ type: "fetchDetail", learner: "b" }]);
    expect(play(opened.state, key("", { escape: true })).state.detailOpen).toBe(false);
  });

  it("offer a catch-up to the selected learner, or to everyone behind, at the class's step", () => {
    const onBob = play(initialWatch, { type: "view", view }, key("", { downArrow: true })).state;
    expect(play(onBob, key("c")).effects).toEqual([{ type: "catchUp", lab: "dnat", step: 3, learner: "bob" }]);
    expect(play(onBob, key("C")).effects).toEqual([{ type: "catchUp", lab: "dnat", step: 3 }]);
    const onAlice = play(initialWatch, { type: "view", view }).state;
    expect(play(onAlice, key("c")).state.notice).toBe("alice is not behind the class (step 3).");
    expect(play(onAlice, key("q")).effects).toEqual([{ type: "quit" }]);
  });
});
