/**
 * The lesson screen's line to the class the learner joined. It subscribes once to the
 * controller's events (lab/lesson-run.ts): a check's verdicts and every progress change
 * (hint, prediction, solution shown, pass, catch-up) are sent in the background in order,
 * so the screen never waits for the server. The inbox is polled for the instructor's offers and
 * messages, which reach the screen through `subscribe`.
 */
import type { RunEvent } from "../lab/lesson-run.js";
import type { Controller } from "../ui/controller.js";
import type { ClassNotice, UiActions } from "../ui/types.js";
import { enqueue, fetchInbox, flushOutbox, queuedCount, readMembership, unseenMessages, type Membership } from "./learner.js";
import type { Inbox } from "./protocol.js";
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

export async function linkToClass(ctrl: Controller, opts: LinkOptions = {}): Promise<ClassLink | undefined> {
  const membership: Membership | undefined = await readMembership();
  if (!membership) return undefined;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const heartbeatMs = opts.heartbeatMs ?? 60_000;
  const ref = (): LabRef => {
    const s = ctrl.session();
    return { lab: s.lab.lesson.meta.id, instance: s.name, stepIds: s.lab.lesson.steps.map((st) => st.id) };
  };
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
  const send = (e: RunEvent) => {
    const event = learnerEvent(e.type, ref(), e.progress, e.checks);
    sending = sending
      .then(async () => {
        await enqueue(event);
        await deliver((await flushOutbox(membership, timeoutMs)).inbox);
      })
      .catch(() => undefined);
  };

  // The screen re-checks every few seconds: the same verdicts of a step are news only after heartbeatMs.
  const lastSent = new Map<number, { signature: string; at: number }>();
  const isNews = (e: RunEvent) => {
    if (e.type !== "check") return true;
    const step = e.checks?.[0]?.index ?? -1;
    const signature = JSON.stringify(e.checks?.flatMap((c) => c.results.map((r) => [r.kind, r.node, r.ok, r.message])));
    const last = lastSent.get(step);
    if (last && last.signature === signature && Date.now() - last.at < heartbeatMs) return false;
    lastSent.set(step, { signature, at: Date.now() });
    return true;
  };
  send({ type: "start", progress: ctrl.progress() });
  const unsubscribe = ctrl.onEvent((e) => {
    if (isNews(e)) send(e);
  });

  const actions: UiActions = {
    ...ctrl.actions,
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

  return {
    controller: { ...ctrl, actions },
    async close() {
      clearInterval(poll);
      unsubscribe();
      await sending;
    },
  };
}
