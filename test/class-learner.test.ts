/**
 * The learner's side: joining, the outbox that keeps events while the class server is
 * down or silent and delivers them later, and the lesson screen's link (checks and
 * progress reported in the background, offers and messages coming in).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { joinClass, leaveClass } from "../src/class/join.js";
import { flushOutbox, queuedCount, readMembership, saveMembership } from "../src/class/learner.js";
import { classNotices, reportToClass, type LabRef } from "../src/class/report.js";
import { startClassServer, type ClassServer } from "../src/class/server.js";
import { linkToClass } from "../src/class/ui-link.js";
import { changeType, progressEvent, type RunEvent } from "../src/lab/lesson-run.js";
import { freshProgress, recordPass, revealHint } from "../src/state/progress.js";
import type { Controller } from "../src/ui/controller.js";
import type { ClassNotice } from "../src/ui/types.js";
import { DNAT, failingRoute } from "./helpers/class.js";
import { http } from "./helpers/http.js";

const REF: LabRef = { lab: "dnat", instance: "dnat", stepIds: DNAT.steps.map((s) => s.id) };
const IDS = REF.stepIds;
const dirs: string[] = [];
let serverDir: string;
let server: ClassServer | undefined;

async function temp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
const startServer = (port = 0) => startClassServer({ dir: serverDir, labs: [DNAT], title: "Workshop", port, bind: "127.0.0.1", broadcastMs: 10 });
const rows = async () => (await http(`${server!.url}/api/class`, { token: server!.instructorToken })).json.labs[0]?.rows ?? [];
const failedCheck = [{ index: 0, passed: false, results: [{ ...failingRoute, node: "rs1", description: failingRoute.description!, observation: undefined }] }];

beforeEach(async () => {
  process.env.XDG_STATE_HOME = await temp("lvs-learner-");
  serverDir = await temp("lvs-class-");
  server = await startServer();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("joining", () => {
  it("saves the membership; joining again under the same name keeps the learner; leaving forgets it", async () => {
    const first = await joinClass(`${server!.url}/some/path`, server!.joinCode, "alice");
    expect(first).toMatchObject({ url: server!.url, name: "alice", title: "Workshop" });
    expect((await joinClass(server!.url, server!.joinCode, "alice")).learner).toBe(first.learner);
    await expect(joinClass(server!.url, "WRONG-CODE", "bob")).rejects.toThrow("That join code is not this class's.");
    expect((await leaveClass())?.name).toBe("alice");
    expect(await readMembership()).toBeUndefined();
    const [row] = (await http(`${server!.url}/api/class`, { token: server!.instructorToken })).json.waiting;
    expect(row).toBeUndefined();
  });

  it("says so when no server answers", async () => {
    const url = server!.url;
    await server!.close();
    server = undefined;
    await expect(joinClass(url, "ABCD-EFGH", "alice")).rejects.toThrow(`No class server answers at ${url}`);
  });
});

describe("reporting never disturbs the lab", () => {
  it("does nothing when the learner is in no class", async () => {
    expect(await reportToClass("check", REF, freshProgress("dnat"), failedCheck)).toBeUndefined();
    expect(await queuedCount()).toBe(0);
  });

  it("queues events while the server is down and delivers them, once each, when it is back", async () => {
    await joinClass(server!.url, server!.joinCode, "alice");
    const port = Number(new URL(server!.url).port);
    await server!.close();
    server = undefined;

    let progress = freshProgress("dnat");
    const began = Date.now();
    const down = await reportToClass("check", REF, progress, failedCheck);
    progress = recordPass(progress, IDS, 0);
    await reportToClass("progress", REF, progress);
    expect(Date.now() - began).toBeLessThan(1000);
    expect(down?.problem).toMatch(/ECONNREFUSED/);
    expect(await queuedCount()).toBe(2);

    server = await startServer(port);
    const back = await reportToClass("hint", REF, revealHint(progress, IDS[1]!, 2));
    expect(back?.problem).toBeUndefined();
    expect(await queuedCount()).toBe(0);
    const [row] = await rows();
    expect(row).toMatchObject({ name: "alice", events: 3, current: 2, hints: 1, cells: ["passed", "todo", "todo"] });
  });

  it("gives up on a server that accepts but never answers within the deadline, keeping the event", async () => {
    await joinClass(server!.url, server!.joinCode, "alice");
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const m = (await readMembership())!;
    await saveMembership({ ...m, url: `http://127.0.0.1:${(silent.address() as { port: number }).port}` });
    const began = Date.now();
    const r = await reportToClass("check", REF, freshProgress("dnat"), failedCheck, 300);
    expect(Date.now() - began).toBeLessThan(800);
    expect(r?.problem).toMatch(/no answer/);
    expect(await queuedCount()).toBe(1);
    silent.close();
  });

  it("sends a repeated check only once a minute (check --watch)", async () => {
    await joinClass(server!.url, server!.joinCode, "alice");
    for (let i = 0; i < 3; i++) await reportToClass("check", REF, freshProgress("dnat"), failedCheck);
    expect((await rows())[0].events).toBe(1);
  });

  it("tells a learner the server no longer knows to join again", async () => {
    await joinClass(server!.url, server!.joinCode, "alice");
    const m = (await readMembership())!;
    await saveMembership({ ...m, token: `${m.learner}.${"x".repeat(43)}` });
    const r = await reportToClass("progress", REF, freshProgress("dnat"));
    expect(r?.unknown).toBe(true);
    expect(await classNotices(r, 1)).toEqual([`The class server at ${server!.url} does not know you any more: \`lvs-lab class join\` again, or \`lvs-lab class leave\`.`]);
    expect(await queuedCount()).toBe(1);
  });

  it("shows the open offer at every check and a message once", async () => {
    await joinClass(server!.url, server!.joinCode, "alice");
    await reportToClass("start", REF, freshProgress("dnat"));
    await http(`${server!.url}/api/catch-up`, { token: server!.instructorToken, body: JSON.stringify({ step: 3 }) });
    await http(`${server!.url}/api/say`, { token: server!.instructorToken, body: JSON.stringify({ text: "Look at rs1's routes" }) });
    const offer = "Your instructor offers to bring your lab to step 3: `lvs-lab solve --to 3 --name a1` applies the solutions of the steps before it that do not pass yet.";
    const first = await classNotices(await reportToClass("progress", REF, freshProgress("dnat")), 1, " --name a1");
    expect(first).toEqual(["Instructor: Look at rs1's routes", offer]);
    expect(await classNotices(await reportToClass("progress", REF, freshProgress("dnat")), 1, " --name a1")).toEqual([offer]);
  });
});

describe("the lesson screen's link", () => {
  /** A controller whose check fails step 1's route probe; it hands on events as createController does. */
  function fakeController(): Controller & { saved: unknown[] } {
    const saved: unknown[] = [];
    const session = { name: "dnat", lab: { lesson: { meta: { id: "dnat" }, steps: DNAT.steps } } };
    const listeners = new Set<(e: RunEvent) => void>();
    let current = freshProgress("dnat");
    return {
      saved,
      actions: {
        check: async (step) => {
          const results = [{ kind: "route", node: "rs1", description: failingRoute.description!, ok: false, message: failingRoute.message }];
          listeners.forEach((l) => l({ type: "check", progress: current, checks: [{ index: step, results, passed: false }] }));
          return results;
        },
        solve: async () => "",
        reset: async () => undefined as never,
        saveProgress: (p) => {
          saved.push(p);
          const event = progressEvent(current, p);
          current = p;
          listeners.forEach((l) => l(event));
        },
      },
      view: () => undefined as never,
      session: () => session as never,
      shell: async () => 0,
      flush: async () => undefined,
      checkTimes: [],
      progress: () => current,
      onEvent: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
  }

  it("reports checks and progress in the background and hands the instructor's offer and messages to the screen", async () => {
    await joinClass(server!.url, server!.joinCode, "alice");
    const ctrl = fakeController();
    const link = (await linkToClass(ctrl, { pollMs: 50 }))!;
    const notices: ClassNotice[] = [];
    link.controller.actions.subscribe!((n) => notices.push(n));
    await link.controller.actions.check(0);
    await link.controller.actions.check(0);
    link.controller.actions.saveProgress(revealHint(freshProgress("dnat"), "forward", 2));
    expect(ctrl.saved).toHaveLength(1);
    for (let i = 0; i < 100 && (await rows()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await http(`${server!.url}/api/catch-up`, { token: server!.instructorToken, body: JSON.stringify({ step: 2 }) });
    await http(`${server!.url}/api/say`, { token: server!.instructorToken, body: JSON.stringify({ text: "5 minutes left" }) });
    for (let i = 0; i < 100 && notices.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await link.close();
    expect(notices).toEqual([
      { kind: "offer", id: expect.any(String), step: 1 },
      { kind: "message", id: expect.any(String), text: "5 minutes left" },
    ]);
    // start, one check (the same result again is not news), the hint
    expect((await rows())[0]).toMatchObject({ events: 3, hints: 1, cells: ["failed", "todo", "todo"] });
  });

  it("names the kind of each progress change", () => {
    const p = freshProgress("dnat");
    expect(changeType(p, revealHint(p, "forward", 1))).toBe("hint");
    expect(changeType(p, { ...p, predictions: { forward: 1 } })).toBe("predict");
    expect(changeType(p, { ...p, solvedWithHelp: ["forward"] })).toBe("solve");
    expect(changeType(p, recordPass(p, IDS, 0))).toBe("progress");
  });

  it("is not there when the learner is in no class", async () => {
    expect(await linkToClass(fakeController())).toBeUndefined();
  });
});

describe("flushing", () => {
  it("delivers a large backlog in batches", async () => {
    await joinClass(server!.url, server!.joinCode, "alice");
    const m = (await readMembership())!;
    const { enqueue } = await import("../src/class/learner.js");
    const base = { type: "progress" as const, lab: "dnat", instance: "dnat", progress: { step: "forward", passed: [], solvedWithHelp: [], hintsShown: {}, predictions: {}, stepSeconds: 0 } };
    for (let i = 0; i < 150; i++) await enqueue(base, Date.now() + i);
    const r = await flushOutbox(m, 5000);
    expect(r).toMatchObject({ sent: 150, left: 0 });
    expect((await rows())[0].events).toBe(150);
  });
});
