/**
 * The class as data, pure: log records fold into a ClassState (`applyRecord`), and a
 * state becomes what the instructor sees (`classView`): per lab a grid of learners ×
 * steps, time on the current step, hints, and the two flags: stuck (the same probes
 * have failed on the current step for N minutes and nothing moved) and regressed (a step
 * that passed fails again). Times are the server's clock (ms).
 */
import type { LogRecord } from "./log.js";
import type { LearnerEvent, Message, Offer, ProbeVerdict } from "./protocol.js";

export interface LabInfo {
  id: string;
  title: string;
  steps: Array<{ id: string; title: string }>;
}

export interface StepVerdictRecord {
  passed: boolean;
  at: number;
  probes: ProbeVerdict[];
}

/** One learner's work on one lab. */
export interface LabRecord {
  instance: string;
  /** The time of the latest event applied: an older one arriving late changes nothing. */
  lastAt: number;
  current: string;
  passed: string[];
  solvedWithHelp: string[];
  hintsShown: Record<string, number>;
  predictions: Record<string, number>;
  /** When the current step became current. */
  stepSince: number;
  /** When the current step or the passed steps last changed. */
  progressAt: number;
  /** The latest verdict of each step checked. */
  verdicts: Record<string, StepVerdictRecord>;
  /** Steps that passed at some point (a later failure of one is a regression). */
  everPassed: string[];
  /** The current step's failing probes, and since when exactly those have failed. */
  failing?: { signature: string; since: number };
}

export interface Learner {
  id: string;
  name: string;
  joinedAt: number;
  left: boolean;
  lastSeen: number;
  /** The lab of the learner's latest event. */
  lab?: string;
  labs: Record<string, LabRecord>;
  events: number;
}

export interface ClassState {
  title: string;
  /** By id; a Map, so an id such as "__proto__" is a key like any other. */
  learners: Map<string, Learner>;
  offers: Offer[];
  messages: Message[];
}

export function emptyClass(title: string): ClassState {
  return { title, learners: new Map(), offers: [], messages: [] };
}

const union = (a: string[], b: string[]) => [...new Set([...a, ...b])];
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** Which probes hold the step back: the same ones failing again is no progress. */
export function failingSignature(probes: ProbeVerdict[]): string {
  return probes
    .filter((p) => !p.ok && !p.observation)
    .map((p) => `${p.kind}|${p.node ?? ""}|${p.description ?? p.message}`)
    .sort()
    .join("\n");
}

export function applyEvent(previous: LabRecord | undefined, e: LearnerEvent, t: number): LabRecord {
  const p = e.progress;
  const moved = !previous || previous.current !== p.step || !sameSet(previous.passed, p.passed);
  const verdicts = { ...previous?.verdicts };
  // A step that passes now without a check here (a catch-up solved it) has no failing verdict left.
  for (const id of p.passed) if (!previous?.passed.includes(id)) delete verdicts[id];
  for (const c of e.checks ?? []) verdicts[c.id] = { passed: c.passed, at: t, probes: c.probes };
  const passedNow = (e.checks ?? []).filter((c) => c.passed).map((c) => c.id);
  const ofCurrent = e.checks?.find((c) => c.id === p.step);
  let failing = previous?.current === p.step ? previous.failing : undefined;
  if (ofCurrent) {
    const signature = failingSignature(ofCurrent.probes);
    failing = ofCurrent.passed || !signature ? undefined : failing?.signature === signature ? failing : { signature, since: t };
  }
  return {
    instance: e.instance,
    lastAt: t,
    current: p.step,
    passed: p.passed,
    solvedWithHelp: p.solvedWithHelp,
    hintsShown: p.hintsShown,
    predictions: p.predictions,
    stepSince: t - p.stepSeconds * 1000,
    progressAt: previous && !moved ? previous.progressAt : t,
    verdicts,
    everPassed: union(union(previous?.everPassed ?? [], p.passed), passedNow),
    failing,
  };
}

