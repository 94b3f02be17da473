/**
 * The class server attacked as a hostile or buggy learner would, on 127.0.0.1 with a
 * temporary state directory; every attack is bounded in requests and time. A flood fills
 * one learner's byte quota and no more; a class at its cap refuses with a sentence and the
 * instructor is warned; a batch with one bad event keeps the good ones; wrong learner
 * tokens and codes from an address do not lock the instructor out; look-alike and
 * invisible names cannot pass for another learner; prototype keys are not learners; the
 * Host header is checked; a title too long is refused where it is set; a 1 GiB log is
 * refused with one sentence, and a log with an absurd line replays the rest.
 */
import { appendFile, mkdtemp, rm, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startClassServer } from "../src/class/server.js";
import { LIMITS } from "../src/class/protocol.js";
import { DNAT, classServerFixture, event, failing, failingRoute } from "./helpers/class.js";
import { http, post } from "./helpers/http.js";

const fx = classServerFixture("lvs-class-attack-");
const { api, joinAs, start } = fx;
const send = (token: string, ...events: unknown[]) => post(api("/api/events"), { now: Date.now(), events }, token);
/** A server whose clock stands still: rate buckets do not refill while a slow machine runs the test. */
async function restartWithStoppedClock(): Promise<void> {
  await fx.server.close();
  const at = Date.now();
  fx.server = await start({ now: () => at });
}
const logSize = async () => (await stat(join(fx.dir, "events.jsonl"))).size;
const MiB = 1024 * 1024;

/** The largest event a body may carry: three checks of 60 probes with 1000-character messages (≈190 kB). */
function bigEvent() {
  const probes = Array.from({ length: 60 }, (_, i) => ({ ...failingRoute, message: `${i} ${"x".repeat(990)}` }));
  return event({ checks: ["forward", "dnat-rule", "gateway"].map((id) => failing(id, ...probes)) });
}

