/**
 * The only part of the UI that touches the lab: builds the view from a session and
 * implements the actions (check, solve, reset, save progress, shell) with the use cases
 * of lab/ (session.ts, lesson-run.ts), whose events it hands on to one subscriber list.
 * What needs the engine itself (its kernel, a terminal handed to a container) comes in
 * from the caller through LabHooks.
 */
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { restartedNodes } from "../probes/registry.js";
import { catchUpTo } from "../lab/catch-up.js";
import { nameQuotedCommands } from "../lab/instance-flag.js";
import { checkAndRecord, progressEvent, type RunEvent } from "../lab/lesson-run.js";
import { resetLab, solveStep, type LabSession } from "../lab/session.js";
import { saveProgress, type Progress } from "../state/progress.js";
import { renderTemplate } from "../topology/resolve.js";
import type { LabView, UiActions } from "./types.js";

function labView(s: LabSession, hooks: Pick<LabHooks, "kernel" | "nameFlag">): LabView {
  const kernel = hooks.kernel;
  const r = (text: string) => renderTemplate(text, s.vars);
  // Lesson text quotes commands (`lvs-lab shell director`); they must work as typed.
  const prose = (text: string) => nameQuotedCommands(r(text), hooks.nameFlag ?? "");
  return {
    labId: s.lab.lesson.meta.id,
    title: s.lab.lesson.meta.title,
    instance: s.name,
    engineHost: s.engine.host,
    kernel,
    intro: prose(s.lab.lesson.intro),
    steps: s.lab.lesson.steps.map((st) => ({
      id: st.id,
      title: st.title,
      prose: prose(st.prose),
      hints: st.hints.map(prose),
      solutions: st.solutions.map((sol) => ({ node: sol.node, commands: r(sol.commands) })),
      ...(restartedNodes(st.checks).length ? { restarts: restartedNodes(st.checks) } : {}),
      ...(st.predict
        ? { predict: { question: r(st.predict.question), choices: st.predict.choices.map(r), answer: st.predict.answer, reveal: prose(st.predict.reveal) } }
        : {}),
    })),
    topology: s.topology,
    ifaces: s.ifaces,
    nodes: Object.keys(s.topology.nodes),
  };
}

export interface LabHooks {
  /** The kernel running the containers, shown in the header. */
  kernel?: string;
  /** " --name X" where commands quoted in the lesson need it (see lab/instance-flag.ts). */
  nameFlag?: string;
  /** Runs an interactive shell in a container with the terminal handed over; resolves with its exit code. */
  interactiveShell(containerId: string, node: string): Promise<number>;
}

export interface Controller {
  actions: UiActions;
  /** The lesson as the UI shows it, for the session as it is now. */
  view(): LabView;
  session(): LabSession;
  /** Runs an interactive shell on a node with the terminal handed over; resolves on exit. */
  shell(node: string): Promise<number>;
  /** Waits for pending progress writes. */
  flush(): Promise<void>;
  /** Measured durations of checks (ms), for the report and tests. */
  checkTimes: number[];
  /** The progress as last saved. */
  progress(): Progress;
  /** What happens to the lesson (checks, changes of progress) as it happens; returns the unsubscribe. */
  onEvent(listener: (event: RunEvent) => void): () => void;
}

export function createController(start: LabSession, progress: Progress, hooks: LabHooks): Controller {
  let s = start;
  // Every change of progress on the screen comes through saveProgress (the reducer's save effect).
  let current = progress;
  let saving: Promise<void> = Promise.resolve();
  const checkTimes: number[] = [];
  const listeners = new Set<(event: RunEvent) => void>();
  const emit = (event: RunEvent) => listeners.forEach((l) => l(event));
  const actions: UiActions = {
    async check(step) {
      const began = Date.now();
      // The pass is recorded by the screen's reducer, which may have moved on while this ran.
      const run = await checkAndRecord(s, current, step, { only: true });
      checkTimes.push(Date.now() - began);
      if (checkTimes.length > 100) checkTimes.shift();
      run.events.forEach(emit);
      return run.checks[0]!.results;
    },
    async solve(step) {
      const runs = await solveStep(s, step);
      return t("ui.notice.applied", { nodes: [...new Set(runs.map((r) => r.node))].join(", ") });
    },
    async reset(step) {
      s = await resetLab(s, step);
      return labView(s, hooks);
    },
    async catchUp(step, progress) {
      const r = await catchUpTo(s, progress, step);
      const applied = r.solved.length ? t("ui.notice.caughtUpSolved", { steps: r.solved.map((i) => i + 1).join(", ") }) : t("ui.notice.caughtUpPassed");
      return { progress: r.progress, summary: t("ui.notice.caughtUp", { n: step + 1, applied }) };
    },
    saveProgress(p: Progress) {
      const copy = structuredClone(p);
      const event = progressEvent(current, copy);
      current = copy;
      // Writes go one after another, so the file always holds the latest progress.
      saving = saving.then(() => saveProgress(s.name, copy)).catch(() => undefined);
      emit(event);
    },
  };
  return {
    actions,
    view: () => labView(s, hooks),
    session: () => s,
    checkTimes,
    flush: () => saving,
    progress: () => current,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async shell(node) {
      const id = s.containers[node];
      if (!id) throw new UserError(t("errors.noNode", { name: s.name, node, nodes: Object.keys(s.containers).join(", ") }));
      return hooks.interactiveShell(id, node);
    },
  };
}