function withLearner(state: ClassState, id: string, change: (l: Learner) => Learner): ClassState {
  const learner = state.learners.get(id);
  return learner ? { ...state, learners: new Map(state.learners).set(id, change(learner)) } : state;
}

/** Folds one log record into the class. Records about unknown learners change nothing. */
export function applyRecord(state: ClassState, record: LogRecord): ClassState {
  switch (record.r) {
    case "class":
      return { ...state, title: record.title };
    case "join": {
      const known = state.learners.get(record.learner);
      const learner: Learner = known
        ? { ...known, left: false, lastSeen: record.t }
        : { id: record.learner, name: record.name, joinedAt: record.t, left: false, lastSeen: record.t, labs: {}, events: 0 };
      return { ...state, learners: new Map(state.learners).set(record.learner, learner) };
    }
    case "leave":
      return withLearner(state, record.learner, (l) => ({ ...l, left: true, lastSeen: record.t }));
    case "event":
      return withLearner(state, record.learner, (l) => {
        const e = record.e;
        const seen = { ...l, events: l.events + 1, lastSeen: Math.max(l.lastSeen, record.t), left: false };
        const previous = l.labs[e.lab];
        if (previous && record.t < previous.lastAt) return seen;
        return { ...seen, lab: e.lab, labs: { ...l.labs, [e.lab]: applyEvent(previous, e, record.t) } };
      });
    case "offer":
      return { ...state, offers: [...state.offers, { id: record.id, at: record.t, lab: record.lab, step: record.step, ...(record.learner ? { learner: record.learner } : {}) }] };
    case "say":
      return { ...state, messages: [...state.messages, { id: record.id, at: record.t, text: record.text, ...(record.learner ? { learner: record.learner } : {}) }] };
  }
}

/** The newest offer for this learner's lab that still brings them forward. */
export function openOffer(state: ClassState, learner: Learner, labs: LabInfo[]): Offer | undefined {
  const lab = learner.lab ? labs.find((l) => l.id === learner.lab) : undefined;
  const record = learner.lab ? learner.labs[learner.lab] : undefined;
  if (!lab || !record) return undefined;
  const current = lab.steps.findIndex((s) => s.id === record.current) + 1;
  for (let i = state.offers.length - 1; i >= 0; i--) {
    const o = state.offers[i]!;
    if (o.lab !== lab.id || (o.learner && o.learner !== learner.id)) continue;
    return o.step > current ? o : undefined;
  }
  return undefined;
}

/** Messages for this learner (to everyone or to them), the newest last. */
export function messagesFor(state: ClassState, learner: Learner, count = 5): Message[] {
  return state.messages.filter((m) => !m.learner || m.learner === learner.id).slice(-count);
}

// ---- the view

export type Cell = "passed" | "helped" | "failed" | "todo";

export interface GridRow {
  learner: string;
  name: string;
  instance: string;
  left: boolean;
  /** Heard from in the last two minutes. */
  online: boolean;
  /** The current step, 1-based. */
  current: number;
  cells: Cell[];
  finished: boolean;
  onStepSeconds: number;
  hints: number;
  stuck: boolean;
  /** How long the same probes have failed without progress, when stuck. */
  stuckSeconds?: number;
  /** Steps (1-based) that passed before and whose latest check fails. */
  regressed: number[];
  /** The current step's failing probes (their descriptions). */
  failing: string[];
  /** An open catch-up offer: the step it brings the learner to. */
  offer?: number;
  lastSeenSeconds: number;
  events: number;
}

export interface LabGrid {
  id: string;
  title: string;
  steps: Array<{ number: number; id: string; title: string }>;
  /** The step most of the class is on (the upper median of the current steps). */
  classStep: number;
  rows: GridRow[];
}

export interface ClassView {
  title: string;
  now: number;
  stuckMinutes: number;
  learners: number;
  labs: LabGrid[];
  /** Joined learners who have not reported a lab yet. */
  waiting: Array<{ learner: string; name: string }>;
  messages: Message[];
  /** Set by the server, not the fold: the event log is filling up or full. */
  warning?: string;
}

