/**
 * The lesson screen as one reducer. Every source of change (keys, check results and
 * errors, timers, resize, finished solve/reset work, abort) is a LessonEvent; `reduce`
 * returns the next state and the effects to run (check, timers, save, solve/reset, exit)
 * as plain data. The App executes the effects and feeds their outcomes back as events.
 * Progress changes only through the rules of state/progress.ts.
 */
import { stepPasses, type ProbeResult } from "../probes/runner.js";
import { t } from "../i18n/index.js";
import { markSolvedWithHelp, moveTo, recordChecks, recordPrediction, revealHint, type Progress } from "../state/progress.js";
import { helpLines, probeLines } from "./panes.js";
import { columns, layout, lessonPane, predictionPending, probeRows } from "./screen.js";
import { MARK } from "../text/theme.js";
import type { CheckRun, ClassNotice, LabView, UiExit, UiSnapshot } from "./types.js";

export type Dialog = { kind: "solution" } | { kind: "reset" } | { kind: "quit" } | { kind: "shell"; sel: number };
export type Timer = "recheck" | "advance";
type Work = "solve" | "reset" | "catchUp";

/** The keys the screen reads (a subset of ink's Key). */
export interface KeyPress {
  ctrl?: boolean;
  escape?: boolean;
  return?: boolean;
  tab?: boolean;
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
}

export interface LessonState {
  view: LabView;
  progress: Progress;
  last?: CheckRun;
  /** Latest outcome per step id (for ✘ in the step list). */
  outcome: Record<string, boolean>;
  /** Steps whose solution is on screen. */
  solutionShown: string[];
  scroll: number;
  notice?: string;
  /** Help replaces the lesson pane while open, with its own scroll position. */
  help?: { scroll: number };
  dialog?: Dialog;
  /** Work on the lab (solve, reset) under way; keys that would change the lab wait for it. */
  busy?: { work: Work; label: string };
  /** One check at a time: a check asked for while one runs (or while busy) runs after it. */
  checking: boolean;
  checkAgain: boolean;
  /** A passed step kept on screen until the advance timer opens the next (progress has moved on already). */
  holding?: number;
  screen: { width: number; height: number; colour: boolean };
  timing: { autoCheck: boolean; checkEveryMs: number; advanceAfterMs: number };
  /** How long checks take: the last one, and the quickest of each step and outcome seen so far. */
  pace: { lastMs?: number; quickestMs: Record<string, number>; lastKey?: string };
  /** The screen asked to leave (shell or quit): later events change nothing. */
  left: boolean;
  /** The instructor's open offer to bring the lab to a later step (g accepts). */
  offer?: { id: string; step: number };
}

export type LessonEvent =
  | { type: "mount" }
  | { type: "key"; input: string; key: KeyPress; at: number }
  | { type: "checked"; step: number; results: ProbeResult[]; at: number; ms: number }
  | { type: "checkFailed"; step: number; error: string }
  | { type: "timer"; timer: Timer; at: number }
  | { type: "resize"; width: number; height: number }
  | { type: "solved"; summary: string }
  | { type: "resetDone"; view: LabView }
  | { type: "workFailed"; error: string }
  | { type: "classNotice"; notice: ClassNotice }
  | { type: "caughtUp"; progress: Progress; summary: string }
  | { type: "abort" };

export type LessonEffect =
  | { type: "check"; step: number }
  /** Starts the timer, replacing a running one of the same name; it fires a "timer" event. */
  | { type: "startTimer"; timer: Timer; ms: number }
  | { type: "stopTimer"; timer: Timer }
  | { type: "save"; progress: Progress }
  | { type: "solve"; step: number }
  | { type: "reset"; step: number }
  /** Brings the lab to the start of `step`, from the progress as it is. */
  | { type: "catchUp"; step: number; progress: Progress }
  /** Leaves the screen: timers stop and no further event is handled. */
  | { type: "exit"; exit: UiExit };

export interface Transition {
  state: LessonState;
  effects: LessonEffect[];
}

