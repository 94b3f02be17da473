/** The event log: appended, replayed, and a line cut short by a crash skipped without harm. */
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sameCode, sameSecret, matchesHash, hashSecret, splitLearnerToken, RateLimiter, newJoinCode } from "../src/class/auth.js";
import { ClassLedger } from "../src/class/ledger.js";
import { EventLog, parseLog, type LogRecord } from "../src/class/log.js";
import { DNAT, event, failing } from "./helpers/class.js";

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tempLog(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lvs-class-log-"));
  dirs.push(dir);
  return join(dir, "events.jsonl");
}

const records: LogRecord[] = [
  { r: "class", t: 1, title: "Workshop" },
  { r: "join", t: 2, learner: "a", name: "alice", tokenHash: "a".repeat(64) },
  { r: "event", t: 3, learner: "a", e: event({ checks: [failing("forward")] }) },
  { r: "offer", t: 4, id: "o1", lab: "dnat", step: 2 },
  { r: "say", t: 5, id: "m2", text: "hello" },
  { r: "leave", t: 6, learner: "a" },
];

describe("the event log", () => {
  it("gives back what was appended, in order, across a reopen", async () => {
    const path = await tempLog();
    const first = await EventLog.open(path);
    expect(first.replayed).toEqual({ records: 0, skipped: 0 });
    await first.log.append(records.slice(0, 3));
    await first.log.append(records.slice(3));
    await first.log.close();
    const read: LogRecord[] = [];
    const again = await EventLog.open(path, (r) => read.push(r));
    expect(again.replayed).toEqual({ records: records.length, skipped: 0 });
    expect(read).toEqual(records);
    expect(again.log.size).toBe((await readFile(path)).length);
    await again.log.close();
  });

  it("skips a line a crash cut short, and the next record starts on a line of its own", async () => {
    const path = await tempLog();
    const whole = records.slice(0, 3).map((r) => JSON.stringify(r)).join("\n");
    await writeFile(path, `${whole}\n{"r":"event","t":7,"learner":"a","e":{"id":"cut`);
    const read: LogRecord[] = [];
    const opened = await EventLog.open(path, (r) => read.push(r));
    expect(read).toEqual(records.slice(0, 3));
    expect(opened.replayed).toEqual({ records: 3, skipped: 1 });
    await opened.log.append([records[3]!]);
    await opened.log.close();
    expect(parseLog(await readFile(path, "utf8"))).toEqual({ records: records.slice(0, 4), skipped: 1 });
  });

  it("skips lines that are not records (edited by hand, another version)", () => {
    expect(parseLog('{"r":"nonsense","t":1}\nnot json\n\n{"r":"class","t":1,"title":"x"}\n')).toEqual({ records: [{ r: "class", t: 1, title: "x" }], skipped: 2 });
  });

  it("replays into the same ledger state as the live server built, duplicates included once", async () => {
    const path = await tempLog();
    const live = new ClassLedger({ joinCode: "ABCD-EFGH", instructorToken: "t".repeat(43) }, [DNAT], "Workshop");
    const { log } = await EventLog.open(path);
    const joined = live.prepareJoin({ code: "abcdefgh", name: "alice" }, 10);
    await log.append(joined.records);
    live.commit(joined.records);
    const e = event({ checks: [failing("forward")] });
    for (const batch of [[e], [e, event({ step: "dnat-rule", passed: ["forward"] })]]) {
      const prepared = live.prepareEvents(joined.learner, { now: 1_000_000, events: batch }, 1_000_000);
      await log.append(prepared.records);
      live.commit(prepared.records);
    }
    await log.close();
    const replayed = new ClassLedger(live.secrets, [DNAT], "Workshop");
    const { log: again, replayed: read } = await EventLog.open(path, (r, bytes) => replayed.replay(r, bytes));
    await again.close();
    expect(read.records).toBe(3);
    expect(replayed.state).toEqual(live.state);
    expect([replayed.eventBytes, replayed.bytesOf.get(joined.learner)]).toEqual([live.eventBytes, live.eventBytes]);
    expect(replayed.learnerOf(joined.token)).toBe(joined.learner);
    expect(replayed.prepareEvents(joined.learner, { now: 1, events: [e] }, 1).duplicates).toBe(1);
  });

  it("keeps a refused write out of the dedup set, so the learner's retry is taken", async () => {
    const ledger = new ClassLedger({ joinCode: "ABCD-EFGH", instructorToken: "t".repeat(43) }, [DNAT], "W");
    const e = event();
    const first = ledger.prepareEvents("a", { now: 1, events: [e] }, 1);
    // While it is being written, a second delivery is asked to come again, not counted as had.
    expect(ledger.prepareEvents("a", { now: 1, events: [e] }, 1).results).toEqual([{ id: e.id, status: "later", reason: "being stored by another request; sent again later" }]);
    first.release();
    expect(ledger.prepareEvents("a", { now: 1, events: [e] }, 1).records).toHaveLength(1);
  });

  it("survives a foreign line appended by someone else", async () => {
    const path = await tempLog();
    const { log } = await EventLog.open(path);
    await log.append(records.slice(0, 2));
    await appendFile(path, "garbage\n");
    await log.append(records.slice(2, 3));
    await log.close();
    expect(parseLog(await readFile(path, "utf8"))).toEqual({ records: records.slice(0, 3), skipped: 1 });
  });
});

describe("tokens and codes", () => {
  it("compares secrets of any length without throwing, and only equal ones match", () => {
    expect(sameSecret("abc", "abc")).toBe(true);
    expect(sameSecret("abc", "abcd")).toBe(false);
    expect(sameSecret("", "x".repeat(43))).toBe(false);
    const secret = "s".repeat(43);
    expect(matchesHash(secret, hashSecret(secret))).toBe(true);
    expect(matchesHash(`${secret}x`, hashSecret(secret))).toBe(false);
    expect(matchesHash(secret, "zz")).toBe(false);
  });

  it("reads join codes as people type them", () => {
    const code = newJoinCode();
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    expect(sameCode(code.toLowerCase().replace("-", " "), code)).toBe(true);
    expect(sameCode("ABCD-EFGJ", "ABCD-EFGH")).toBe(false);
  });

  it("splits learner tokens and refuses anything else", () => {
    expect(splitLearnerToken(`abc_-1.${"x".repeat(43)}`)).toEqual({ id: "abc_-1", secret: "x".repeat(43) });
    for (const bad of ["", "abc", `a.b`, `a/b.${"x".repeat(43)}`, `.${"x".repeat(43)}`]) expect(splitLearnerToken(bad)).toBeUndefined();
  });

  it("rate-limits with a bucket that refills", () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 2, perSecond: 1 }, () => now);
    expect([limiter.take("k"), limiter.take("k"), limiter.take("k")]).toEqual([true, true, false]);
    expect(limiter.take("other")).toBe(true);
    now = 1000;
    expect([limiter.take("k"), limiter.take("k")]).toEqual([true, false]);
  });
});
