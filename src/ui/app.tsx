/**
 * The lesson screen. State lives here; the lab is reached only through `actions`, and a
 * shell or quit leaves through `onExit` with a snapshot the next mount starts from.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Box, useInput, type Key } from "ink";
import { stepPasses, type ProbeResult } from "../probes/run.js";
import { markSolvedWithHelp, moveTo, recordPass, recordPrediction, revealHint as withHintRevealed, type Progress } from "../state/progress.js";
import { Panel, Rows } from "./components.js";
import { fitSegs, type Line, type Seg } from "./markdown.js";
import {
  helpLines,
  lessonContent,
  probeLines,
  realServers,
  spreadOf,
  stepListLines,
  topologyLines,
  trafficLines,
  truncate,
} from "./panes.js";
import { MARK, useTheme } from "./theme.js";
import type { CheckRun, LabView, UiActions, UiExit, UiSnapshot } from "./types.js";

export interface AppProps {
  initial: UiSnapshot;
  actions: UiActions;
  width: number;
  height: number;
  onExit: (e: UiExit) => void;
  /** Pause between two automatic checks (the next starts this long after one ends). */
  checkEveryMs?: number;
  /** How long a passed step stays on screen before the next one opens. */
  advanceAfterMs?: number;
  /** Check by itself (on mount and every checkEveryMs); tests switch it off. */
  autoCheck?: boolean;
}

type Dialog = { kind: "solution" } | { kind: "reset" } | { kind: "quit" } | { kind: "shell"; sel: number };

export function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

export function columns(width: number): { twoColumns: boolean; left: number; right: number } {
  const twoColumns = width >= 64;
  const left = twoColumns ? Math.max(24, Math.min(36, Math.floor(width * 0.32))) : 0;
  return { twoColumns, left, right: width - left };
}

/** Sizes of the panes for a terminal size; pure so that tests can pin it. */
export function layout(width: number, height: number, counts: { steps: number; probes: number; traffic: number; topology: number }) {
  const body = Math.max(0, height - 4);
  const { twoColumns, left, right } = columns(width);
  let stepsH = Math.min(counts.steps + 2, Math.max(3, Math.floor(body / 3)));
  let trafficH = counts.traffic ? Math.min(counts.traffic + 2, Math.max(0, body - stepsH)) : 0;
  let topoH = Math.min(counts.topology + 2, body - stepsH - trafficH);
  if (topoH < 4) topoH = 0;
  // The last pane of the left column takes what is left, so the column ends with the body.
  const spare = Math.max(0, body - stepsH - trafficH - topoH);
  if (trafficH) trafficH += spare;
  else if (topoH) topoH += spare;
  else stepsH += spare;
  const probeH = Math.max(3, Math.min(counts.probes + 2, Math.floor(body * 0.45)));
  const lessonH = Math.max(3, body - probeH);
  return { body, twoColumns, left, right, stepsH, trafficH, topoH, probeH, lessonH, tooSmall: body < 8 || width < 40 };
}

function sameResults(a: ProbeResult[] | undefined, b: ProbeResult[]): boolean {
  return Boolean(a) && JSON.stringify(a) === JSON.stringify(b);
}

