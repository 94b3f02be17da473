/** Joining and leaving a class from the learner's machine. */
import { UserError } from "../errors.js";
import { errorOf, flushOutbox, forgetMembership, readMembership, requestJson, saveMembership, type Membership } from "./learner.js";
import type { JoinReply } from "./protocol.js";

export async function joinClass(url: string, code: string, name: string): Promise<Membership> {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new UserError(`"${url}" is not a URL.`, "Use the address the instructor shows, such as http://198.51.100.7:7700.");
  }
  const previous = await readMembership();
  // Joining again under the same name (a second terminal, a new lab) keeps the learner's record.
  const token = previous && previous.url === origin && previous.name.toLowerCase() === name.trim().toLowerCase() ? previous.token : undefined;
  const answer = await requestJson(`${origin}/api/join`, { method: "POST", body: { code, name, ...(token ? { token } : {}) }, timeoutMs: 5000 }).catch((e: Error) => {
    throw new UserError(`No class server answers at ${origin}: ${e.message}`, "Check the address with the instructor.");
  });
  if (answer.status === 401) throw new UserError("That join code is not this class's.", "Check the code the instructor shows.");
  if (answer.status === 409) throw new UserError(`The name "${name.trim()}" is taken in this class.`, "Pick another with --as.");
  if (answer.status !== 200) throw new UserError(`The class server refused: ${errorOf(answer)}.`);
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