export function initialLessonState(snapshot: UiSnapshot, screen: LessonState["screen"], timing: LessonState["timing"]): LessonState {
  const { view, progress, last, outcome, solutionShown, scroll, notice } = snapshot;
  return { view, progress, last, outcome, solutionShown, scroll, notice, checking: false, checkAgain: false, screen, timing, pace: { quickestMs: {} }, left: false };
}

/** The step on screen: the current one, or a passed one held a moment before the next opens. */
export function shownStep(s: LessonState): number {
  return s.holding ?? Math.min(s.progress.step, s.view.steps.length - 1);
}

/** What the next mount starts from; a held step counts as left. */
export function snapshotOf(s: LessonState): UiSnapshot {
  const moved = s.holding !== undefined;
  return { view: s.view, progress: s.progress, last: moved ? undefined : s.last, scroll: moved ? 0 : s.scroll, solutionShown: s.solutionShown, outcome: s.outcome, notice: s.notice };
}

export function reduce(state: LessonState, event: LessonEvent): Transition {
  if (state.left) return stay(state);
  const t = handle(state, event);
  // Every change of progress is saved, whatever caused it.
  if (t.state.progress !== state.progress) t.effects.unshift({ type: "save", progress: t.state.progress });
  return t;
}

function stay(state: LessonState, ...effects: LessonEffect[]): Transition {
  return { state, effects };
}

function then(t: Transition, next: (s: LessonState) => Transition): Transition {
  const u = next(t.state);
  return { state: u.state, effects: [...t.effects, ...u.effects] };
}

function withNotice(s: LessonState, notice: string | undefined): LessonState {
  return { ...s, notice };
}

function handle(s: LessonState, e: LessonEvent): Transition {
  switch (e.type) {
    case "mount":
      return s.timing.autoCheck ? requestCheck(s) : stay(s);
    case "key":
      return onKey(s, e.input, e.key, new Date(e.at));
    case "checked": {
      const paced = notePace(s, e);
      return then(e.step === shownStep(paced) ? applyResults(paced, e) : stay(paced), checkEnded);
    }
    case "checkFailed":
      return checkEnded(withNotice(s, t("ui.notice.checkFailed", { error: e.error })));
    case "timer":
      if (e.timer === "recheck") return requestCheck(s);
      return s.holding === undefined ? stay(s) : goTo(s, s.holding + 1, new Date(e.at));
    case "resize":
      return stay({ ...s, screen: { ...s.screen, width: e.width, height: e.height } });
    case "solved":
      return workEnded(withNotice(s, e.summary));
    case "resetDone":
      return workEnded({ ...s, view: e.view, last: undefined, notice: t("ui.notice.resetDone", { n: shownStep(s) + 1 }) });
    case "workFailed":
      return workEnded(withNotice(s, t("ui.notice.workFailed", { what: s.busy?.label ?? t("ui.notice.theWork"), error: e.error })));
    case "classNotice":
      return stay(onClassNotice(s, e.notice));
    case "caughtUp":
      return workEnded({ ...s, progress: e.progress, offer: undefined, holding: undefined, last: undefined, scroll: 0, notice: e.summary });
    case "abort":
      // SIGTERM (or a Ctrl-C that reached us as a signal): leave as "keep"; progress is saved.
      return leave(s, { kind: "quit", stop: false });
  }
}

// ---- checks

/** `asked`: the learner pressed c. A check that restarts nodes runs only then. */
function requestCheck(s: LessonState, asked = false): Transition {
  if (!asked && s.view.steps[shownStep(s)]?.restarts) return stay(s);
  if (s.checking || s.busy) return stay({ ...s, checkAgain: true });
  return stay({ ...s, checking: true }, { type: "stopTimer", timer: "recheck" }, { type: "check", step: shownStep(s) });
}

/**
 * Load slows a check down against the quickest check of the same step and outcome: on a
 * server where twenty learners' UIs re-check on two cores, every check took 2–8 times as
 * long (bench/results/classroom-*). The pause before the next automatic check grows by
 * that slowdown, up to MAX_SLOWDOWN, so a crowded server is asked less often until it
 * catches up; on a quiet one the pause stays `everyMs`. Checks that are slow by nature
 * (requests waiting for their timeout) are compared with themselves and keep the pace,
 * and checks quicker than PACE_FLOOR_MS count as that long, so that jitter in a 60 ms
 * check does not look like a tenfold slowdown.
 */
