/**
 * The learner's side of a class: the membership saved by `class join`, and an outbox on
 * disk. An event is written to the outbox first, then sent with a short timeout; whatever
 * does not get through stays there and goes with the next send. Nothing here ever throws
 * at a lab command: a class server that is down or slow costs the lab nothing.
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { stateDir } from "../paths.js";
import { LIMITS, learnerEventSchema, type EventsReply, type Inbox, type LearnerEvent, type LearnerEventInput } from "./protocol.js";

const membershipSchema = z.object({
  url: z.string().url(),
  name: z.string(),
  learner: z.string(),
  token: z.string(),
  title: z.string(),
  joinedAt: z.string(),
});
export type Membership = z.infer<typeof membershipSchema>;

export function classDir(): string {
  return join(stateDir(), "class");
}
const membershipPath = () => join(classDir(), "membership.json");
const outboxDir = () => join(classDir(), "outbox");
const MAX_QUEUED = 2000;

async function writePrivate(path: string, data: unknown): Promise<void> {
  await mkdir(classDir(), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
  await rename(tmp, path);
}

export async function readMembership(): Promise<Membership | undefined> {
  try {
    return membershipSchema.parse(JSON.parse(await readFile(membershipPath(), "utf8")));
  } catch {
    return undefined;
  }
}

export async function saveMembership(m: Membership): Promise<void> {
  await writePrivate(membershipPath(), m);
}

/** Forgets the class: membership, queued events, inbox. */
export async function forgetMembership(): Promise<void> {
  await rm(classDir(), { recursive: true, force: true });
}

export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** One JSON request with a deadline for the whole exchange; network trouble rejects. */
export function requestJson(url: string, opts: { method?: string; token?: string; body?: unknown; timeoutMs: number }): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = { accept: "application/json" };
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = payload.length;
    }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const req = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, { method: opts.method ?? "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: the caller gets the text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${target.host} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(payload);
  });
}

export function errorOf(answer: HttpAnswer): string {
  const b = answer.body as { error?: unknown } | undefined;
  return typeof b?.error === "string" ? b.error : `HTTP ${answer.status}`;
}

export function newEventId(): string {
  return randomBytes(12).toString("base64url");
}

/**
 * Validates an event as the server will (caps and cleaning included) and queues it.
 * An event that would be refused is dropped here rather than retried forever.
 */
export async function enqueue(input: Omit<LearnerEventInput, "id" | "at">, at = Date.now()): Promise<LearnerEvent | undefined> {
  const parsed = learnerEventSchema.safeParse({ ...input, id: newEventId(), at });
  if (!parsed.success) return undefined;
  const e = parsed.data;
  await mkdir(outboxDir(), { recursive: true, mode: 0o700 });
  const tmp = join(outboxDir(), `.${e.id}.tmp`);
  await writeFile(tmp, JSON.stringify(e), { mode: 0o600 });
  await rename(tmp, join(outboxDir(), `${String(at).padStart(15, "0")}-${e.id}.json`));
  return e;
}

async function queued(): Promise<string[]> {
  const files = (await readdir(outboxDir()).catch(() => [] as string[])).filter((f) => f.endsWith(".json")).sort();
  // A class server gone for days must not fill the disk: the oldest events go first.
  for (const f of files.splice(0, Math.max(0, files.length - MAX_QUEUED))) await unlink(join(outboxDir(), f)).catch(() => undefined);
  return files;
}

export async function queuedCount(): Promise<number> {
  return (await queued()).length;
}

export interface FlushResult {
  sent: number;
  left: number;
  inbox?: Inbox;
  /** Why sending stopped, when it did. */
  problem?: string;
  /** The server no longer knows this learner's token. */
  unknown?: boolean;
}

/**
 * Sends the outbox in batches, oldest first, until it is empty, the deadline passes or the
 * server answers with trouble. Concurrent flushes may send an event twice: the server
 * counts it once.
 */
export async function flushOutbox(m: Membership, timeoutMs: number): Promise<FlushResult> {
  const deadline = Date.now() + timeoutMs;
  const files = await queued();
  let sent = 0;
  let inbox: Inbox | undefined;
  while (files.length) {
    const batch: Array<{ file: string; event: unknown }> = [];
    let size = 100;
    while (files.length && batch.length < LIMITS.eventsPerBatch) {
      const text = await readFile(join(outboxDir(), files[0]!), "utf8").catch(() => undefined);
      if (text !== undefined && size + text.length > LIMITS.eventsBody * 0.8 && batch.length) break;
      const file = files.shift()!;
      if (text === undefined) continue;
      size += text.length + 1;
      try {
        batch.push({ file, event: JSON.parse(text) });
      } catch {
        await unlink(join(outboxDir(), file)).catch(() => undefined);
      }
    }
    if (!batch.length) continue;
    const left = deadline - Date.now();
    if (left <= 0) return { sent, left: files.length + batch.length, inbox, problem: "out of time" };
    let answer: HttpAnswer;
    try {
      answer = await requestJson(`${m.url}/api/events`, { method: "POST", token: m.token, body: { now: Date.now(), events: batch.map((b) => b.event) }, timeoutMs: left });
    } catch (e) {
      return { sent, left: files.length + batch.length, inbox, problem: e instanceof Error ? e.message : String(e) };
    }
    const refused = answer.status >= 400 && answer.status < 500 && ![401, 408, 429].includes(answer.status);
    if (answer.status === 200 || refused) {
      // Accepted, or refused for good (an event the server will never take): either way done.
      await Promise.all(batch.map((b) => unlink(join(outboxDir(), b.file)).catch(() => undefined)));
      if (answer.status === 200) {
        sent += batch.length;
        inbox = (answer.body as EventsReply).inbox;
      }
      continue;
    }
    return { sent, left: files.length + batch.length, inbox, problem: errorOf(answer), unknown: answer.status === 401 };
  }
  return { sent, left: 0, inbox };
}

export async function fetchInbox(m: Membership, timeoutMs: number): Promise<Inbox | undefined> {
  const answer = await requestJson(`${m.url}/api/inbox`, { token: m.token, timeoutMs }).catch(() => undefined);
  return answer?.status === 200 ? (answer.body as Inbox) : undefined;
}

// ---- what the learner has been shown already (messages are shown once)

const inboxPath = () => join(classDir(), "inbox.json");
const seenSchema = z.object({ messages: z.array(z.string()).default([]) });

export async function unseenMessages(inbox: Inbox): Promise<Inbox["messages"]> {
  const seen = await readFile(inboxPath(), "utf8").then((t) => seenSchema.parse(JSON.parse(t)), () => ({ messages: [] as string[] }));
  const fresh = inbox.messages.filter((msg) => !seen.messages.includes(msg.id));
  if (fresh.length) await writePrivate(inboxPath(), { messages: [...seen.messages, ...fresh.map((msg) => msg.id)].slice(-200) }).catch(() => undefined);
  return fresh;
}

const lastCheckPath = () => join(classDir(), "last-check.json");

/** Whether this check event repeats the last one sent less than `ms` ago; remembers it otherwise. */
export async function repeatsLastCheck(content: string, ms: number, now = Date.now()): Promise<boolean> {
  const last = await readFile(lastCheckPath(), "utf8").then((t) => JSON.parse(t) as { content: string; at: number }, () => undefined);
  if (last && last.content === content && now - last.at < ms) return true;
  await writePrivate(lastCheckPath(), { content, at: now }).catch(() => undefined);
  return false;
}