describe("a flood from one learner", () => {
  it("stores at most the learner's byte quota, then refuses each event with the reason", async () => {
    const flooder = await joinAs("mallory");
    const before = await logSize();
    const answers = [];
    // Bounded: 60 requests at most, stopped by the first refusal for the quota.
    for (let i = 0; i < 60; i++) {
      const r = await send(flooder, bigEvent());
      answers.push(r);
      if (r.json?.results?.[0]?.status === "rejected") break;
    }
    const grown = (await logSize()) - before;
    expect(grown).toBeLessThanOrEqual(LIMITS.learnerBytes);
    expect(grown).toBeGreaterThan(LIMITS.learnerBytes - 200_000);
    expect(answers.at(-1)!.json.results).toEqual([{ id: expect.any(String), status: "rejected", reason: "this learner's events reached 2 MiB, the most one learner may store in this class" }]);
    // Everyone else carries on.
    const alice = await joinAs("alice");
    expect((await send(alice, event())).json.results).toEqual([{ id: expect.any(String), status: "stored" }]);
  });

  it("counts events a minute, not requests: a batch beyond the rate is left for later, not lost", async () => {
    await restartWithStoppedClock();
    const alice = await joinAs("alice");
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await send(alice, ...Array.from({ length: 100 }, () => event())));
    const statuses = answers.flatMap((a) => a.json.results.map((r: { status: string }) => r.status));
    expect(statuses.filter((s) => s === "stored")).toHaveLength(LIMITS.eventsBurst);
    expect(answers[2]!.json.results.at(-1)).toEqual({ id: expect.any(String), status: "later", reason: `more than ${LIMITS.eventsPerMinute} events a minute; sent again later` });
  });

  it("gives one address a bounded number of new learners", async () => {
    const statuses: number[] = [];
    let refusal = "";
    for (let i = 0; i < 45; i++) {
      const r = await post(api("/api/join"), { code: fx.server.joinCode, name: `n${i}` });
      statuses.push(r.status);
      if (r.status !== 200) refusal = r.json.error;
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(40);
    expect(statuses.slice(40)).toEqual([429, 429, 429, 429, 429]);
    expect(refusal).toBe("too many new learners from this address; wait a minute");
  });

  it("stops at the class's cap with a sentence, warns the instructor before, and restarts from the full log", async () => {
    await fx.server.close();
    const activity: string[] = [];
    // One clock for both servers: the views compared below hold seconds since events.
    const clock = () => 1_700_000_000_000;
    fx.server = await start({ limits: { classBytes: 1 * MiB }, onActivity: (line) => activity.push(line), now: clock });
    const tokens = [await joinAs("a1"), await joinAs("a2"), await joinAs("a3"), await joinAs("a4"), await joinAs("a5"), await joinAs("a6")];
    let full: { status: number; json: any } | undefined;
    for (let i = 0; i < 12 && !full; i++) {
      const r = await send(tokens[i % tokens.length]!, bigEvent());
      if (r.status !== 200) full = r;
    }
    expect(full?.status).toBe(507);
    expect(full?.json.error).toBe("the class's event log reached its cap of 1 MiB: the instructor can start another class with `lvs-lab class serve --new`");
    expect(fx.server.ledger.eventBytes).toBeLessThanOrEqual(1 * MiB);
    expect(await logSize()).toBeLessThanOrEqual(1 * MiB + LIMITS.reserveBytes);
    expect(activity).toContain("The event log has passed 80 % of the 1 MiB a class may store; at 1 MiB it refuses new events.");
    expect((await http(api("/api/class"), { token: fx.server.instructorToken })).json.warning).toBe("The event log is full (1 MiB): new events are refused. `lvs-lab class serve --new` starts another class.");
    // Joins and the instructor's records still fit in the reserve; a restart replays it all.
    expect((await post(api("/api/say"), { text: "Break" }, fx.server.instructorToken)).status).toBe(200);
    const before = (await http(api("/api/class"), { token: fx.server.instructorToken })).json;
    await fx.server.close();
    fx.server = await start({ limits: { classBytes: 1 * MiB }, title: undefined, now: clock });
    const after = (await http(api("/api/class"), { token: fx.server.instructorToken })).json;
    expect({ ...after, now: 0, warning: "" }).toEqual({ ...before, now: 0, warning: "" });
    expect(after.warning).toBe("The event log has passed 80 % of the 1 MiB a class may store; at 1 MiB it refuses new events.");
  });
});

describe("a poisoned batch", () => {
  it("stores the good events beside the bad ones and says why each bad one was refused", async () => {
    const alice = await joinAs("alice");
    const good = event({ checks: [failing("forward")] });
    const unknownLab = event({ lab: "from-the-future" });
    const unknownStep = event({ step: "new-step" });
    const malformed = { ...event(), type: "teleport" };
    const r = await send(alice, good, unknownLab, unknownStep, malformed);
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual([
      { id: good.id, status: "stored" },
      { id: unknownLab.id, status: "rejected", reason: 'lab "from-the-future" is not one this class server knows' },
      { id: unknownStep.id, status: "rejected", reason: 'lab "dnat" has no step "new-step"' },
      { id: malformed.id, status: "rejected", reason: 'type: Invalid option: expected one of "start"|"check"|"solve"|"hint"|"predict"|"progress"|"catch-up"' },
    ]);
    expect(r.json).toMatchObject({ accepted: 1, duplicates: 0 });
    // The good one is in the class, and counted once when it comes again.
    const rows = (await http(api("/api/class"), { token: fx.server.instructorToken })).json.labs[0].rows;
    expect(rows[0]).toMatchObject({ name: "alice", events: 1, cells: ["failed", "todo", "todo"] });
    expect((await send(alice, good)).json.results).toEqual([{ id: good.id, status: "duplicate" }]);
    // A refused event was not marked seen: once the server knows the step, it is taken.
    expect((await send(alice, { ...unknownStep, progress: { ...unknownStep.progress, step: "forward" } })).json.results).toEqual([{ id: unknownStep.id, status: "stored" }]);
  });
});