export const MAX_SLOWDOWN = 6;
export const PACE_FLOOR_MS = 300;

export function recheckDelayMs(everyMs: number, lastMs: number | undefined, quickestMs: number | undefined): number {
  if (lastMs === undefined || quickestMs === undefined) return everyMs;
  const slowdown = Math.max(lastMs, PACE_FLOOR_MS) / Math.max(quickestMs, PACE_FLOOR_MS);
  return Math.round(everyMs * Math.min(MAX_SLOWDOWN, Math.max(1, slowdown)));
}

function notePace(s: LessonState, e: { step: number; results: ProbeResult[]; ms: number }): LessonState {
  const key = `${e.step}:${stepPasses(e.results) ? "pass" : "fail"}`;
  const quickest = Math.min(s.pace.quickestMs[key] ?? Infinity, e.ms);
  return { ...s, pace: { lastMs: e.ms, lastKey: key, quickestMs: { ...s.pace.quickestMs, [key]: quickest } } };
}

function checkEnded(s: LessonState): Transition {
  const done = { ...s, checking: false };
  if (s.checkAgain) return requestCheck({ ...done, checkAgain: false }, true);
  if (!s.timing.autoCheck || s.view.steps[shownStep(s)]?.restarts) return stay(done);
  const { lastMs, lastKey, quickestMs } = s.pace;
  const ms = recheckDelayMs(s.timing.checkEveryMs, lastMs, lastKey ? quickestMs[lastKey] : undefined);
  return stay(done, { type: "startTimer", timer: "recheck", ms });
}

