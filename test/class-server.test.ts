/**
 * The class server on 127.0.0.1 with a temporary state directory: learners join and post
 * events, the instructor reads /api/class, the CSV and the live stream; wrong tokens,
 * malformed and huge bodies, floods and forged writes each get a clear 4xx and leave the
 * class as it was; a restart replays the log into the same class.
 */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { sseParser } from "../src/class/watch/stream.js";
import { classServerFixture, event, failing, passing } from "./helpers/class.js";
import { http, post } from "./helpers/http.js";

const fx = classServerFixture("lvs-class-");
const { api, joinAs, start } = fx;
const send = (token: string, ...events: ReturnType<typeof event>[]) => post(api("/api/events"), { now: 1_000_000, events }, token);
const classNow = async () => {
  const r = await http(api("/api/class"), { token: fx.server.instructorToken });
  expect(r.status).toBe(200);
  const { now: _now, ...rest } = r.json;
  return rest;
};

describe("a class of two", () => {
  it("joins two learners, takes their events and shows them in /api/class and the CSV", async () => {
    const alice = await joinAs("alice");
    const bob = await joinAs("bob");
    expect((await send(alice, event({ step: "dnat-rule", passed: ["forward"], checks: [passing("forward"), failing("dnat-rule")] }))).json).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await send(bob, event({ checks: [failing("forward")] }))).status).toBe(200);

    const r = await http(api("/api/class"), { token: fx.server.instructorToken });
    expect(r.json).toMatchObject({ title: "Workshop", learners: 2, joinCode: fx.server.joinCode, waiting: [] });
    expect(r.json.labs).toHaveLength(1);
    expect(r.json.labs[0].rows.map((row: any) => [row.name, row.current, row.cells.join(" ")])).toEqual([
      ["alice", 2, "passed failed todo"],
      ["bob", 1, "failed todo todo"],
    ]);

    const csv = await http(api("/api/export.csv"), { token: fx.server.instructorToken });
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    const lines = csv.text.trimEnd().split("\r\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^"alice","dnat","dnat","2","false","1","0",/);
    expect(lines[2]).toMatch(/^"bob","dnat","dnat","1","false","0","0",.*"failed","",""$/);
  });

  it("counts a second delivery of the same event once", async () => {
    const alice = await joinAs("alice");
    const e = event({ checks: [failing("forward")] });
    await send(alice, e);
    expect((await send(alice, e, event({ step: "dnat-rule", passed: ["forward"] }))).json).toMatchObject({ accepted: 1, duplicates: 1 });
    expect((await classNow()).labs[0].rows[0].events).toBe(2);
  });

  it("puts events on the server's clock: a learner whose clock is an hour off still shows minutes on the step", async () => {
    const alice = await joinAs("alice");
    const hourAhead = Date.now() + 3_600_000;
    await post(api("/api/events"), { now: hourAhead, events: [event({ at: hourAhead - 1000, stepSeconds: 120 })] }, alice);
    const seconds = (await classNow()).labs[0].rows[0].onStepSeconds;
    expect(seconds).toBeGreaterThanOrEqual(120);
    expect(seconds).toBeLessThan(130);
  });

  it("lets a learner join again under their name with their token, and nobody else", async () => {
    const first = await post(api("/api/join"), { code: fx.server.joinCode, name: "alice" });
    const again = await post(api("/api/join"), { code: fx.server.joinCode.toLowerCase().replace("-", ""), name: "Alice", token: first.json.token });
    expect(again.json.learner).toBe(first.json.learner);
    const thief = await post(api("/api/join"), { code: fx.server.joinCode, name: "ALICE" });
    expect(thief.status).toBe(409);
    expect(thief.json.error).toBe('the name "alice" is taken in this class; pick another');
  });

  it("offers a catch-up to the learners behind and says things, through the learner's inbox", async () => {
    const alice = await joinAs("alice");
    const bob = await joinAs("bob");
    await send(alice, event({ step: "forward" }));
    await send(bob, event({ step: "gateway", passed: ["forward", "dnat-rule"] }));
    const offer = await post(api("/api/catch-up"), { step: 3 }, fx.server.instructorToken);
    expect(offer.json.reaches).toEqual(["alice"]);
    await post(api("/api/say"), { text: "Break until 11:00" }, fx.server.instructorToken);
    const inbox = await http(api("/api/inbox"), { token: alice });
    expect(inbox.json).toMatchObject({ offer: { lab: "dnat", step: 3 }, messages: [{ text: "Break until 11:00" }] });
    expect((await http(api("/api/inbox"), { token: bob })).json.offer).toBeUndefined();
    expect((await post(api("/api/catch-up"), { step: 2, learner: "nobody" }, fx.server.instructorToken)).status).toBe(404);
    expect((await post(api("/api/catch-up"), { step: 9 }, fx.server.instructorToken)).json.error).toBe("lab dnat has steps 1 to 3");
  });

  it("shows one learner's latest verdicts with their hops", async () => {
    const alice = await joinAs("alice");
    const join = await post(api("/api/join"), { code: fx.server.joinCode, name: "carol" });
    await send(alice, event({ step: "gateway", passed: ["forward", "dnat-rule"], checks: [failing("gateway")] }));
    const list = (await classNow()).labs[0].rows;
    const detail = await http(api(`/api/learners/${list[0].learner}`), { token: fx.server.instructorToken });
    expect(detail.json).toMatchObject({ name: "alice", step: { number: 3, id: "gateway" }, probes: [{ kind: "route", ok: false }] });
    expect((await http(api(`/api/learners/${join.json.learner}`), { token: fx.server.instructorToken })).json).toMatchObject({ name: "carol", probes: [] });
  });
});

