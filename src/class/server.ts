/**
 * The class server on Node's own http module. Learners post progress events (join code →
 * their own token); the instructor reads the class (token as bearer, or the page's session
 * cookie, got by posting the token to /signin) as JSON, CSV or a live stream of server-sent
 * events. Bodies are JSON only, size-limited and schema-checked; senders are rate-limited
 * by requests and by events a minute; what the log stores is capped in bytes per learner
 * and per class. Every change is in the event log before it is acknowledged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { hostname, networkInterfaces } from "node:os";
import { isIP, type AddressInfo } from "node:net";
import { join } from "node:path";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { z } from "zod/v4";
import type { LabInfo } from "./aggregate.js";
import { bearer, cookieValue, newClassId, newInstructorToken, newJoinCode, newSession, RateLimiter, sameCode, sameSecret, type Bucket } from "./auth.js";
import { exportCsv } from "./export.js";
import { ClassLedger, HttpError, REASONS, type ByteLimits, type Secrets } from "./ledger.js";
import { EventLog, LogTooLarge, recordBytes, type LogRecord } from "./log.js";
import { catchUpBodySchema, cleanText, describeIssue, eventsBodySchema, joinBodySchema, LIMITS, mib, sayBodySchema, type EventsReply, type JoinReply } from "./protocol.js";
import { UserError } from "../errors.js";
import { language, t } from "../i18n/index.js";
import { detailForPage, PAGE_CSS, pageHtml, pageJs, signInPage } from "./web/page.js";

export interface RateRules {
  /** Join requests per address. */
  join: Bucket;
  /** New learners per address: each is a byte quota of its own, so they come slowly after the first forty. */
  newLearner: Bucket;
  /** Requests per learner. */
  learner: Bucket;
  /** Wrong tokens or codes per address, counted apart for the instructor's door and the learners'. */
  authFailures: Bucket;
}

const DEFAULT_RATES: RateRules = {
  join: { burst: 60, perSecond: 1 },
  newLearner: { burst: 40, perSecond: 1 / 60 },
  learner: { burst: 30, perSecond: 5 },
  authFailures: { burst: 20, perSecond: 1 },
};

/** How long a page's sign-in lasts, and how many may be open at once. */
const SESSION_SECONDS = 12 * 3600;
const MAX_SESSIONS = 50;

/** The policies pages are served under: only this server's own files, no framing. */
const CSP = {
  page: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  signIn: "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  other: "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export interface ClassServerOptions {
  /** Holds server.json (join code, instructor token) and events.jsonl. */
  dir: string;
  labs: LabInfo[];
  title?: string;
  port?: number;
  bind?: string;
  stuckMinutes?: number;
  /** Host put in the URL; default: the bind address, or this machine's LAN address for 0.0.0.0. */
  advertise?: string;
  rates?: Partial<RateRules>;
  /** Bytes of events per learner and per class (LIMITS by default). */
  limits?: Partial<ByteLimits>;
  /** How long changes gather before one update goes to the live views. */
  broadcastMs?: number;
  onActivity?: (line: string) => void;
  now?: () => number;
  /** An offline bundle (`lvs-lab bundle create`) offered at GET /api/bundle to holders of the join code. */
  bundle?: string;
  /** The web page's language (web/page.ts says why the instructor's); default: the process's. */
  lang?: string;
}

export interface ClassServer {
  url: string;
  joinCode: string;
  instructorToken: string;
  /** The page's session cookie: named for this class, so two classes on one host keep their sign-ins. */
  cookieName: string;
  logPath: string;
  /** Records read back from the log at start, and lines skipped as unreadable. */
  replayed: { records: number; skipped: number };
  ledger: ClassLedger;
  close(): Promise<void>;
}

const secretsSchema = z.object({ joinCode: z.string(), instructorToken: z.string().min(32), classId: z.string().regex(/^[0-9a-f]{12}$/).optional() });

async function loadSecrets(dir: string): Promise<Secrets & { classId: string }> {
  const path = join(dir, "server.json");
  const saved = await readFile(path, "utf8").then(
    (text) => secretsSchema.safeParse(JSON.parse(text)).data,
    () => undefined,
  );
  if (saved?.classId) return { ...saved, classId: saved.classId };
  // A class from before class ids keeps its code and token and gets an id.
  const secrets = { joinCode: saved?.joinCode ?? newJoinCode(), instructorToken: saved?.instructorToken ?? newInstructorToken(), classId: newClassId() };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Only the instructor's account may read the token.
  await writeFile(`${path}.tmp`, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  return secrets;
}

/** The host name of a Host header, without its port, lower case. */
function hostOf(header: string): string {
  const name = header.startsWith("[") ? header.slice(1, header.indexOf("]")) : header.replace(/:\d*$/, "");
  return name.toLowerCase().replace(/\.$/, "");
}

/** The first IPv4 address of a real interface (not Docker's bridges), for a URL others can open. */
export function lanAddress(): string {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (/^(docker|br-|veth|virbr|lvs|tap|tun)/.test(name)) continue;
    const v4 = (addrs ?? []).find((a) => a.family === "IPv4" && !a.internal);
    if (v4) return v4.address;
  }
  return "127.0.0.1";
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "content-security-policy": CSP.other,
    ...headers,
  });
  res.end(text);
}