function sameResults(a: ProbeResult[], b: ProbeResult[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function applyResults(s: LessonState, e: { step: number; results: ProbeResult[]; at: number; ms: number }): Transition {
  const { steps } = s.view;
  const id = steps[e.step]!.id;
  // Unchanged results keep their identity, so the panes that show them are not redrawn.
  const results = s.last?.step === e.step && sameResults(s.last.results, e.results) ? s.last.results : e.results;
  const ok = stepPasses(e.results);
  const next: LessonState = { ...s, last: { step: e.step, results, at: e.at, ms: e.ms }, outcome: s.outcome[id] === ok ? s.outcome : { ...s.outcome, [id]: ok } };
  if (!ok || s.progress.passed.includes(id)) return stay(next);
  const lastStep = e.step === steps.length - 1;
  const allDone = steps.every((st) => st.id === id || s.progress.passed.includes(st.id));
  const notice = `${MARK.passed} ${t("ui.notice.passed", { n: e.step + 1 })}` + t(lastStep ? (allDone ? "ui.notice.labComplete" : "ui.notice.revisit") : "ui.notice.onward");
  // The rule check and the class use (lab/lesson-run.ts); the screen applies it to the step it shows.
  const passed = { ...next, progress: recordChecks(s.progress, steps.map((st) => st.id), [{ index: e.step, passed: ok }], new Date(e.at)), notice };
  if (lastStep) return stay(passed);
  // A prediction's answer shows once its step passes: that step stays, scrolled to the
  // answer, until the learner opens the next one.
  if (steps[e.step]!.predict) {
    const held: LessonState = { ...passed, holding: e.step, notice: `${MARK.passed} ${t("ui.notice.passed", { n: e.step + 1 })}${t("ui.notice.readAnswer")}` };
    const at = paneOf(held).predictAt;
    return stay(at === undefined ? held : { ...held, scroll: Math.max(0, at - 1) });
  }
  // The passed step stays on screen a moment before the next one opens.
  return stay({ ...passed, holding: e.step }, { type: "startTimer", timer: "advance", ms: s.timing.advanceAfterMs });
}

function goTo(s: LessonState, index: number, now: Date): Transition {
  const { steps } = s.view;
  if (index < 0 || index >= steps.length || index === shownStep(s)) return stay(s);
  const next = steps[index]!;
  const notice = predictionPending(next, s.progress)
    ? t("ui.notice.predictFirst", { max: next.predict!.choices.length })
    : next.restarts
      ? t("ui.notice.checkRestarts", { nodes: next.restarts.join(", ") })
      : undefined;
  const progress = moveTo(s.progress, steps.map((st) => st.id), index, now);
  // A check asked for on the step left behind is not carried over to this one.
  const moved: LessonState = { ...s, progress, holding: undefined, last: undefined, scroll: 0, notice, checkAgain: false };
  return then(stay(moved, { type: "stopTimer", timer: "advance" }), (m) => requestCheck(m));
}

// ---- busy work

function startWork(s: LessonState, work: "solve" | "reset", label: string): Transition {
  return stay({ ...s, busy: { work, label } }, { type: work, step: shownStep(s) });
}

function workEnded(s: LessonState): Transition {
  return requestCheck({ ...s, busy: undefined, checkAgain: false });
}

// ---- leaving

function leave(s: LessonState, exit: { kind: "quit"; stop: boolean } | { kind: "shell"; node: string }): Transition {
  return stay({ ...s, left: true }, { type: "exit", exit: { ...exit, snapshot: snapshotOf(s) } });
}

// ---- the lesson pane: scrolling and jumping to what was just revealed

function lessonRows(s: LessonState): number {
  const { width, height } = s.screen;
  const probes = probeLines(s.last, columns(width).right - 2, s.checking && !s.last, probeRows(height)).length;
  // Only the right column's split matters here; the left column's panes do not change it.
  return layout(width, height, { steps: s.view.steps.length, probes, traffic: 0, topology: 0 }).lessonH - 2;
}

function paneOf(s: LessonState) {
  return lessonPane(s.view, s.progress, s.solutionShown, shownStep(s), columns(s.screen.width).right - 2, s.screen.colour);
}

function scrollBy(s: LessonState, page: number, lines: number): Transition {
  const rows = lessonRows(s);
  const length = s.help ? helpLines(columns(s.screen.width).right - 2).length : paneOf(s).lines.length;
  const max = Math.max(0, length - rows);
  const by = (top: number) => Math.max(0, Math.min(max, Math.min(top, max) + page * Math.max(1, rows - 1) + lines));
  return stay(s.help ? { ...s, help: { scroll: by(s.help.scroll) } } : { ...s, scroll: by(s.scroll) });
}

/** Scrolls the lesson so that a revealed hint (1-based) or the solution is at the top. */
function focus(s: LessonState, on: number | "solution"): LessonState {
  const pane = paneOf(s);
  const at = on === "solution" ? pane.solutionAt : pane.hintAt[on - 1];
  return at === undefined ? s : { ...s, scroll: Math.max(0, at - 1) };
}

// ---- keys

function onKey(s: LessonState, input: string, key: KeyPress, now: Date): Transition {
  if (key.ctrl && input === "c") return leave(s, { kind: "quit", stop: false });
  if (s.dialog) return onDialogKey(s, s.dialog, input, key);
  if (s.help && (key.escape || input === "?" || input === "q")) return stay({ ...s, help: undefined });
  if (key.pageDown || input === " ") return scrollBy(s, 1, 0);
  if (key.pageUp || input === "b") return scrollBy(s, -1, 0);
  if (input === "j" || key.downArrow) return scrollBy(s, 0, 1);
  if (input === "k" || key.upArrow) return scrollBy(s, 0, -1);
  if (input === "?") return stay({ ...s, help: { scroll: 0 } });
  if (s.busy) {
    if ("nphsaxrcg".includes(input)) return stay(withNotice(s, t("ui.notice.wait", { what: s.busy.label })));
    if (input === "q") return stay({ ...s, dialog: { kind: "quit" } });
    return stay(s);
  }
  const index = shownStep(s);
  const step = s.view.steps[index]!;
  const choice = Number(input);
  if (predictionPending(step, s.progress) && Number.isInteger(choice) && choice >= 1 && choice <= step.predict!.choices.length) {
    const progress = recordPrediction(s.progress, step.id, choice);
    return stay({ ...s, progress, notice: t("ui.notice.predictionKept", { n: choice }) });
  }
  switch (input) {
    case "n":
      return goTo(s, index + 1, now);
    case "p":
      return goTo(s, index - 1, now);
    case "c":
      return requestCheck(withNotice(s, undefined), true);
    case "h":
      return stay(nextHint(s, index));
    case "s":
      return stay(s.solutionShown.includes(step.id) ? focus(s, "solution") : { ...s, dialog: { kind: "solution" } });
    case "a":
      if (!s.solutionShown.includes(step.id)) return stay(withNotice(s, t("ui.notice.showSolutionFirst")));
      return startWork(s, "solve", t("ui.notice.applying"));
    case "x":
      return stay({ ...s, dialog: { kind: "shell", sel: Math.max(0, s.view.nodes.indexOf(step.solutions[0]?.node ?? "")) } });
    case "r":
      return stay({ ...s, dialog: { kind: "reset" } });
    case "g":
      if (!s.offer || s.offer.step <= s.progress.step) return stay(withNotice(s, t("ui.notice.noOffer")));
      return stay({ ...s, busy: { work: "catchUp", label: t("ui.notice.catchingUp", { n: s.offer.step + 1 }) } }, { type: "catchUp", step: s.offer.step, progress: s.progress });
    case "q":
      return stay({ ...s, dialog: { kind: "quit" } });
    default:
      return stay(s);
  }
}

// ---- the class the learner joined

function onClassNotice(s: LessonState, notice: ClassNotice): LessonState {
  if (notice.kind === "message") return withNotice(s, t("ui.notice.instructor", { text: notice.text }));
  if (notice.step <= s.progress.step || notice.step >= s.view.steps.length || s.offer?.id === notice.id) return s;
  return { ...s, offer: { id: notice.id, step: notice.step }, notice: t("ui.notice.offer", { n: notice.step + 1 }) };
}

function nextHint(s: LessonState, index: number): LessonState {
  const step = s.view.steps[index]!;
  const available = step.hints.length;
  const shown = s.progress.hintsShown[step.id] ?? 0;
  if (!available) return withNotice(s, t("ui.notice.noHints"));
  if (shown >= available) return withNotice(s, t("ui.notice.allHints", { count: available }));
  const revealed = { ...s, progress: revealHint(s.progress, step.id, available), notice: t("ui.notice.hintShown", { n: shown + 1, of: available }) };
  return focus(revealed, shown + 1);
}

function onDialogKey(s: LessonState, dialog: Dialog, input: string, key: KeyPress): Transition {
  const closed = { ...s, dialog: undefined };
  const yes = input === "y" || input === "Y";
  const no = input === "n" || input === "N" || Boolean(key.escape);
  const step = s.view.steps[shownStep(s)]!;
  switch (dialog.kind) {
    case "solution": {
      if (no) return stay(closed);
      if (!yes) return stay(s);
      const shown = s.solutionShown.includes(step.id) ? s.solutionShown : [...s.solutionShown, step.id];
      const helped = { ...closed, solutionShown: shown, progress: markSolvedWithHelp(s.progress, step.id), notice: t("ui.notice.solutionShown") };
      return stay(focus(helped, "solution"));
    }
    case "reset":
      if (no) return stay(closed);
      return yes ? startWork(closed, "reset", t("ui.notice.resetting")) : stay(s);
    case "quit":
      if (input === "s") return leave(s, { kind: "quit", stop: true });
      if (input === "k") return leave(s, { kind: "quit", stop: false });
      return input === "c" || input === "q" || key.escape ? stay(closed) : stay(s);
    case "shell": {
      const nodes = s.view.nodes;
      const digit = Number(input);
      if (Number.isInteger(digit) && digit >= 1 && digit <= nodes.length) return leave(s, { kind: "shell", node: nodes[digit - 1]! });
      if (key.leftArrow || key.upArrow) return stay({ ...s, dialog: { kind: "shell", sel: (dialog.sel + nodes.length - 1) % nodes.length } });
      if (key.rightArrow || key.downArrow || key.tab) return stay({ ...s, dialog: { kind: "shell", sel: (dialog.sel + 1) % nodes.length } });
      if (key.return) return leave(s, { kind: "shell", node: nodes[dialog.sel]! });
      return key.escape || input === "x" || input === "q" ? stay(closed) : stay(s);
    }
  }
}
