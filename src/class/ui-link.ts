/**
 * The lesson screen's line to the class the learner joined. It wraps the controller's
 * actions: a check's verdicts and every progress change (hint, prediction, solution
 * shown, pass, catch-up) become events, sent in the background in order, so the screen
 * never waits for the server. The inbox is polled for the instructor's offers and
 * messages, which reach the screen through `subscribe`.
 */
import { stepPasses } from "../probes/runner.js";
import type { Progress } from "../state/progress.js";
import type { Controller } from "../ui/controller.js";
import type { ClassNotice, UiActions } from "../ui/types.js";
import { enqueue, fetchInbox, flushOutbox, queuedCount, readMembership, unseenMessages, type Membership } from "./learner.js";
import type { EventType, Inbox } from "./protocol.js";
import { learnerEvent, type LabRef } from "./report.js";

export interface ClassLink {
  controller: Controller;
  close(): Promise<void>;
}

export interface LinkOptions {
  pollMs?: number;
  /** An unchanged check result is sent again after this long (the instructor sees the learner is there). */
  heartbeatMs?: number;
  timeoutMs?: number;
}

/** What kind of change one progress is from another, for the event's type. */
export function changeType(before: Progress, after: Progress): EventType {
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  if (differs(before.hintsShown, after.hintsShown)) return "hint";
  if (differs(before.predictions, after.predictions)) return "predict";
  if (differs(before.solvedWithHelp, after.solvedWithHelp)) return "solve";
  return "progress";
}

export async function linkToClass(ctrl: Controller, initial: Progress, opts: LinkOptions = {}): Promise<ClassLink | undefined> {
  const membership: Membership | undefined = await readMembership();
  if (!membership) return undefined;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const heartbeatMs = opts.heartbeatMs ?? 60_000;
  const ref = (): LabRef => {
    const s = ctrl.session();
    return { lab: s.lab.lesson.meta.id, instance: s.name, stepIds: s.lab.lesson.steps.map((st) => st.id) };
  };
  let progress = initial;
  let offer: ClassNotice | undefined;
  const listeners = new Set<(n: ClassNotice) => void>();
  const tell = (n: ClassNotice) => listeners.forEach((l) => l(n));

  async function deliver(inbox: Inbox | undefined): Promise<void> {
    if (!inbox) return;
    const r = ref();
    if (inbox.offer && inbox.offer.lab === r.lab && inbox.offer.id !== (offer?.kind === "offer" ? offer.id : undefined)) {
      offer = { kind: "offer", id: inbox.offer.id, step: inbox.offer.step - 1 };
      tell(offer);
    }
    for (const m of await unseenMessages(inbox)) tell({ kind: "message", id: m.id, text: m.text });
  }

  // One send at a time, in order; a failure leaves the events in the outbox for the next.
  let sending: Promise<void> = Promise.resolve();
  const send = (type: EventType, checks?: Parameters<typeof learnerEvent>[3]) => {
    const event = learnerEvent(type, ref(), progress, checks);
    sending = sending
      .then(async () => {
        await enqueue(event);
        await deliver((await flushOutbox(membership, timeoutMs)).inbox);
      })
      .catch(() => undefined);
  };

  const lastSent = new Map<number, { signature: string; at: number }>();
  const actions: UiActions = {
    ...ctrl.actions,
    async check(step) {
      const results = await ctrl.actions.check(step);
      const signature = JSON.stringify(results.map((r) => [r.kind, r.node, r.ok, r.message]));
      const last = lastSent.get(step);
      if (!last || last.signature !== signature || Date.now() - last.at >= heartbeatMs) {
        lastSent.set(step, { signature, at: Date.now() });
        send("check", [{ index: step, results, passed: stepPasses(results) }]);
      }
      return results;
    },
    saveProgress(p) {
      ctrl.actions.saveProgress(p);
      const type = changeType(progress, p);
      progress = p;
      send(type);
    },
    subscribe(listener) {
      listeners.add(listener);
      if (offer) listener(offer);
      return () => listeners.delete(listener);
    },
  };

  const poll = setInterval(() => {
    sending = sending
      .then(async () => {
        const inbox = (await queuedCount()) ? (await flushOutbox(membership, timeoutMs)).inbox : await fetchInbox(membership, timeoutMs);
        await deliver(inbox);
      })
      .catch(() => undefined);
  }, opts.pollMs ?? 5000);
  poll.unref();
  send("start");

  return {
    controller: { ...ctrl, actions },
    async close() {
      clearInterval(poll);
      await sending;
    },
  };
}
