/**
 * The lesson screen. Its state is lesson-state.ts's reducer state; this component turns
 * keys, timers, resizes and the outcomes of effects into events, runs the effects the
 * reducer asks for (through `actions` and `onExit`) and draws the state.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Box, useInput } from "ink";
import { t } from "../i18n/index.js";
import { clock } from "../text/clock.js";
import { Rows } from "../text/draw.js";
import { Panel } from "./components.js";
import { initialLessonState, reduce, shownStep, type LessonEffect, type LessonEvent, type LessonState, type Timer } from "./lesson-state.js";
import { helpLines, probeLines, realServers, spreadOf, stepListLines, topologyLines, trafficLines, truncate } from "./panes.js";
import { columns, headerLines, keyLine, layout, lessonPane, predictionPending, probeRows, statusLine } from "./screen.js";
import { useTheme } from "../text/theme.js";
import type { UiActions, UiExit, UiSnapshot } from "./types.js";

export interface AppProps {
  initial: UiSnapshot;
  actions: UiActions;
  width: number;
  height: number;
  onExit: (e: UiExit) => void;
  /** Aborting it leaves the screen as a quit that keeps the lab. */
  signal?: AbortSignal;
  /** Pause between two automatic checks (the next starts this long after one ends). */
  checkEveryMs?: number;
  /** How long a passed step stays on screen before the next one opens. */
  advanceAfterMs?: number;
  /** Check by itself (on mount and every checkEveryMs); tests switch it off. */
  autoCheck?: boolean;
}

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The reducer state and its effect runner. Events are reduced at once on the latest state
 * (keys may come faster than renders: "q" then "k" in one read); after the screen is left
 * or unmounted, outcomes that still arrive are ignored.
 */
function useLesson(init: () => LessonState, props: Pick<AppProps, "actions" | "onExit">): [LessonState, (e: LessonEvent) => void] {
  const [state, setState] = useState(init);
  const latest = useRef(state);
  const io = useRef(props);
  io.current = props;
  const machine = useRef<{ dispatch: (e: LessonEvent) => void; stop: () => void } | undefined>(undefined);
  if (!machine.current) {
    const timers = new Map<Timer, NodeJS.Timeout>();
    let alive = true;
    const stop = () => {
      alive = false;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    };
    const run = (effect: LessonEffect) => {
      const { actions, onExit } = io.current;
      switch (effect.type) {
        case "check": {
          const began = Date.now();
          actions.check(effect.step).then(
            (results) => dispatch({ type: "checked", step: effect.step, results, at: Date.now(), ms: Date.now() - began }),
            (e: unknown) => dispatch({ type: "checkFailed", step: effect.step, error: reason(e) }),
          );
          return;
        }
        case "startTimer":
          clearTimeout(timers.get(effect.timer));
          timers.set(
            effect.timer,
            setTimeout(() => {
              timers.delete(effect.timer);
              dispatch({ type: "timer", timer: effect.timer, at: Date.now() });
            }, effect.ms),
          );
          return;
        case "stopTimer":
          clearTimeout(timers.get(effect.timer));
          timers.delete(effect.timer);
          return;
        case "save":
          actions.saveProgress(effect.progress);
          return;
        case "solve":
          actions.solve(effect.step).then(
            (summary) => dispatch({ type: "solved", summary }),
            (e: unknown) => dispatch({ type: "workFailed", error: reason(e) }),
          );
          return;
        case "catchUp":
          if (!actions.catchUp) return dispatch({ type: "workFailed", error: "catching up is not available here" });
          actions.catchUp(effect.step, effect.progress).then(
            (r) => dispatch({ type: "caughtUp", progress: r.progress, summary: r.summary }),
            (e: unknown) => dispatch({ type: "workFailed", error: reason(e) }),
          );
          return;
        case "reset":
          actions.reset(effect.step).then(
            (view) => dispatch({ type: "resetDone", view }),
            (e: unknown) => dispatch({ type: "workFailed", error: reason(e) }),
          );
          return;
        case "exit":
          stop();
          onExit(effect.exit);
          return;
      }
    };
    const dispatch = (event: LessonEvent) => {
      if (!alive) return;
      const { state: next, effects } = reduce(latest.current, event);
      if (next !== latest.current) {
        latest.current = next;
        setState(next);
      }
      effects.forEach(run);
    };
    machine.current = { dispatch, stop };
  }
  const { dispatch, stop } = machine.current;
  useEffect(() => stop, [stop]);
  return [state, dispatch];
}

