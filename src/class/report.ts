/**
 * What lab commands tell the class, when the learner has joined one: the progress rules'
 * state and the verdicts of the steps checked (kind, node, ok, message, hops). Never a
 * shell's contents or a command. Not joined: nothing happens and nothing is waited for.
 */
import { t } from "../i18n/index.js";
import type { RunEvent } from "../lab/lesson-run.js";
import type { LabSession, StepCheck } from "../lab/session.js";
import { stepStartedAt, type Progress } from "../state/progress.js";
import { enqueue, fetchInbox, flushOutbox, readMembership, repeatsLastCheck, unseenMessages, type Membership } from "./learner.js";
import type { EventType, Inbox, LearnerEventInput, ProgressSnapshot, StepVerdict } from "./protocol.js";

/** The part of a lab session an event needs. */
export interface LabRef {
  lab: string;
  instance: string;
  stepIds: string[];
}

export function labRefOf(s: LabSession): LabRef {
  return { lab: s.lab.lesson.meta.id, instance: s.name, stepIds: s.lab.lesson.steps.map((st) => st.id) };
}

export function progressSnapshot(progress: Progress, stepIds: string[], now = Date.now()): ProgressSnapshot {
  const index = Math.min(progress.step, stepIds.length - 1);
  const since = Date.parse(stepStartedAt(progress, stepIds, index) ?? "");
  const known = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).filter(([id]) => stepIds.includes(id)));
  return {
    step: stepIds[index]!,
    passed: progress.passed.filter((id) => stepIds.includes(id)),
    solvedWithHelp: progress.solvedWithHelp.filter((id) => stepIds.includes(id)),
    hintsShown: known(progress.hintsShown),
    predictions: known(progress.predictions),
    stepSeconds: Number.isNaN(since) ? 0 : Math.max(0, Math.round((now - since) / 1000)),
  };
}

/** Verdicts only: kind, node, description, ok, message, observation and hops, no spread or raw output. */
export function stepVerdicts(ref: LabRef, checks: StepCheck[]): StepVerdict[] {
  return checks.map((c) => ({
    id: ref.stepIds[c.index]!,
    passed: c.passed,
    probes: c.results.map((r) => ({
      kind: r.kind,
      node: r.node,
      description: r.description,
      ok: r.ok,
      message: r.message,
      ...(r.observation ? { observation: true } : {}),
      ...(r.path?.length ? { path: r.path.map((h) => ({ node: h.node, what: h.what })) } : {}),
    })),
  }));
}

export function learnerEvent(type: EventType, ref: LabRef, progress: Progress, checks?: StepCheck[]): Omit<LearnerEventInput, "id" | "at"> {
  return { type, lab: ref.lab, instance: ref.instance, progress: progressSnapshot(progress, ref.stepIds), ...(checks?.length ? { checks: stepVerdicts(ref, checks) } : {}) };
}

/** The time a lab command gives the class server before it carries on. */
export const COMMAND_TIMEOUT_MS = 1000;

export interface Reported {
  membership: Membership;
  inbox?: Inbox;
  problem?: string;
  unknown?: boolean;
}

/**
 * Queues one event and sends the outbox with a short deadline. Resolves to undefined when
 * the learner is in no class; never rejects.
 */
export async function reportToClass(type: EventType, ref: LabRef, progress: Progress, checks?: StepCheck[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<Reported | undefined> {
  try {
    const membership = await readMembership();
    if (!membership) return undefined;
    const event = learnerEvent(type, ref, progress, checks);
    // `check --watch` checks every 2 s: the same verdicts again are news only once a minute.
    if (!(type === "check" && (await repeatsLastCheck(JSON.stringify({ ...event, progress: { ...event.progress, stepSeconds: 0 } }), 60_000)))) await enqueue(event);
    const began = Date.now();
    const flushed = await flushOutbox(membership, timeoutMs);
    // Nothing was sent (a repeated check): the instructor's news still comes with this command.
    const inbox = flushed.inbox ?? (flushed.problem ? undefined : await fetchInbox(membership, Math.max(100, timeoutMs - (Date.now() - began))));
    return { membership, inbox, problem: flushed.problem, unknown: flushed.unknown };
  } catch {
    return undefined;
  }
}

/** Lines for the plain CLI: an open catch-up offer (every time) and new messages (once). */
export async function classNotices(reported: Reported | undefined, currentStep: number, nameFlag = ""): Promise<string[]> {
  if (!reported) return [];
  const lines: string[] = [];
  if (reported.unknown) lines.push(t("class.unknown", { url: reported.membership.url }));
  const inbox = reported.inbox;
  if (!inbox) return lines;
  for (const m of await unseenMessages(inbox).catch(() => [])) lines.push(t("ui.notice.instructor", { text: m.text }));
  if (inbox.offer && inbox.offer.step > currentStep) {
    lines.push(t("class.offer", { step: inbox.offer.step, flag: nameFlag }));
  }
  return lines;
}

/**
 * Reports what a lab command did (a use case's event, see lab/lesson-run.ts) to the class,
 * when joined, and prints what the instructor has for the learner. `opts.nameFlag`:
 * " --name X" where the offer's command needs it (the CLI knows which instances run).
 */
export async function tellClass(s: LabSession, event: RunEvent, opts: { json?: boolean; nameFlag?: string } = {}): Promise<void> {
  const reported = await reportToClass(event.type, labRefOf(s), event.progress, event.checks);
  const lines = await classNotices(reported, Math.min(event.progress.step, s.lab.lesson.steps.length - 1) + 1, opts.nameFlag);
  // With --json, stdout holds only the report.
  for (const line of lines) (opts.json ? process.stderr : process.stdout).write(`${opts.json ? "" : "\n"}${line}\n`);
}
