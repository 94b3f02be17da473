/** Joining and leaving a class from the learner's machine. */
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { errorOf, flushOutbox, forgetMembership, readMembership, requestJson, saveMembership, type Membership } from "./learner.js";
import type { JoinReply } from "./protocol.js";

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
  const reply = answer.body as JoinReply;
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