export function App({ initial, actions, width, height, onExit, signal, checkEveryMs = 2000, advanceAfterMs = 1500, autoCheck = true }: AppProps) {
  const theme = useTheme();
  const [state, dispatch] = useLesson(() => initialLessonState(initial, { width, height, colour: theme.colour }, { autoCheck, checkEveryMs, advanceAfterMs }), { actions, onExit });
  // A new size is an event like any other; reduced during the render, the frame drawn has it.
  if (state.screen.width !== width || state.screen.height !== height) dispatch({ type: "resize", width, height });

  useEffect(() => {
    if (!signal) return;
    const onAbort = () => dispatch({ type: "abort" });
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort);
    return () => signal.removeEventListener("abort", onAbort);
  }, [signal, dispatch]);
  useEffect(() => dispatch({ type: "mount" }), [dispatch]);
  useEffect(() => actions.subscribe?.((notice) => dispatch({ type: "classNotice", notice })), [actions, dispatch]);
  useInput(useCallback((input, key) => dispatch({ type: "key", input, key, at: Date.now() }), [dispatch]));

  const { view, progress, last, outcome, solutionShown, help, checking } = state;
  const index = shownStep(state);
  const step = view.steps[index]!;

  // ---- sizes and contents
  const topoCount = useMemo(() => topologyLines(view, 1000).length, [view]);
  const spread = spreadOf(last);
  const servers = useMemo(() => realServers(view), [view]);
  const cols = columns(width);
  const probes = useMemo(() => probeLines(last, cols.right - 2, checking && !last, probeRows(height)), [last, cols.right, checking, height]);
  const traffic = useMemo(() => (spread ? trafficLines(spread, servers, cols.left - 2) : []), [spread, servers, cols.left]);
  const L = layout(width, height, { steps: view.steps.length, probes: probes.length, traffic: traffic.length, topology: topoCount });
  const lessonWidth = L.right - 2;
  const content = useMemo(() => lessonPane(view, progress, solutionShown, index, lessonWidth, theme.colour), [view, progress, solutionShown, index, lessonWidth, theme.colour]);
  const helpText = useMemo(() => helpLines(lessonWidth), [lessonWidth]);
  const shown = help ? helpText : content.lines;
  const lessonRows = L.lessonH - 2;
  const maxScroll = Math.max(0, shown.length - lessonRows);
  const top = Math.min(help ? help.scroll : state.scroll, maxScroll);
  // A passed step held on screen stays the marked one, though progress has moved on.
  const stepLines = useMemo(() => stepListLines(view, progress.step === index ? progress : { ...progress, step: index }, outcome, L.left - 2), [view, progress, index, outcome, L.left]);
  const topo = useMemo(() => topologyLines(view, L.left - 2), [view, L.left]);

  // ---- header and footer
  const header = useMemo(() => headerLines(view, index, width), [view, index, width]);
  const busy = state.busy?.label;
  const status = useMemo(() => statusLine({ busy, checking, last, notice: state.notice }, width), [busy, checking, last, state.notice, width]);
  const pending = predictionPending(step, progress);
  const predictChoices = pending ? step.predict!.choices.length : undefined;
  const keys = useMemo(() => keyLine({ dialog: state.dialog, index, nodes: view.nodes, predictChoices }, width), [state.dialog, index, view.nodes, predictChoices, width]);
  const footer = useMemo(() => [status, keys], [status, keys]);

  if (L.tooSmall) {
    return <Rows width={width} lines={[{ segs: [{ text: truncate(t("ui.pane.tooSmall", { width, height }), width) }] }]} />;
  }

  const counted = last ? last.results.filter((r) => !r.observation) : [];
  const probeTitle = last ? t("ui.pane.checksPass", { ok: counted.filter((r) => r.ok).length, of: counted.length }) : t("ui.pane.checks");
  const lessonTitle = help ? t("ui.pane.help") : t("ui.pane.lesson", { n: index + 1 });
  const lessonRight = maxScroll > 0 ? `${top + 1}-${Math.min(top + lessonRows, shown.length)}/${shown.length}${top < maxScroll ? " ↓" : ""}` : undefined;

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Rows width={width} lines={header} />
      <Box flexDirection="row" width={width} height={L.body}>
        {L.twoColumns && (
          <Box flexDirection="column" width={L.left}>
            <Panel title={t("ui.pane.steps")} width={L.left} height={L.stepsH} lines={stepLines} offset={Math.max(0, index - (L.stepsH - 3))} />
            {L.topoH > 0 && <Panel title={t("ui.pane.topology")} width={L.left} height={L.topoH} lines={topo} />}
            {L.trafficH > 0 && <Panel title={t("ui.pane.traffic", { n: spread!.total })} width={L.left} height={L.trafficH} lines={traffic} />}
          </Box>
        )}
        <Box flexDirection="column" width={L.right}>
          <Panel title={lessonTitle} right={lessonRight} width={L.right} height={L.lessonH} lines={shown} offset={top} focus />
          <Panel title={probeTitle} right={checking ? t("ui.pane.checking") : last ? clock(last.at) : undefined} width={L.right} height={L.probeH} lines={probes} />
        </Box>
      </Box>
      <Rows width={width} lines={footer} />
    </Box>
  );
}
