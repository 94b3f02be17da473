/**
 * The learner's side against a rogue or mismatched class server on 127.0.0.1: whatever the
 * server says (title, name, errors, reasons, messages, offers) reaches the learner's
 * terminal without an escape sequence; events the server refuses stay in the outbox with
 * the server's reason, `class status` lists them, and only what the server stored leaves.
 */
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { classStatusLines, joinClass } from "../src/class/join.js";
import { enqueue, flushOutbox, queuedCount, readMembership, rejectedEvents, saveMembership } from "../src/class/learner.js";
import { classNotices, reportToClass, type LabRef } from "../src/class/report.js";
import { startClassServer, type ClassServer } from "../src/class/server.js";
import { freshProgress } from "../src/state/progress.js";
import { DNAT } from "./helpers/class.js";
import { http } from "./helpers/http.js";

const REF: LabRef = { lab: "dnat", instance: "dnat", stepIds: DNAT.steps.map((s) => s.id) };
const ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31m";
const dirs: string[] = [];
let rogue: Server | undefined;

async function temp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A server that answers every request with `answer(path)`. */
async function rogueServer(answer: (path: string) => [number, unknown]): Promise<string> {
  rogue = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const [status, body] = answer(req.url ?? "/");
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => rogue!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(rogue.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  process.env.XDG_STATE_HOME = await temp("lvs-learner-attack-");
});
afterEach(async () => {
  await new Promise((r) => (rogue ? rogue.close(r) : r(undefined)));
  rogue = undefined;
});
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const noEscape = (lines: string[]) => {
  for (const line of lines) expect([line, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(line)]).toEqual([line, false]);
};

describe("a rogue class server", () => {
  it("cannot write escape sequences to the learner's terminal through join, status, notices or refusals", async () => {
    let joins = 0;
    const url = await rogueServer((path) => {
      if (path === "/api/join" && joins++ === 0) return [200, { learner: "rogue", token: `rogue.${"s".repeat(43)}`, title: `Workshop${ESC}`, name: `bob${ESC}` }];
      if (path === "/api/events") {
        return [200, { accepted: 0, duplicates: 0, results: [{ status: "rejected", reason: `no${ESC}` }], inbox: { offer: { id: "o1", at: 1, lab: `dnat${ESC}`, step: 3 }, messages: [{ id: "m1", at: 1, text: `hello${ESC}` }] } }];
      }
      return [403, { error: `refused${ESC}` }];
    });
    const m = await joinClass(url, "ABCD-EFGH", "bob");
    noEscape([m.title, m.name]);
    const reported = await reportToClass("check", REF, freshProgress("dnat"), undefined, 2000);
    const notices = await classNotices(reported, 1);
    noEscape(notices);
    expect(notices.join("\n")).toContain("hello\uFFFD]0;pwned");
    noEscape(await classStatusLines());
    expect((await classStatusLines()).join("\n")).toContain("no\uFFFD]0;pwned\uFFFD\uFFFD[2J\uFFFD[31m");
    // A membership file written by an older lvs-lab is cleaned when shown, too.
    await saveMembership({ ...(await readMembership())!, title: `old${ESC}` });
    noEscape(await classStatusLines());
    // The refusal path: the server's error in the sentence, cleaned.
    const refused = await joinClass(url, "ABCD-EFGH", "carol").then(
      () => "",
      (e: Error) => e.message,
    );
    expect(refused).toBe("The class server refused: refused\uFFFD]0;pwned\uFFFD\uFFFD[2J\uFFFD[31m.");
  });
});

describe("events a server refuses", () => {
  let server: ClassServer;
  beforeEach(async () => {
    server = await startClassServer({ dir: await temp("lvs-class-"), labs: [DNAT], title: "Workshop", port: 0, bind: "127.0.0.1", broadcastMs: 10 });
  });
  afterEach(() => server.close());

  it("stay in the outbox with the server's reason, listed by `class status`; only stored ones leave", async () => {
    await joinClass(server.url, server.joinCode, "alice");
    const base = { type: "check" as const, lab: "dnat", instance: "dnat", progress: { step: "forward", passed: [], solvedWithHelp: [], hintsShown: {}, predictions: {}, stepSeconds: 0 } };
    await enqueue(base, 1_000);
    // A learner a version ahead: a step this server does not know.
    await enqueue({ ...base, progress: { ...base.progress, step: "step-from-next-release" } }, 2_000);
    await enqueue({ ...base, type: "solve" }, 3_000);
    const m = (await readMembership())!;
    const flushed = await flushOutbox(m, 3000);
    expect(flushed).toMatchObject({ sent: 2, rejected: 1, left: 0 });
    expect(await queuedCount()).toBe(0);
    expect((await rejectedEvents()).map((r) => [r.event.progress.step, r.reason])).toEqual([["step-from-next-release", 'lab "dnat" has no step "step-from-next-release"']]);
    const lines = (await classStatusLines()).join("\n").replace(/\x1b\[[0-9;]*m/g, "");
    expect(lines).toContain("1 event was refused by the class server and is kept in");
    expect(lines).toContain('check, dnat step step-from-next-release: lab "dnat" has no step "step-from-next-release"');
    // Not sent again: the server saw two events.
    await flushOutbox(m, 3000);
    const rows = (await http(`${server.url}/api/class`, { token: server.instructorToken })).json.labs[0].rows;
    expect(rows[0].events).toBe(2);
  });
});
