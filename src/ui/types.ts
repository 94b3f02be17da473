/**
 * What the UI shows and what it may ask for. Components receive plain data (LabView,
 * ProbeResult, Progress) and callbacks (UiActions); only controller.ts talks to the lab.
 */
import type { ProbeResult } from "../probes/runner.js";
import type { Prediction } from "../lesson/markdown-lesson.js";
import type { Progress } from "../state/progress.js";
import type { InterfaceMap, ResolvedTopology } from "../topology/resolve.js";

export interface StepView {
  id: string;
  title: string;
  /** Markdown, template variables already filled in. */
  prose: string;
  hints: string[];
  solutions: Array<{ node: string; commands: string }>;
  /** A question asked before the measurement, template variables filled in. */
  predict?: Prediction;
  /** Nodes the step's check restarts: it runs only when the learner asks (c), never by itself. */
  restarts?: string[];
}

export interface LabView {
  labId: string;
  title: string;
  instance: string;
  engineHost: string;
  kernel?: string;
  /** The lesson's introduction (shown above step 1). */
  intro: string;
  steps: StepView[];
  topology: ResolvedTopology;
  ifaces: InterfaceMap;
  /** Nodes a shell can be opened on, in topology order. */
  nodes: string[];
}

export interface CheckRun {
  step: number;
  results: ProbeResult[];
  /** When the run finished (ms since epoch) and how long it took. */
  at: number;
  ms: number;
}

export interface UiActions {
  check(step: number): Promise<ProbeResult[]>;
  /** Runs the reference solution; resolves to a one-line summary. */
  solve(step: number): Promise<string>;
  /** Recreates the lab at the start of `step`; resolves to the new view. */
  reset(step: number): Promise<LabView>;
  saveProgress(p: Progress): void;
  /** Brings the lab to the start of step `step`: earlier steps checked, the failing ones solved with help. */
  catchUp?(step: number, progress: Progress): Promise<{ progress: Progress; summary: string }>;
  /** Notices from a class the learner joined, as they arrive; returns the unsubscribe. */
  subscribe?(listener: (notice: ClassNotice) => void): () => void;
}

/** From the instructor: an offer to bring the lab to a step (0-based), or a message. */
export type ClassNotice = { kind: "offer"; id: string; step: number } | { kind: "message"; id: string; text: string };

/** Everything that must survive unmounting the app for a shell. */
export interface UiSnapshot {
  view: LabView;
  progress: Progress;
  last?: CheckRun;
  scroll: number;
  /** Steps whose solution is on screen. */
  solutionShown: string[];
  /** Latest outcome per step id (for ✘ in the step list). */
  outcome: Record<string, boolean>;
  notice?: string;
}

export type UiExit =
  | { kind: "shell"; node: string; snapshot: UiSnapshot }
  | { kind: "quit"; stop: boolean; snapshot: UiSnapshot };