export function App({ initial, actions, width, height, onExit, checkEveryMs = 2000, advanceAfterMs = 1500, autoCheck = true }: AppProps) {
  const theme = useTheme();
  const [view, setView] = useState<LabView>(initial.view);
  const [progress, setProgress] = useState<Progress>(initial.progress);
  const [last, setLast] = useState<CheckRun | undefined>(initial.last);
  const [outcome, setOutcome] = useState<Record<string, boolean>>(initial.outcome);
  const [solutionShown, setSolutionShown] = useState<string[]>(initial.solutionShown);
  const [scroll, setScroll] = useState(initial.scroll);
  const [notice, setNotice] = useState<string | undefined>(initial.notice);
  const [checking, setChecking] = useState(false);
  const [busy, setBusy] = useState<string | undefined>();
  const [dialog, setDialogState] = useState<Dialog | undefined>();
  // Keys may come faster than renders ("q" then "k" in one read): the open dialog is also
  // kept in a ref that changes at once, and the key handler always reads the latest state.
  const dialogRef = useRef<Dialog | undefined>(undefined);
  const setDialog = (d: Dialog | undefined) => {
    dialogRef.current = d;
    setDialogState(d);
  };
  const [help, setHelp] = useState(false);
  const [helpScroll, setHelpScroll] = useState(0);

  const index = Math.min(progress.step, view.steps.length - 1);
  const step = view.steps[index]!;
  const hintsShown = progress.hintsShown[step.id] ?? 0;
  const stepIds = useMemo(() => view.steps.map((s) => s.id), [view.steps]);
  const predicted = progress.predictions[step.id];
  const predictionPending = Boolean(step.predict) && predicted === undefined && !progress.passed.includes(step.id);

  // Refs for the check loop, which outlives renders.
  const alive = useRef(true);
  const stepRef = useRef(index);
  stepRef.current = index;
  const progressRef = useRef(progress);
  progressRef.current = progress;
  const busyRef = useRef(busy);
  busyRef.current = busy;
  const running = useRef(false);
  const again = useRef(false);
  const timer = useRef<NodeJS.Timeout | undefined>(undefined);
  const advanceTimer = useRef<NodeJS.Timeout | undefined>(undefined);
  const lastRef = useRef(last);
  lastRef.current = last;

  // Save on every change of progress (a key may arrive before the first effect runs).
  const savedProgress = useRef(initial.progress);
  useEffect(() => {
    if (progress === savedProgress.current) return;
    savedProgress.current = progress;
    actions.saveProgress(progress);
  }, [progress, actions]);

  const goTo = useCallback(
    (i: number) => {
      if (i < 0 || i >= view.steps.length || i === stepRef.current) return;
      clearTimeout(advanceTimer.current);
      stepRef.current = i;
      setProgress((p) => moveTo(p, stepIds, i));
      setLast(undefined);
      setScroll(0);
      const next = view.steps[i]!;
      const ask = next.predict && progressRef.current.predictions[next.id] === undefined && !progressRef.current.passed.includes(next.id);
      setNotice(ask ? `Predict first: the question is in the lesson pane, answer with 1–${next.predict!.choices.length}.` : undefined);
      runCheckRef.current?.();
    },
    [view.steps, stepIds],
  );

  const runCheckRef = useRef<(() => void) | undefined>(undefined);
  runCheckRef.current = () => {
    if (running.current || busyRef.current) {
      again.current = true;
      return;
    }
    clearTimeout(timer.current);
    running.current = true;
    setChecking(true);
    const at = stepRef.current;
    const began = Date.now();
    actions
      .check(at)
      .then((results) => {
        if (!alive.current || at !== stepRef.current) return;
        const prev = lastRef.current;
        const run: CheckRun = { step: at, results: prev?.step === at && sameResults(prev.results, results) ? prev.results : results, at: Date.now(), ms: Date.now() - began };
        setLast(run);
        const ok = stepPasses(results);
        const id = view.steps[at]!.id;
        setOutcome((o) => (o[id] === ok ? o : { ...o, [id]: ok }));
        if (ok && !progressRef.current.passed.includes(id)) {
          // The step stays on screen a moment (advanceTimer) before the next one opens.
          setProgress((p) => (p.passed.includes(id) ? p : { ...recordPass(p, stepIds, at), step: p.step }));
          const lastStep = at === view.steps.length - 1;
          const allDone = view.steps.every((s) => s.id === id || progressRef.current.passed.includes(s.id));
          setNotice(
            `${MARK.passed} Step ${at + 1} passed` +
              (lastStep ? (allDone ? ": lab complete! q quits." : "; n/p to revisit the others.") : "! On to the next step…"),
          );
          if (!lastStep) {
            clearTimeout(advanceTimer.current);
            advanceTimer.current = setTimeout(() => {
              if (alive.current && stepRef.current === at) goTo(at + 1);
            }, advanceAfterMs);
          }
        }
      })
      .catch((e: unknown) => {
        if (alive.current) setNotice(`Check failed: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => {
        running.current = false;
        if (!alive.current) return;
        setChecking(false);
        if (again.current) {
          again.current = false;
          runCheckRef.current?.();
        } else if (autoCheck) {
          timer.current = setTimeout(() => runCheckRef.current?.(), checkEveryMs);
        }
      });
  };
  const checkNow = useCallback(() => runCheckRef.current?.(), []);

  useEffect(() => {
    alive.current = true;
    if (autoCheck) checkNow();
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
      clearTimeout(advanceTimer.current);
    };
  }, [autoCheck, checkNow]);

  const snapshot = (): UiSnapshot => ({ view, progress: progressRef.current, last, scroll, solutionShown, outcome, notice });
  const leave = (e: UiExit) => {
    alive.current = false;
    clearTimeout(timer.current);
    clearTimeout(advanceTimer.current);
    onExit(e);
  };

  // ---- sizes and contents
  const topoCount = useMemo(() => topologyLines(view, 1000).length, [view]);
  const spread = spreadOf(last);
  const servers = useMemo(() => realServers(view), [view]);
  const cols = columns(width);
  const probeRows = Math.floor(Math.max(0, height - 4) * 0.45) - 2;
  const probes = useMemo(() => probeLines(last, cols.right - 2, checking && !last, probeRows), [last, cols.right, checking, probeRows]);
  const traffic = useMemo(() => (spread ? trafficLines(spread, servers, cols.left - 2) : []), [spread, servers, cols.left]);
  const L = layout(width, height, { steps: view.steps.length, probes: probes.length, traffic: traffic.length, topology: topoCount });
  const lessonWidth = L.right - 2;
  const content = useMemo(
    () =>
      lessonContent(view, index, hintsShown, solutionShown.includes(step.id), lessonWidth, theme.colour, {
        yours: predicted,
        revealed: progress.passed.includes(step.id),
      }),
    [view, index, hintsShown, solutionShown, step.id, lessonWidth, theme.colour, predicted, progress.passed],
  );
  const help_ = useMemo(() => helpLines(lessonWidth), [lessonWidth]);
  const lessonRows = L.lessonH - 2;
  const maxScroll = Math.max(0, (help ? help_.length : content.lines.length) - lessonRows);
  const top = Math.min(help ? helpScroll : scroll, maxScroll);
  const stepLines = useMemo(() => stepListLines(view, progress, outcome, L.left - 2), [view, progress, outcome, L.left]);
  const topo = useMemo(() => topologyLines(view, L.left - 2), [view, L.left]);

  const scrollBy = (d: number) => (help ? setHelpScroll : setScroll)((s) => Math.max(0, Math.min(maxScroll, Math.min(s, maxScroll) + d)));
  // After a hint or the solution appears, scroll to it once the content has it.
  const [focus, setFocus] = useState<number | "solution" | undefined>();
  useEffect(() => {
    if (focus === undefined) return;
    const at = focus === "solution" ? content.solutionAt : content.hintAt[focus - 1];
    if (at !== undefined) setScroll(Math.max(0, at - 1));
    setFocus(undefined);
  }, [focus, content]);

  // ---- actions behind keys
  const revealHint = () => {
    if (!step.hints.length) return setNotice("This step has no hints.");
    if (hintsShown >= step.hints.length) return setNotice(`All ${step.hints.length} hint${step.hints.length > 1 ? "s are" : " is"} shown. s shows the solution.`);
    const n = hintsShown + 1;
    setProgress((p) => withHintRevealed(p, step.id, step.hints.length));
    setNotice(`Hint ${n} of ${step.hints.length} is in the lesson pane.`);
    setFocus(n);
  };
  const showSolution = () => {
    setSolutionShown((s) => (s.includes(step.id) ? s : [...s, step.id]));
    setProgress((p) => markSolvedWithHelp(p, step.id));
    setNotice("Solution shown: a applies it, x opens a shell to type it.");
    setFocus("solution");
  };
  const predict = (choice: number) => {
    setProgress((p) => recordPrediction(p, step.id, choice));
    setNotice(`Prediction kept: ${choice}. Now measure; the answer shows when the step passes.`);
  };
  const runBusy = (label: string, work: () => Promise<string | undefined>) => {
    setBusy(label);
    busyRef.current = label;
    work()
      .then((msg) => alive.current && setNotice(msg))
      .catch((e: unknown) => alive.current && setNotice(`${label} failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        if (!alive.current) return;
        busyRef.current = undefined;
        setBusy(undefined);
        again.current = false;
        runCheckRef.current?.();
      });
  };
  const apply = () => {
    if (!solutionShown.includes(step.id)) return setNotice("Show the solution first (s).");
    runBusy("Applying the solution", () => actions.solve(index));
  };
  const reset = () =>
    runBusy("Resetting the lab", async () => {
      const fresh = await actions.reset(index);
      setView(fresh);
      setLast(undefined);
      return `The lab is back at the start of step ${index + 1}.`;
    });

  const onKey = (input: string, key: Key) => {
    if (key.ctrl && input === "c") return leave({ kind: "quit", stop: false, snapshot: snapshot() });
    const dialog = dialogRef.current;
    if (dialog) {
      const yes = input === "y" || input === "Y";
      const no = input === "n" || input === "N" || key.escape;
      switch (dialog.kind) {
        case "solution":
          if (yes) showSolution();
          if (yes || no) setDialog(undefined);
          return;
        case "reset":
          if (yes) reset();
          if (yes || no) setDialog(undefined);
          return;
        case "quit":
          if (input === "s") return leave({ kind: "quit", stop: true, snapshot: snapshot() });
          if (input === "k") return leave({ kind: "quit", stop: false, snapshot: snapshot() });
          if (input === "c" || input === "q" || key.escape) setDialog(undefined);
          return;
        case "shell": {
          const n = view.nodes.length;
          const digit = Number(input);
          if (Number.isInteger(digit) && digit >= 1 && digit <= n) return leave({ kind: "shell", node: view.nodes[digit - 1]!, snapshot: snapshot() });
          if (key.leftArrow || key.upArrow) return setDialog({ kind: "shell", sel: (dialog.sel + n - 1) % n });
          if (key.rightArrow || key.downArrow || key.tab) return setDialog({ kind: "shell", sel: (dialog.sel + 1) % n });
          if (key.return) return leave({ kind: "shell", node: view.nodes[dialog.sel]!, snapshot: snapshot() });
          if (key.escape || input === "x" || input === "q") setDialog(undefined);
          return;
        }
      }
    }
    if (help && (key.escape || input === "?" || input === "q")) return setHelp(false);
    if (key.pageDown || input === " ") return scrollBy(Math.max(1, lessonRows - 1));
    if (key.pageUp || input === "b") return scrollBy(-Math.max(1, lessonRows - 1));
    if (input === "j" || key.downArrow) return scrollBy(1);
    if (input === "k" || key.upArrow) return scrollBy(-1);
    if (input === "?") {
      setHelpScroll(0);
      return setHelp(true);
    }
    if (busy) {
      if ("nphsaxrc".includes(input)) setNotice(`${busy}… wait a moment.`);
      if (input === "q") setDialog({ kind: "quit" });
      return;
    }
    const choice = Number(input);
    if (predictionPending && Number.isInteger(choice) && choice >= 1 && choice <= step.predict!.choices.length) return predict(choice);
    switch (input) {
      case "n":
        return goTo(index + 1);
      case "p":
        return goTo(index - 1);
      case "c":
        setNotice(undefined);
        return checkNow();
      case "h":
        return revealHint();
      case "s":
        if (solutionShown.includes(step.id)) return setFocus("solution");
        return setDialog({ kind: "solution" });
      case "a":
        return apply();
      case "x":
        return setDialog({ kind: "shell", sel: Math.max(0, view.nodes.indexOf(step.solutions[0]?.node ?? "")) });
      case "r":
        return setDialog({ kind: "reset" });
      case "q":
        return setDialog({ kind: "quit" });
    }
  };
  const keyHandler = useRef(onKey);
  keyHandler.current = onKey;
  useInput(useCallback((input: string, key: Key) => keyHandler.current(input, key), []));

  // ---- header and footer
  const header = useMemo<Line[]>(() => {
    const right = `step ${index + 1} of ${view.steps.length}`;
    const title = truncate(`lvs-lab · ${view.title}`, width - right.length - 2);
    const line1: Line = { segs: [{ text: title, bold: true }, { text: " ".repeat(Math.max(1, width - title.length - right.length)) }, { text: right, bold: true, color: "yellow" }] };
    const info = `instance ${view.instance} · engine ${view.engineHost}${view.kernel ? ` · kernel ${view.kernel}` : ""}`;
    return [line1, { segs: [{ text: truncate(info, width), dim: true }] }];
  }, [index, view, width]);

  const statusLine = useMemo<Line>(() => {
    const segs: Seg[] = [];
    if (busy) segs.push({ text: `⟳ ${busy}…`, color: "yellow", bold: true });
    else if (checking) segs.push({ text: "⟳ checking…", color: "yellow" });
    else segs.push({ text: "· idle", dim: true });
    if (last) segs.push({ text: ` · last check ${clock(last.at)} (${(last.ms / 1000).toFixed(1)} s)`, dim: true });
    if (notice) segs.push({ text: "  " }, { text: notice, bold: true });
    return { segs: fitSegs(segs, width) };
  }, [busy, checking, last, notice, width]);

  const keyLine = useMemo<Line>(() => {
    const k = (key: string, what: string): Seg[] => [{ text: key, bold: true, color: "cyan" }, { text: ` ${what}  ` }];
    let segs: Seg[];
    if (dialog?.kind === "solution") segs = [{ text: "Show the solution? The step then counts as solved with help.  ", bold: true }, ...k("y", "yes"), ...k("n", "no")];
    else if (dialog?.kind === "reset") segs = [{ text: `Reset the lab to the start of step ${index + 1}? Containers are recreated.  `, bold: true }, ...k("y", "yes"), ...k("n", "no")];
    else if (dialog?.kind === "quit") segs = [{ text: "Quit: ", bold: true }, ...k("s", "stop the containers"), ...k("k", "keep them for later"), ...k("c", "cancel")];
    else if (dialog?.kind === "shell")
      segs = [
        { text: "Shell on: ", bold: true },
        ...view.nodes.flatMap((n, i): Seg[] => [{ text: i === dialog.sel ? MARK.current : " ", color: "yellow" }, { text: `${i + 1}`, bold: true, color: "cyan" }, { text: ` ${n}  `, bold: i === dialog.sel }]),
        { text: "Enter/number · Esc cancels", dim: true },
      ];
    else if (predictionPending) segs = [...k(`1-${step.predict!.choices.length}`, "predict"), ...k("n/p", "step"), ...k("c", "check"), ...k("h", "hint"), ...k("x", "shell"), ...k("q", "quit"), ...k("?", "help")];
    else segs = [...k("n/p", "step"), ...k("c", "check"), ...k("h", "hint"), ...k("s", "solution"), ...k("x", "shell"), ...k("r", "reset"), ...k("q", "quit"), ...k("?", "help")];
    return { segs: fitSegs(segs, width) };
  }, [dialog, index, view.nodes, width, predictionPending, step.predict]);

  const footer = useMemo(() => [statusLine, keyLine], [statusLine, keyLine]);

  if (L.tooSmall) {
    return <Rows width={width} lines={[{ segs: [{ text: truncate(`lvs-lab needs at least 40x12 (now ${width}x${height}). q quits.`, width) }] }]} />;
  }

  const counted = last ? last.results.filter((r) => !r.observation) : [];
  const probeTitle = last ? `Checks ${counted.filter((r) => r.ok).length}/${counted.length} pass` : "Checks";
  const lessonTitle = help ? "Help" : `Lesson · step ${index + 1}`;
  const lessonRight = maxScroll > 0 ? `${top + 1}-${Math.min(top + lessonRows, help ? help_.length : content.lines.length)}/${help ? help_.length : content.lines.length}${top < maxScroll ? " ↓" : ""}` : undefined;

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Rows width={width} lines={header} />
      <Box flexDirection="row" width={width} height={L.body}>
        {L.twoColumns && (
          <Box flexDirection="column" width={L.left}>
            <Panel title="Steps" width={L.left} height={L.stepsH} lines={stepLines} offset={Math.max(0, index - (L.stepsH - 3))} />
            {L.topoH > 0 && <Panel title="Topology" width={L.left} height={L.topoH} lines={topo} />}
            {L.trafficH > 0 && <Panel title={`Traffic (${spread!.total})`} width={L.left} height={L.trafficH} lines={traffic} />}
          </Box>
        )}
        <Box flexDirection="column" width={L.right}>
          <Panel title={lessonTitle} right={lessonRight} width={L.right} height={L.lessonH} lines={help ? help_ : content.lines} offset={top} focus />
          <Panel title={probeTitle} right={checking ? "checking…" : last ? clock(last.at) : undefined} width={L.right} height={L.probeH} lines={probes} />
        </Box>
      </Box>
      <Rows width={width} lines={footer} />
    </Box>
  );
}
