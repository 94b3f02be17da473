/** Joining and leaving a class from the learner's machine, and what `class status` says. */
import { z } from "zod/v4";
import { bold } from "../cli/output.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { errorOf, flushOutbox, forgetMembership, queuedCount, readMembership, rejectedEvents, rejectedPath, requestJson, saveMembership, type Membership } from "./learner.js";
import { cleanText, LIMITS } from "./protocol.js";

/** A join reply as a server may send it: the token goes into headers, the texts onto the learner's terminal. */
const joinReplySchema = z.object({
  learner: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  token: z.string().regex(/^[A-Za-z0-9_.-]{1,200}$/),
  title: z.string().transform((s) => cleanText(s).slice(0, LIMITS.titleLength)),
  name: z.string().transform((s) => cleanText(s).slice(0, LIMITS.nameLength * 2)),
});

export async function joinClass(url: string, code: string, name: string): Promise<Membership> {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new UserError(t("class.notUrl", { url }), t("class.notUrlHint"));
  }
  const previous = await readMembership();
  // Joining again under the same name (a second terminal, a new lab) keeps the learner's record.
  const token = previous && previous.url === origin && previous.name.toLowerCase() === name.trim().toLowerCase() ? previous.token : undefined;
  const answer = await requestJson(`${origin}/api/join`, { method: "POST", body: { code, name, ...(token ? { token } : {}) }, timeoutMs: 5000 }).catch((e: Error) => {
    throw new UserError(t("class.noServer", { url: origin, error: e.message }), t("class.noServerHint"));
  });
  if (answer.status === 401) throw new UserError(t("class.wrongCode"), t("class.wrongCodeHint"));
  if (answer.status === 409) throw new UserError(t("class.nameTaken", { name: name.trim() }), t("class.nameTakenHint"));
  if (answer.status !== 200) throw new UserError(t("class.refused", { error: errorOf(answer) }));
  const parsed = joinReplySchema.safeParse(answer.body);
  if (!parsed.success) throw new UserError(t("class.refused", { error: t("classroom.learner.badReply") }));
  const reply = parsed.data;
  if (previous && previous.url !== origin) await forgetMembership();
  const m: Membership = { url: origin, name: reply.name, learner: reply.learner, token: reply.token, title: reply.title, joinedAt: new Date().toISOString() };
  await saveMembership(m);
  return m;
}

/** Delivers what is queued (briefly), says goodbye, and forgets the class. */
export async function leaveClass(): Promise<Membership | undefined> {
  const m = await readMembership();
  if (!m) return undefined;
  await flushOutbox(m, 2000).catch(() => undefined);
  await requestJson(`${m.url}/api/leave`, { method: "POST", token: m.token, body: {}, timeoutMs: 2000 }).catch(() => undefined);
  await forgetMembership();
  return m;
}

/** What `class status` prints: the class (or none), what waits, and what the server refused and why. */
export async function classStatusLines(): Promise<string[]> {
  const m = await readMembership();
  const queued = await queuedCount();
  const rejected = await rejectedEvents();
  const lines = [
    m
      ? t(queued ? "class.inQueued" : "class.in", { title: bold(cleanText(m.title)), url: cleanText(m.url), name: bold(cleanText(m.name)), count: queued })
      : t("class.noClassJoin"),
  ];
  if (rejected.length) {
    lines.push(t("classroom.learner.rejected", { count: rejected.length, dir: rejectedPath() }));
    for (const r of rejected) lines.push(t("classroom.learner.rejectedEvent", { type: cleanText(r.event.type), lab: cleanText(r.event.lab), step: cleanText(r.event.progress.step), reason: cleanText(r.reason) }));
  }
  return lines;
}