describe("nobody gets in where they don't belong", () => {
  it("refuses the instructor's views without the instructor token", async () => {
    const alice = await joinAs("alice");
    for (const path of ["/api/class", "/api/export.csv", "/api/stream"]) {
      expect((await http(api(path))).status).toBe(401);
      expect((await http(api(path), { token: "x".repeat(43) })).status).toBe(401);
      expect((await http(api(path), { token: alice })).status).toBe(401);
    }
    expect((await post(api("/api/catch-up"), { step: 2 }, alice)).status).toBe(401);
  });

  it("signs the page in with the token posted from its form, into an HTTP-only session cookie", async () => {
    const form = (token: string) => http(api("/signin"), { body: `token=${encodeURIComponent(token)}`, headers: { "content-type": "application/x-www-form-urlencoded" } });
    const r = await form(fx.server.instructorToken);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("/");
    const cookie = String(r.headers["set-cookie"]);
    expect(cookie).toMatch(/^lvs_class_[0-9a-f]{12}=[\w-]+; HttpOnly; SameSite=Strict; Path=\//);
    const page = await http(api("/"), { headers: { cookie: cookie.split(";")[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    expect((await http(api("/api/class"), { headers: { cookie: cookie.split(";")[0]! } })).status).toBe(200);
    expect((await http(api("/"))).status).toBe(401);
    const wrong = await form("wrong");
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain("That token is not this class's instructor token.");
    expect((await http(api("/"), { headers: { cookie: `${fx.server.cookieName}=not-a-session` } })).status).toBe(401);
  });

  it("refuses wrong join codes, and names with escape sequences", async () => {
    const wrong = await post(api("/api/join"), { code: "AAAA-AAAA", name: "mallory" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe("the join code is not this class's");
    const escape = await post(api("/api/join"), { code: fx.server.joinCode, name: "\x1b[2J\x1b[Hx" });
    expect(escape.status).toBe(400);
    expect(escape.json.error).toBe("name: a name cannot hold control characters or escape sequences");
    expect((await post(api("/api/join"), { code: fx.server.joinCode, name: "x".repeat(33) })).status).toBe(400);
    expect((await classNow()).learners).toBe(0);
  });

  it("answers malformed, mistyped, oversized and forged bodies with a 4xx and keeps the class as it was", async () => {
    const alice = await joinAs("alice");
    await send(alice, event({ checks: [failing("forward")] }));
    const before = await classNow();
    const cases: Array<[string, Promise<{ status: number; json: any }>, number, string]> = [
      ["malformed JSON", http(api("/api/events"), { token: alice, body: '{"now": 1, "events": [' }), 400, "the body is not valid JSON"],
      ["not JSON", http(api("/api/events"), { token: alice, body: "now=1", headers: { "content-type": "application/x-www-form-urlencoded" } }), 415, "send the body as application/json"],
      ["huge body", http(api("/api/events"), { token: alice, body: JSON.stringify({ now: 1, events: [], pad: "x".repeat(300_000) }) }), 413, "the body is larger than 262144 bytes"],
      ["huge join", post(api("/api/join"), { code: fx.server.joinCode, name: "bob", pad: "x".repeat(3000) }), 413, "the body is larger than 2048 bytes"],
      ["writing as another learner", post(api("/api/events"), { now: 1, learner: "someone-else", events: [event()] }, alice), 400, 'Unrecognized key: "learner"'],
      ["no events", post(api("/api/events"), { now: 1, events: [] }, alice), 400, "events: send at least one event"],
      ["no token", post(api("/api/events"), { now: 1, events: [event()] }), 401, "this needs a learner token: join the class first"],
      ["the instructor's token", post(api("/api/events"), { now: 1, events: [event()] }, fx.server.instructorToken), 401, "this needs a learner token: join the class first"],
    ];
    for (const [what, answer, status, error] of cases) {
      const r = await answer;
      expect([what, r.status, r.json?.error]).toEqual([what, status, error]);
    }
    expect(await classNow()).toEqual(before);
  });

  it("rate-limits a flood of events from one learner with 429 and counts only what it took", async () => {
    const alice = await joinAs("alice");
    const answers = await Promise.all(Array.from({ length: 60 }, () => send(alice, event())));
    const taken = answers.filter((a) => a.status === 200).length;
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true);
    expect((await classNow()).labs[0].rows[0].events).toBe(taken);
  });

  it("slows down guessing: wrong tokens from one address end in 429", async () => {
    const statuses = [];
    for (let i = 0; i < 25; i++) statuses.push((await http(api("/api/class"), { token: `guess-${i}` })).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
  });

  it("limits joins from one address", async () => {
    await fx.server.close();
    fx.server = await start({ rates: { join: { burst: 3, perSecond: 0.01 } } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(api("/api/join"), { code: fx.server.joinCode, name: `n${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});

describe("the live stream", () => {
  it("sends the class at once and again within a moment of each event", async () => {
    const alice = await joinAs("alice");
    const frames: any[] = [];
    const req = request(api("/api/stream"), { headers: { authorization: `Bearer ${fx.server.instructorToken}` } }, (res) => {
      res.setEncoding("utf8");
      res.on("data", sseParser((name, data) => name === "class" && frames.push(JSON.parse(data))));
    });
    req.end();
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(() => frames.length > 0);
    expect(frames[0].waiting).toEqual([{ learner: expect.any(String), name: "alice" }]);
    const sent = Date.now();
    await send(alice, event({ checks: [failing("forward")] }));
    await until(() => frames.some((f) => f.labs.length));
    expect(Date.now() - sent).toBeLessThan(1000);
    expect(frames.at(-1).labs[0].rows[0]).toMatchObject({ name: "alice", cells: ["failed", "todo", "todo"] });
    req.destroy();
  });
});

describe("a restart", () => {
  it("replays the event log into the same class, with the same code and tokens", async () => {
    const alice = await joinAs("alice");
    const bob = await joinAs("bob");
    const repeated = event({ step: "dnat-rule", passed: ["forward"], checks: [passing("forward"), failing("dnat-rule")] });
    await send(alice, repeated);
    await send(bob, event({ checks: [failing("forward")] }));
    await post(api("/api/catch-up"), { step: 2, learner: "bob" }, fx.server.instructorToken);
    const before = await classNow();
    const { joinCode, instructorToken } = fx.server;
    await fx.server.close();

    fx.server = await start({ title: undefined });
    expect(fx.server.replayed).toEqual({ records: 6, skipped: 0 });
    expect([fx.server.joinCode, fx.server.instructorToken]).toEqual([joinCode, instructorToken]);
    expect(await classNow()).toEqual(before);
    // The learners' tokens still work, and what was delivered before still counts once.
    expect((await send(alice, repeated)).json).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await http(api("/api/inbox"), { token: bob })).json.offer).toMatchObject({ step: 2 });
  });
});
