/**
 * The class server on Node's own http module. Learners post progress events (join code →
 * their own token); the instructor reads the class (token as bearer, or a cookie the page
 * got from `/?token=…`) as JSON, CSV or a live stream of server-sent events. Bodies are
 * JSON only, size-limited and schema-checked; senders are rate-limited. Every change is
 * in the event log before it is acknowledged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { networkInterfaces } from "node:os";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import type { LabInfo } from "./aggregate.js";
import { bearer, cookieValue, newInstructorToken, newJoinCode, RateLimiter, sameCode, sameSecret, type Bucket } from "./auth.js";
import { exportCsv } from "./export.js";
import { ClassLedger, HttpError, type Secrets } from "./ledger.js";
import { EventLog, type LogRecord } from "./log.js";
import { catchUpBodySchema, describeIssue, eventsBodySchema, joinBodySchema, LIMITS, sayBodySchema, type EventsReply, type JoinReply } from "./protocol.js";
import { language, t } from "../i18n/index.js";
import { PAGE_CSS, pageHtml, pageJs, signInPage } from "./web/page.js";

export const COOKIE = "lvs_class";

export interface RateRules {
  join: Bucket;
  learner: Bucket;
  authFailures: Bucket;
}

const DEFAULT_RATES: RateRules = {
  join: { burst: 30, perSecond: 1 },
  learner: { burst: 30, perSecond: 5 },
  authFailures: { burst: 20, perSecond: 1 },
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
  logPath: string;
  /** Records read back from the log at start, and lines skipped as unreadable. */
  replayed: { records: number; skipped: number };
  ledger: ClassLedger;
  close(): Promise<void>;
}

const secretsSchema = z.object({ joinCode: z.string(), instructorToken: z.string().min(32) });

async function loadSecrets(dir: string): Promise<Secrets> {
  const path = join(dir, "server.json");
  try {
    return secretsSchema.parse(JSON.parse(await readFile(path, "utf8")));
  } catch {
    const secrets = { joinCode: newJoinCode(), instructorToken: newInstructorToken() };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Only the instructor's account may read the token.
    await writeFile(`${path}.tmp`, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
    await rename(`${path}.tmp`, path);
    return secrets;
  }
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
    ...headers,
  });
  res.end(text);
}