export interface ViewOptions {
  now: number;
  stuckMinutes: number;
}

const ONLINE_MS = 120_000;

function cellOf(record: LabRecord, stepId: string): Cell {
  const latest = record.verdicts[stepId];
  if (latest && !latest.passed) return "failed";
  if (record.passed.includes(stepId)) return record.solvedWithHelp.includes(stepId) ? "helped" : "passed";
  return "todo";
}

export function gridRow(state: ClassState, learner: Learner, record: LabRecord, lab: LabInfo, labs: LabInfo[], opts: ViewOptions): GridRow {
  const ids = lab.steps.map((s) => s.id);
  const index = Math.max(0, ids.indexOf(record.current));
  const finished = ids.every((id) => record.passed.includes(id));
  const regressed = ids.flatMap((id, i) => (record.everPassed.includes(id) && record.verdicts[id]?.passed === false ? [i + 1] : []));
  const stuckFor = record.failing && !finished ? opts.now - Math.max(record.failing.since, record.progressAt) : 0;
  const stuck = record.failing !== undefined && !finished && stuckFor >= opts.stuckMinutes * 60_000;
  const failing = (record.verdicts[record.current]?.probes ?? []).filter((p) => !p.ok && !p.observation).map((p) => p.description ?? p.message);
  const offer = learner.lab === lab.id ? openOffer(state, learner, labs)?.step : undefined;
  return {
    learner: learner.id,
    name: learner.name,
    instance: record.instance,
    left: learner.left,
    online: !learner.left && opts.now - learner.lastSeen < ONLINE_MS,
    current: index + 1,
    cells: ids.map((id) => cellOf(record, id)),
    finished,
    onStepSeconds: Math.max(0, Math.round((opts.now - record.stepSince) / 1000)),
    hints: Object.values(record.hintsShown).reduce((a, b) => a + b, 0),
    stuck,
    ...(stuck ? { stuckSeconds: Math.round(stuckFor / 1000) } : {}),
    regressed,
    failing: record.failing ? failing : [],
    ...(offer ? { offer } : {}),
    lastSeenSeconds: Math.max(0, Math.round((opts.now - learner.lastSeen) / 1000)),
    events: learner.events,
  };
}

/** The upper median of the learners' current steps: half the class is there or beyond. */
export function classStep(rows: GridRow[]): number {
  const active = rows.filter((r) => !r.left).map((r) => r.current).sort((a, b) => a - b);
  return active.length ? active[Math.floor(active.length / 2)]! : 1;
}

export function classView(state: ClassState, labs: LabInfo[], opts: ViewOptions): ClassView {
  const learners = [...state.learners.values()].sort((a, b) => a.name.localeCompare(b.name));
  const grids: LabGrid[] = [];
  for (const lab of labs) {
    const rows = learners.flatMap((l) => (l.labs[lab.id] ? [gridRow(state, l, l.labs[lab.id]!, lab, labs, opts)] : []));
    if (!rows.length) continue;
    grids.push({ id: lab.id, title: lab.title, steps: lab.steps.map((s, i) => ({ number: i + 1, ...s })), classStep: classStep(rows), rows });
  }
  return {
    title: state.title,
    now: opts.now,
    stuckMinutes: opts.stuckMinutes,
    learners: learners.filter((l) => !l.left).length,
    labs: grids,
    waiting: learners.filter((l) => !l.left && !Object.keys(l.labs).length).map((l) => ({ learner: l.id, name: l.name })),
    messages: state.messages.slice(-10),
  };
}

/** Learners a catch-up offer reaches: one by id, or everyone on the lab who is behind the step. */
export function offerTargets(view: ClassView, lab: string, step: number, learner?: string): GridRow[] {
  const grid = view.labs.find((g) => g.id === lab);
  return (grid?.rows ?? []).filter((r) => !r.left && r.current < step && (!learner || r.learner === learner));
}