/** Reads a JSON body of at most `limit` bytes; the wrong type, size or syntax is a 4xx. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "send the body as application/json");
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "the body is not valid JSON");
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, describeIssue(r.error));
  return r.data;
}

export async function startClassServer(opts: ClassServerOptions): Promise<ClassServer> {
  const now = opts.now ?? Date.now;
  const stuckMinutes = opts.stuckMinutes ?? 5;
  const lang = opts.lang ?? language();
  // Checked where it is set: a longer title would be a log line no replay accepts.
  if (opts.title !== undefined && opts.title.length > LIMITS.titleLength) throw new UserError(t("classroom.serve.titleTooLong", { max: LIMITS.titleLength, length: opts.title.length }));
  const title = opts.title === undefined ? undefined : cleanText(opts.title);
  const page = { html: pageHtml(lang), js: pageJs(lang) };
  const rates = { ...DEFAULT_RATES, ...opts.rates };
  const limits: ByteLimits = { learnerBytes: LIMITS.learnerBytes, classBytes: LIMITS.classBytes, ...opts.limits };
  /** The log never grows past this: events stop at classBytes, the reserve is for joins and the instructor. */
  const logCap = limits.classBytes + LIMITS.reserveBytes;
  const joins = new RateLimiter(rates.join, now);
  const newLearners = new RateLimiter(rates.newLearner, now);
  const learnerRate = new RateLimiter(rates.learner, now);
  const eventsRate = new RateLimiter({ burst: LIMITS.eventsBurst, perSecond: LIMITS.eventsPerMinute / 60 }, now);
  const instructorFailures = new RateLimiter(rates.authFailures, now);
  const learnerFailures = new RateLimiter(rates.authFailures, now);
  const secrets = await loadSecrets(opts.dir);
  const cookieName = `lvs_class_${secrets.classId}`;
  /** Sign-ins of the page: session → when it ends. Kept in memory: a restart asks for the token again. */
  const sessions = new Map<string, number>();
  const ledger = new ClassLedger(secrets, opts.labs, title ?? "lvs-lab class", limits);
  const logPath = join(opts.dir, "events.jsonl");
  const { log, replayed } = await EventLog.open(logPath, (r, bytes) => ledger.replay(r, bytes), logCap).catch((e: unknown) => {
    if (e instanceof LogTooLarge) throw new UserError(t("classroom.serve.logTooLarge", { path: e.path, size: `${(e.size / 1024 / 1024).toFixed(1)} MiB`, limit: mib(e.limit) }));
    throw e;
  });
  if (!ledger.titled || (title !== undefined && title !== ledger.state.title)) {
    const record: LogRecord = { r: "class", t: now(), title: title ?? "lvs-lab class" };
    await log.append([record]);
    ledger.commit([record]);
  }

  // ---- what the instructor is warned of: the log filling up, a learner at their cap
  let refusedForCap = false;
  let warnedAlmostFull = false;
  const warnedLearners = new Set<string>();
  const almostFull = () => ledger.eventBytes >= 0.8 * limits.classBytes;
  const storageWarning = (): string | undefined =>
    refusedForCap ? t("classroom.serve.logFull", { limit: mib(limits.classBytes) }, lang) : almostFull() ? t("classroom.serve.logAlmostFull", { limit: mib(limits.classBytes) }, lang) : undefined;
  const classPayload = () => {
    const warning = storageWarning();
    return { ...ledger.view(now(), stuckMinutes), joinCode: secrets.joinCode, ...(warning ? { warning } : {}) };
  };
  const warnIfAlmostFull = () => {
    if (warnedAlmostFull || !almostFull()) return;
    warnedAlmostFull = true;
    opts.onActivity?.(t("classroom.serve.logAlmostFull", { limit: mib(limits.classBytes) }));
  };
  warnIfAlmostFull();

  // ---- live views: one update per broadcastMs at most, and a tick for the clocks and flags
  const streams = new Set<ServerResponse>();
  let pending: NodeJS.Timeout | undefined;
  const frame = () => `event: class\ndata: ${JSON.stringify(classPayload())}\n\n`;
  const broadcast = () => {
    pending = undefined;
    if (!streams.size) return;
    const data = frame();
    for (const s of streams) s.write(data);
  };
  const changed = () => {
    pending ??= setTimeout(broadcast, opts.broadcastMs ?? 200);
  };
  const tick = setInterval(broadcast, 5000);
  tick.unref();

  async function record(records: LogRecord[]): Promise<void> {
    if (!records.length) return;
    const bytes = records.reduce((sum, r) => sum + recordBytes(r), 0);
    if (log.size + bytes > logCap) throw new HttpError(507, REASONS.classFull(limits.classBytes));
    await log.append(records);
    ledger.commit(records);
    changed();
  }

  const ip = (req: IncomingMessage) => req.socket.remoteAddress ?? "?";

  /** The page's session from its cookie, if it is one this server gave and it has not ended. */
  function signedIn(req: IncomingMessage): boolean {
    const session = cookieValue(req.headers.cookie, cookieName);
    const ends = session ? sessions.get(session) : undefined;
    return ends !== undefined && ends > now();
  }

  function startSession(): string {
    for (const [s, ends] of sessions) if (ends <= now() || sessions.size >= MAX_SESSIONS) sessions.delete(s);
    const session = newSession();
    sessions.set(session, now() + SESSION_SECONDS * 1000);
    return session;
  }

  /** The instructor's door: the token as bearer, or a page's session. Wrong tokens are counted here only. */
  function instructor(req: IncomingMessage): void {
    const given = bearer(req.headers.authorization);
    if (given && sameSecret(given, secrets.instructorToken)) return;
    if (signedIn(req)) return;
    if ((given || cookieValue(req.headers.cookie, cookieName)) && !instructorFailures.take(ip(req))) throw new HttpError(429, "too many wrong tokens from this address; wait a minute");
    throw new HttpError(401, "this needs the instructor token");
  }

  /** The learners' door: their own token. Stale or wrong ones are counted apart from the instructor's. */
  function learner(req: IncomingMessage): string {
    const given = bearer(req.headers.authorization);
    const id = ledger.learnerOf(given);
    if (!id) {
      if (!learnerFailures.take(ip(req))) throw new HttpError(429, "too many wrong tokens from this address; wait a minute");
      throw new HttpError(401, "this needs a learner token: join the class first");
    }
    if (!learnerRate.take(id)) throw new HttpError(429, "too many requests; slow down");
    return id;
  }

  /** A join code must match; wrong ones are counted with the learners' failures (a code is short: guesses stop at 429). */
  function checkJoinCode(req: IncomingMessage, code: string): void {
    if (!learnerFailures.allows(ip(req))) throw new HttpError(429, "too many wrong codes from this address; wait a minute");
    if (!sameCode(code, secrets.joinCode)) {
      learnerFailures.take(ip(req));
      throw new HttpError(401, "the join code is not this class's");
    }
  }

  /** Names this server answers to: its addresses (any IP literal), localhost, this machine's name, the advertised host. */
  const ownNames = new Set(["localhost", hostname().toLowerCase(), `${hostname().toLowerCase()}.local`, ...(opts.advertise ? [hostOf(opts.advertise)] : [])]);
  function checkHost(req: IncomingMessage): void {
    const name = hostOf(req.headers.host ?? "");
    if (isIP(name) || ownNames.has(name) || name.endsWith(".localhost")) return;
    // A DNS name pointed at this address by someone else (DNS rebinding) gets nothing.
    throw new HttpError(421, `this class server does not answer to the name "${cleanText(name).slice(0, 100)}"`);
  }

  /**
   * The offline bundle, for a learner token or the join code (`?code=` or `x-join-code`): a
   * learner without lvs-lab installed has only the code, and `curl` to fetch it.
   */
  async function sendBundle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const code = new URL(req.url ?? "/", "http://class.invalid").searchParams.get("code") ?? req.headers["x-join-code"];
    if (typeof code === "string") {
      checkJoinCode(req, code);
      if (!joins.take(ip(req))) throw new HttpError(429, "too many downloads from this address; wait a moment");
    } else learner(req);
    if (!opts.bundle) throw new HttpError(404, "this class server offers no bundle (start it with `class serve --bundle FILE`)");
    const { size } = await stat(opts.bundle);
    res.writeHead(200, { "content-type": "application/x-tar", "content-length": String(size), "content-disposition": 'attachment; filename="lvs-lab-offline.tar"', "cache-control": "no-store", "x-content-type-options": "nosniff", "content-security-policy": CSP.other });
    opts.onActivity?.(t("classroom.serve.bundleDownload", { address: ip(req) }));
    await pipeline(createReadStream(opts.bundle), res);
  }

  const html = { "content-type": "text/html; charset=utf-8", "referrer-policy": "no-referrer" };
  const signInAnswer = (res: ServerResponse, status: number, problem?: string) => send(res, status, signInPage(problem, lang), { ...html, "content-security-policy": CSP.signIn });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkHost(req);
    const url = new URL(req.url ?? "/", "http://class.invalid");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const at = (m: string, p: string) => method === m && path === p;

    if (at("GET", "/")) {
      // A token in the address is not taken: the browser's history would keep it.
      if (!signedIn(req)) return signInAnswer(res, 401);
      return send(res, 200, page.html, { ...html, "content-security-policy": CSP.page });
    }
    if (at("POST", "/signin")) {
      if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "send the form as application/x-www-form-urlencoded");
      const token = new URLSearchParams(await readBody(req, LIMITS.signInBody)).get("token")?.trim() ?? "";
      if (!sameSecret(token, secrets.instructorToken)) {
        if (!instructorFailures.take(ip(req))) return signInAnswer(res, 429, t("classroom.web.tooManyTries", {}, lang));
        return signInAnswer(res, 401, t("classroom.web.wrongToken", {}, lang));
      }
      // The page holds a session of its own under this class's name: never the token, never another class's cookie.
      res.writeHead(303, { location: "/", "set-cookie": `${cookieName}=${startSession()}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_SECONDS}`, "cache-control": "no-store", "referrer-policy": "no-referrer", "content-security-policy": CSP.other });
      return void res.end();
    }
    if (at("GET", "/app.js")) return send(res, 200, page.js, { "content-type": "text/javascript; charset=utf-8" });
    if (at("GET", "/app.css")) return send(res, 200, PAGE_CSS, { "content-type": "text/css; charset=utf-8" });

    if (at("POST", "/api/join")) {
      if (!joins.take(ip(req))) throw new HttpError(429, "too many joins from this address; wait a moment");
      const body = parse(joinBodySchema, await readJson(req, LIMITS.joinBody));
      checkJoinCode(req, body.code);
      const joined = ledger.prepareJoin(body, now());
      if (joined.isNew && !newLearners.take(ip(req))) throw new HttpError(429, "too many new learners from this address; wait a minute");
      await record(joined.records);
      const name = ledger.state.learners.get(joined.learner)!.name;
      opts.onActivity?.(t("classroom.serve.joined", { name }));
      const reply: JoinReply = { learner: joined.learner, token: joined.token, title: ledger.state.title, name };
      return send(res, 200, reply);
    }
    if (at("POST", "/api/events")) {
      const id = learner(req);
      const body = parse(eventsBodySchema, await readJson(req, LIMITS.eventsBody));
      const prepared = ledger.prepareEvents(id, body, now(), eventsRate.available(id));
      if (prepared.classFull && !prepared.records.length) {
        if (!refusedForCap) opts.onActivity?.(t("classroom.serve.logFull", { limit: mib(limits.classBytes) }));
        refusedForCap = true;
        changed();
        throw new HttpError(507, REASONS.classFull(limits.classBytes));
      }
      try {
        await record(prepared.records);
      } catch (e) {
        prepared.release();
        throw e;
      }
      eventsRate.take(id, prepared.records.length);
      warnIfAlmostFull();
      if (!warnedLearners.has(id) && prepared.results.some((r) => r.status === "rejected" && r.reason === REASONS.learnerFull(limits.learnerBytes))) {
        warnedLearners.add(id);
        opts.onActivity?.(t("classroom.serve.learnerFull", { name: ledger.state.learners.get(id)!.name, limit: mib(limits.learnerBytes) }));
      }
      const reply: EventsReply = { accepted: prepared.records.length, duplicates: prepared.duplicates, results: prepared.results, inbox: ledger.inbox(id) };
      return send(res, 200, reply);
    }
    if (at("GET", "/api/inbox")) return send(res, 200, ledger.inbox(learner(req)));
    if (at("GET", "/api/bundle")) return sendBundle(req, res);
    if (at("POST", "/api/leave")) {
      const id = learner(req);
      await record(ledger.prepareLeave(id, now()));
      opts.onActivity?.(t("classroom.serve.left", { name: ledger.state.learners.get(id)!.name }));
      return send(res, 200, { left: true });
    }

    // Everything below is the instructor's.
    if (!path.startsWith("/api/")) throw new HttpError(404, "not found");
    instructor(req);
    if (at("GET", "/api/class")) return send(res, 200, classPayload());
    if (at("GET", "/api/export.csv")) {
      return send(res, 200, exportCsv(ledger.view(now(), stuckMinutes)), { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="class.csv"' });
    }
    if (at("GET", "/api/stream")) {
      if (streams.size >= 50) throw new HttpError(503, "too many live views open");
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-content-type-options": "nosniff", "content-security-policy": CSP.other });
      res.write(`retry: 2000\n${frame()}`);
      streams.add(res);
      req.on("close", () => streams.delete(res));
      return;
    }
    const detail = /^\/api\/learners\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    if (method === "GET" && detail) return send(res, 200, detailForPage(ledger.detail(detail[1]!, now(), stuckMinutes), lang));
    if (at("POST", "/api/catch-up")) {
      const body = parse(catchUpBodySchema, await readJson(req, LIMITS.instructorBody));
      const offer = ledger.prepareOffer(body, now(), stuckMinutes);
      await record(offer.records);
      return send(res, 200, { offer: offer.records[0], reaches: offer.reaches });
    }
    if (at("POST", "/api/say")) {
      const body = parse(sayBodySchema, await readJson(req, LIMITS.instructorBody));
      const records = ledger.prepareSay(body, now());
      await record(records);
      return send(res, 200, { message: records[0] });
    }
    throw new HttpError(404, "not found");
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (e instanceof HttpError) {
        // A refused body is not read to its end: the connection goes with the answer.
        const headers: Record<string, string> = e.status === 413 ? { connection: "close" } : {};
        if (e.status === 401) headers["www-authenticate"] = "Bearer";
        return send(res, e.status, { error: e.message }, headers);
      }
      opts.onActivity?.(t("classroom.serve.internalError", { message: e instanceof Error ? e.message : String(e) }));
      send(res, 500, { error: "internal error" });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const bind = opts.bind ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 7700, bind, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.advertise ?? (bind === "0.0.0.0" || bind === "::" ? lanAddress() : bind);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url,
    joinCode: secrets.joinCode,
    instructorToken: secrets.instructorToken,
    cookieName,
    logPath: log.path,
    replayed,
    ledger,
    async close() {
      clearInterval(tick);
      clearTimeout(pending);
      for (const s of streams) s.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await log.close();
    },
  };
}