/** Reads a JSON body of at most `limit` bytes; the wrong type, size or syntax is a 4xx. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "send the body as application/json");
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "the body is not valid JSON");
  }
}

function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, describeIssue(r.error));
  return r.data;
}

export async function startClassServer(opts: ClassServerOptions): Promise<ClassServer> {
  const now = opts.now ?? Date.now;
  const stuckMinutes = opts.stuckMinutes ?? 5;
  const lang = opts.lang ?? language();
  const page = { html: pageHtml(lang), js: pageJs(lang) };
  const rates = { ...DEFAULT_RATES, ...opts.rates };
  const joins = new RateLimiter(rates.join, now);
  const learnerRate = new RateLimiter(rates.learner, now);
  const failures = new RateLimiter(rates.authFailures, now);
  const secrets = await loadSecrets(opts.dir);
  const { log, replayed } = await EventLog.open(join(opts.dir, "events.jsonl"));
  const firstTitle = replayed.records.find((r) => r.r === "class");
  const ledger = new ClassLedger(secrets, opts.labs, opts.title ?? "lvs-lab class");
  ledger.commit(replayed.records);
  if (!firstTitle || (opts.title !== undefined && opts.title !== ledger.state.title)) {
    const record: LogRecord = { r: "class", t: now(), title: opts.title ?? "lvs-lab class" };
    await log.append([record]);
    ledger.commit([record]);
  }

  // ---- live views: one update per broadcastMs at most, and a tick for the clocks and flags
  const streams = new Set<ServerResponse>();
  let pending: NodeJS.Timeout | undefined;
  const frame = () => `event: class\ndata: ${JSON.stringify({ ...ledger.view(now(), stuckMinutes), joinCode: secrets.joinCode })}\n\n`;
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
    await log.append(records);
    ledger.commit(records);
    changed();
  }

  const ip = (req: IncomingMessage) => req.socket.remoteAddress ?? "?";

  function instructor(req: IncomingMessage): void {
    if (!failures.allows(ip(req))) throw new HttpError(429, "too many wrong tokens from this address; wait a minute");
    const given = bearer(req.headers.authorization) ?? cookieValue(req.headers.cookie, COOKIE);
    if (given && sameSecret(given, secrets.instructorToken)) return;
    failures.take(ip(req));
    throw new HttpError(401, "this needs the instructor token");
  }

  function learner(req: IncomingMessage): string {
    if (!failures.allows(ip(req))) throw new HttpError(429, "too many wrong tokens from this address; wait a minute");
    const id = ledger.learnerOf(bearer(req.headers.authorization));
    if (!id) {
      failures.take(ip(req));
      throw new HttpError(401, "this needs a learner token: join the class first");
    }
    if (!learnerRate.take(id)) throw new HttpError(429, "too many requests; slow down");
    return id;
  }

  /**
   * The offline bundle, for a learner token or the join code (`?code=` or `x-join-code`): a
   * learner without lvs-lab installed has only the code, and `curl` to fetch it.
   */
  async function sendBundle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const code = new URL(req.url ?? "/", "http://class.invalid").searchParams.get("code") ?? req.headers["x-join-code"];
    if (typeof code === "string") {
      if (!failures.allows(ip(req))) throw new HttpError(429, "too many wrong codes from this address; wait a minute");
      if (!sameCode(code, secrets.joinCode)) {
        failures.take(ip(req));
        throw new HttpError(401, "the join code is not this class's");
      }
      if (!joins.take(ip(req))) throw new HttpError(429, "too many downloads from this address; wait a moment");
    } else learner(req);
    if (!opts.bundle) throw new HttpError(404, "this class server offers no bundle (start it with `class serve --bundle FILE`)");
    const { size } = await stat(opts.bundle);
    res.writeHead(200, { "content-type": "application/x-tar", "content-length": String(size), "content-disposition": 'attachment; filename="lvs-lab-offline.tar"', "cache-control": "no-store", "x-content-type-options": "nosniff" });
    opts.onActivity?.(t("classroom.serve.bundleDownload", { address: ip(req) }));
    await pipeline(createReadStream(opts.bundle), res);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://class.invalid");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const at = (m: string, p: string) => method === m && path === p;

    if (at("GET", "/")) {
      const token = url.searchParams.get("token");
      if (token !== null) {
        if (!failures.allows(ip(req)) || !sameSecret(token, secrets.instructorToken)) {
          failures.take(ip(req));
          return send(res, 401, signInPage(t("classroom.web.wrongToken", {}, lang), lang), { "content-type": "text/html; charset=utf-8" });
        }
        // Like Jupyter: the token moves into an HTTP-only cookie and leaves the address bar.
        res.writeHead(303, { location: "/", "set-cookie": `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`, "cache-control": "no-store", "referrer-policy": "no-referrer" });
        return void res.end();
      }
      try {
        instructor(req);
      } catch (e) {
        if (e instanceof HttpError && e.status === 401) return send(res, 401, signInPage(undefined, lang), { "content-type": "text/html; charset=utf-8" });
        throw e;
      }
      return send(res, 200, page.html, {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        "referrer-policy": "no-referrer",
      });
    }
    if (at("GET", "/app.js")) return send(res, 200, page.js, { "content-type": "text/javascript; charset=utf-8" });
    if (at("GET", "/app.css")) return send(res, 200, PAGE_CSS, { "content-type": "text/css; charset=utf-8" });

    if (at("POST", "/api/join")) {
      if (!joins.take(ip(req))) throw new HttpError(429, "too many joins from this address; wait a moment");
      const body = parse(joinBodySchema, await readJson(req, LIMITS.joinBody));
      const joined = ledger.prepareJoin(body, now());
      await record(joined.records);
      opts.onActivity?.(t("classroom.serve.joined", { name: body.name }));
      const reply: JoinReply = { learner: joined.learner, token: joined.token, title: ledger.state.title, name: ledger.state.learners[joined.learner]!.name };
      return send(res, 200, reply);
    }
    if (at("POST", "/api/events")) {
      const id = learner(req);
      const body = parse(eventsBodySchema, await readJson(req, LIMITS.eventsBody));
      const prepared = ledger.prepareEvents(id, body, now());
      try {
        await record(prepared.records);
      } catch (e) {
        prepared.release();
        throw e;
      }
      const reply: EventsReply = { accepted: prepared.records.length, duplicates: prepared.duplicates, inbox: ledger.inbox(id) };
      return send(res, 200, reply);
    }
    if (at("GET", "/api/inbox")) return send(res, 200, ledger.inbox(learner(req)));
    if (at("GET", "/api/bundle")) return sendBundle(req, res);
    if (at("POST", "/api/leave")) {
      const id = learner(req);
      await record(ledger.prepareLeave(id, now()));
      opts.onActivity?.(t("classroom.serve.left", { name: ledger.state.learners[id]!.name }));
      return send(res, 200, { left: true });
    }

    // Everything below is the instructor's.
    if (!path.startsWith("/api/")) throw new HttpError(404, "not found");
    instructor(req);
    if (at("GET", "/api/class")) return send(res, 200, { ...ledger.view(now(), stuckMinutes), joinCode: secrets.joinCode });
    if (at("GET", "/api/export.csv")) {
      return send(res, 200, exportCsv(ledger.view(now(), stuckMinutes)), { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="class.csv"' });
    }
    if (at("GET", "/api/stream")) {
      if (streams.size >= 50) throw new HttpError(503, "too many live views open");
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-content-type-options": "nosniff" });
      res.write(`retry: 2000\n${frame()}`);
      streams.add(res);
      req.on("close", () => streams.delete(res));
      return;
    }
    const detail = /^\/api\/learners\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    if (method === "GET" && detail) return send(res, 200, ledger.detail(detail[1]!, now(), stuckMinutes));
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
    logPath: log.path,
    replayed: { records: replayed.records.length, skipped: replayed.skipped },
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