describe("wrong tokens from a learner's address", () => {
  it("do not lock out the instructor or the valid learners of that address", async () => {
    await restartWithStoppedClock();
    const alice = await joinAs("alice");
    const stale = `${"a".repeat(12)}.${"s".repeat(43)}`;
    for (let i = 0; i < 25; i++) await send(stale, event());
    for (let i = 0; i < 25; i++) await http(api(`/api/bundle?code=WRNG-${String(i).padStart(4, "A")}`));
    expect((await send(stale, event())).status).toBe(429);
    expect((await http(api("/api/class"), { token: fx.server.instructorToken })).status).toBe(200);
    expect((await send(alice, event())).status).toBe(200);
  });

  it("wrong instructor tokens end in 429 for the instructor's door only", async () => {
    await restartWithStoppedClock();
    const alice = await joinAs("alice");
    const statuses = [];
    for (let i = 0; i < 25; i++) statuses.push((await http(api("/api/class"), { token: `guess-${i}` })).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    expect((await send(alice, event())).status).toBe(200);
  });
});

describe("names that pass for another learner", () => {
  it("refuses invisible characters and takes look-alikes for the name they imitate", async () => {
    await joinAs("bob");
    const invisible = ["bob\u200b", "bob\u2060", "bo\u00adb", "\u200b", "b\ufeffob", "bob\u180e"];
    for (const name of invisible) {
      const r = await post(api("/api/join"), { code: fx.server.joinCode, name });
      expect([JSON.stringify(name), r.status, r.json.error]).toEqual([JSON.stringify(name), 400, "name: a name cannot hold invisible or direction-changing characters"]);
    }
    const bidi = await post(api("/api/join"), { code: fx.server.joinCode, name: "b\u202eob" });
    expect(bidi.status).toBe(400);
    // Cyrillic о, Greek ο, fullwidth letters, capitals, a dotted ı, a capital I for l.
    for (const name of ["b\u043eb", "b\u03bfb", "\uff42\uff4f\uff42", "BOB", "b\u00f2b", " bob "]) {
      const r = await post(api("/api/join"), { code: fx.server.joinCode, name });
      expect([JSON.stringify(name), r.status, r.json.error]).toEqual([JSON.stringify(name), 409, 'the name "bob" is taken in this class; pick another']);
    }
    await joinAs("bill");
    expect((await post(api("/api/join"), { code: fx.server.joinCode, name: "biII" })).status).toBe(409);
    const view = (await http(api("/api/class"), { token: fx.server.instructorToken })).json;
    expect(view.waiting.map((w: { name: string }) => w.name)).toEqual(["bill", "bob"]);
  });

  it("keeps a name in NFKC form, so what the page shows is what was compared", async () => {
    const r = await post(api("/api/join"), { code: fx.server.joinCode, name: "\uff21nn" });
    expect(r.json.name).toBe("Ann");
  });
});

describe("keys of every JavaScript object", () => {
  it("are not learners, and a learner may be called by one", async () => {
    for (const key of ["__proto__", "constructor", "hasOwnProperty", "toString", "prototype"]) {
      const r = await http(api(`/api/learners/${key}`), { token: fx.server.instructorToken });
      expect([key, r.status, r.json.error]).toEqual([key, 404, "no such learner"]);
    }
    const token = await joinAs("__proto__");
    expect((await send(token, event())).status).toBe(200);
    const view = (await http(api("/api/class"), { token: fx.server.instructorToken })).json;
    expect(view.labs[0].rows.map((r: { name: string }) => r.name)).toEqual(["__proto__"]);
    expect((await post(api("/api/say"), { text: "hi", learner: "constructor" }, fx.server.instructorToken)).status).toBe(404);
  });
});

describe("the Host header", () => {
  it("answers only to this machine's names and addresses (no DNS rebinding)", async () => {
    const port = new URL(fx.server.url).port;
    for (const host of ["evil.example", `evil.example:${port}`, "127.0.0.1.nip.io"]) {
      const r = await http(api("/api/class"), { token: fx.server.instructorToken, headers: { host } });
      expect([host, r.status, r.json?.error]).toEqual([host, 421, `this class server does not answer to the name "${host.replace(/:\d+$/, "")}"`]);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect((await http(api("/api/class"), { token: fx.server.instructorToken, headers: { host } })).status).toBe(200);
  });
});

describe("every page", () => {
  it("carries a content security policy, the sign-in page too", async () => {
    for (const path of ["/", "/app.js", "/app.css", "/api/class"]) {
      const r = await http(api(path));
      expect([path, r.headers["content-security-policy"]]).toEqual([path, expect.stringMatching(/default-src 'none'/)]);
    }
    expect((await http(api("/"))).headers["content-security-policy"]).toMatch(/form-action 'self'/);
  });

  it("signs in by POST: a cookie named for this class, holding a session that is not the token", async () => {
    const r = await http(api("/signin"), { body: `token=${encodeURIComponent(fx.server.instructorToken)}`, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("/");
    const cookie = String(r.headers["set-cookie"]);
    expect(cookie).toMatch(new RegExp(`^${fx.server.cookieName}=[\\w-]{43}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200$`));
    expect(fx.server.cookieName).toMatch(/^lvs_class_[0-9a-f]{12}$/);
    expect(cookie).not.toContain(fx.server.instructorToken);
    expect((await http(api("/"), { headers: { cookie: cookie.split(";")[0]! } })).status).toBe(200);
    // The token in the address is no longer a way in: it would stay in the browser's history.
    expect((await http(api(`/?token=${fx.server.instructorToken}`))).headers["set-cookie"]).toBeUndefined();
    const other = await mkdtemp(join(tmpdir(), "lvs-class-attack-"));
    const second = await startClassServer({ dir: other, labs: [DNAT], port: 0, bind: "127.0.0.1" });
    expect(second.cookieName).not.toBe(fx.server.cookieName);
    await second.close();
    await rm(other, { recursive: true, force: true });
  });
});

describe("the title", () => {
  it("is refused over 200 characters where it is set, and 200 survive a restart", async () => {
    await fx.server.close();
    await expect(start({ title: "t".repeat(201) })).rejects.toThrow("A class title has at most 200 characters (this one has 201).");
    fx.server = await start({ title: "t".repeat(200) });
    await fx.server.close();
    fx.server = await start({ title: undefined });
    expect(fx.server.ledger.state.title).toBe("t".repeat(200));
  });
});

describe("replaying the log", () => {
  it("refuses a 1 GiB log with one sentence, at once", async () => {
    await fx.server.close();
    const log = join(fx.dir, "events.jsonl");
    await truncate(log, 1024 * MiB);
    const began = Date.now();
    await expect(start()).rejects.toThrow(`The event log ${log} holds 1024.0 MiB, more than a class may (65 MiB): start another class with \`lvs-lab class serve --new\` (this one is kept aside).`);
    expect(Date.now() - began).toBeLessThan(5000);
    await truncate(log, 0);
    fx.server = await start();
  });

  it("skips a line too long to be a record without holding it, and replays the rest", async () => {
    const alice = await joinAs("alice");
    await send(alice, event({ checks: [failing("forward")] }));
    await fx.server.close();
    await appendFile(join(fx.dir, "events.jsonl"), `{"r":"say","t":1,"id":"m9","text":"${"x".repeat(3 * MiB)}"}\n`);
    fx.server = await start({ title: undefined });
    expect(fx.server.replayed).toEqual({ records: 3, skipped: 1 });
    expect((await http(api("/api/class"), { token: fx.server.instructorToken })).json.labs[0].rows[0].name).toBe("alice");
  });
});
