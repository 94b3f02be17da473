/**
 * The learner's side of a class: the membership saved by `class join`, and an outbox on
 * disk. An event is written to the outbox first, then sent with a short timeout; whatever
 * does not get through stays there and goes with the next send. The server answers for
 * each event: only what it stored (or had already) leaves the outbox; what it refuses
 * moves to outbox/rejected with its reason, for `class status`. Nothing here ever throws
 * at a lab command: a class server that is down or slow costs the lab nothing. Every
 * string a server sends is cleaned of control characters before a terminal can show it.
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod/v4";
import { stateDir } from "../paths.js";
import { cleanText, LIMITS, learnerEventSchema, type EventResult, type Inbox, type LearnerEvent, type LearnerEventInput } from "./protocol.js";

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
const rejectedDir = () => join(outboxDir(), "rejected");
const MAX_QUEUED = 2000;
const MAX_REJECTED = 200;

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

/** The server's error sentence, cleaned for a terminal. */
export function errorOf(answer: HttpAnswer): string {
  const b = answer.body as { error?: unknown } | undefined;
  return typeof b?.error === "string" ? cleanText(b.error).slice(0, 500) : `HTTP ${answer.status}`;
}

const serverText = (max: number) => z.string().transform((s) => cleanText(s).slice(0, max));

/** An inbox as the server sends it, every string cleaned: a rogue server's escape sequences become U+FFFD. */
const inboxSchema = z.object({
  offer: z.object({ id: serverText(64), at: z.number(), lab: serverText(40), step: z.number().int(), learner: serverText(64).optional() }).optional(),
  messages: z.array(z.object({ id: serverText(64), at: z.number(), text: serverText(2000), learner: serverText(64).optional() })).max(50),
});

export function readInbox(body: unknown): Inbox | undefined {
  return inboxSchema.safeParse(body).data;
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

const rejectedSchema = z.object({
  event: z.object({ id: z.string().optional(), type: z.string(), lab: z.string(), progress: z.object({ step: z.string() }) }).passthrough(),
  reason: z.string(),
  at: z.string(),
});
export type RejectedEvent = z.infer<typeof rejectedSchema>;

/** Moves a queued event the server will never take aside, with the server's reason. */
async function reject(file: string, event: unknown, reason: string): Promise<void> {
  await mkdir(rejectedDir(), { recursive: true, mode: 0o700 });
  await writeFile(join(rejectedDir(), file), JSON.stringify({ event, reason: cleanText(reason).slice(0, 500), at: new Date().toISOString() }), { mode: 0o600 });
  await unlink(join(outboxDir(), file)).catch(() => undefined);
  const kept = (await readdir(rejectedDir())).filter((f) => f.endsWith(".json")).sort();
  for (const f of kept.slice(0, Math.max(0, kept.length - MAX_REJECTED))) await unlink(join(rejectedDir(), f)).catch(() => undefined);
}

/** The events the server refused, oldest first, with its reasons. */
export async function rejectedEvents(): Promise<RejectedEvent[]> {
  const files = (await readdir(rejectedDir()).catch(() => [] as string[])).filter((f) => f.endsWith(".json")).sort();
  const events: RejectedEvent[] = [];
  for (const f of files) {
    const parsed = await readFile(join(rejectedDir(), f), "utf8").then((text) => rejectedSchema.safeParse(JSON.parse(text)).data, () => undefined);
    if (parsed) events.push(parsed);
  }
  return events;
}

export function rejectedPath(): string {
  return rejectedDir();
}

export interface FlushResult {
  sent: number;
  left: number;
  /** Events the server refused for good this time (moved to outbox/rejected). */
  rejected: number;
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
  let rejected = 0;
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
    if (left <= 0) return { sent, left: files.length + batch.length, rejected, inbox, problem: "out of time" };
    let answer: HttpAnswer;
    try {
      answer = await requestJson(`${m.url}/api/events`, { method: "POST", token: m.token, body: { now: Date.now(), events: batch.map((b) => b.event) }, timeoutMs: left });
    } catch (e) {
      return { sent, left: files.length + batch.length, rejected, inbox, problem: e instanceof Error ? e.message : String(e) };
    }
    if (answer.status === 200) {
      const body = answer.body as { results?: unknown; inbox?: unknown };
      inbox = readInbox(body.inbox) ?? inbox;
      // A server from before per-event answers took the batch whole.
      const results: Array<EventResult | undefined> = Array.isArray(body.results) ? (body.results as EventResult[]) : batch.map(() => ({ status: "stored" }));
      let later: string | undefined;
      let kept = 0;
      for (const [i, b] of batch.entries()) {
        const r = results[i];
        if (r?.status === "stored" || r?.status === "duplicate") {
          await unlink(join(outboxDir(), b.file)).catch(() => undefined);
          sent++;
        } else if (r?.status === "rejected") {
          await reject(b.file, b.event, String(r.reason));
          rejected++;
        } else {
          kept++;
          later ??= r && "reason" in r && typeof r.reason === "string" ? cleanText(r.reason) : "no answer for this event";
        }
      }
      // Too many at once, or the class is full for now: the rest waits for the next send.
      if (later) return { sent, left: files.length + kept, rejected, inbox, problem: later };
      continue;
    }
    if (answer.status >= 400 && answer.status < 500 && ![401, 408, 429].includes(answer.status)) {
      // The whole request refused for good (too large, malformed): kept aside with the reason, not sent again.
      for (const b of batch) await reject(b.file, b.event, errorOf(answer));
      rejected += batch.length;
      continue;
    }
    return { sent, left: files.length + batch.length, rejected, inbox, problem: errorOf(answer), unknown: answer.status === 401 };
  }
  return { sent, left: 0, rejected, inbox };
}

export async function fetchInbox(m: Membership, timeoutMs: number): Promise<Inbox | undefined> {
  const answer = await requestJson(`${m.url}/api/inbox`, { token: m.token, timeoutMs }).catch(() => undefined);
  return answer?.status === 200 ? readInbox(answer.body) : undefined;
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
