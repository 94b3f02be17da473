/**
 * A class end to end on this machine, every part real: `class serve` on 127.0.0.1, three
 * learners (each with their own state directory, as on their own machines) on three dnat
 * instances of the local engine. ann does the lab herself, ben stays stuck on step 1, cy
 * lags and is caught up by the instructor (`class catch-up`, then `solve --to 3`), then
 * finishes. /api/class, the CSV and `class watch` in tmux show exactly that.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cli } from "./helpers/cli.js";
import { http } from "./helpers/http.js";

const LEARNERS = ["ann", "ben", "cy"] as const;
type Name = (typeof LEARNERS)[number];
const instance = (n: Name) => `c-${n}`;
const SESSION = `lvs-lab-class-${process.pid}`;

const home: Partial<Record<Name | "teacher", string>> = {};
let server: ResultPromise | undefined;
let cls: { url: string; joinCode: string; instructorToken: string };

const as = (who: Name | "teacher", args: string[]) => cli(args, { XDG_STATE_HOME: home[who]! });
const run = async (who: Name, node: string, script: string) => {
  const r = await as(who, ["exec", node, "--name", instance(who), "--", "sh", "-c", script]);
  expect(r.code, r.stderr).toBe(0);
};
const check = (who: Name, ...more: string[]) => as(who, ["check", "--name", instance(who), ...more]);
const api = async (path: string) => (await http(`${cls.url}${path}`, { token: cls.instructorToken })).json;

beforeAll(async () => {
  for (const who of [...LEARNERS, "teacher"] as const) home[who] = await mkdtemp(join(tmpdir(), `lvs-class-${who}-`));
  await Promise.all(LEARNERS.map((n) => cli(["stop", "--name", instance(n)])));
  server = execa("node", [BIN, "class", "serve", "--port", "0", "--bind", "127.0.0.1", "--json", "--title", "Workshop", "--stuck-minutes", "0.05"], {
    env: { XDG_STATE_HOME: home.teacher! },
    reject: false,
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    let out = "";
    server!.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    void server!.then((r) => reject(new Error(`class serve ended: ${String(r.stderr)}`)));
  });
  cls = JSON.parse(firstLine);
  expect(cls.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  for (const n of LEARNERS) {
    const joined = await as(n, ["class", "join", cls.url, "--code", cls.joinCode, "--as", n]);
    expect(joined.stdout).toContain(`Joined "Workshop" as ${n}.`);
  }
  const started = await Promise.all(LEARNERS.map((n) => as(n, ["start", "dnat", "--name", instance(n), "--no-ui"])));
  for (const s of started) expect(s.code, s.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  try {
    execFileSync("tmux", ["kill-session", "-t", SESSION], { stdio: "ignore" });
  } catch {
    // no session
  }
  server?.kill("SIGTERM");
  await server;
  await Promise.all(LEARNERS.map((n) => cli(["stop", "--name", instance(n)])));
  await Promise.all(Object.values(home).map((d) => rm(d!, { recursive: true, force: true })));
});

interface Vars {
  "director.ext.iface": string;
  "director.int": string;
  "rs1.int": string;
}
async function varsOf(who: Name): Promise<Vars> {
  const rows = JSON.parse((await as(who, ["status", "--json"])).stdout) as Array<{ name: string; addresses: Record<string, Record<string, string>>; vars: Vars }>;
  const mine = rows.find((r) => r.name === instance(who))!;
  expect(mine.addresses.director).toEqual({ ext: expect.any(String), int: expect.any(String) });
  return mine.vars;
}

async function doTheLab(who: Name, from: 1 | 3): Promise<void> {
  const v = await varsOf(who);
  if (from === 1) {
    await run(who, "director", "echo 1 > /proc/sys/net/ipv4/ip_forward");
    await run(who, "director", `iptables -t nat -A PREROUTING -i ${v["director.ext.iface"]} -p tcp --dport 8001 -j DNAT --to-destination ${v["rs1.int"]}:8000`);
  }
  await run(who, "rs1", `ip route replace default via ${v["director.int"]}`);
}

describe("a workshop of three on real dnat labs", () => {
  let benFailing: string;

  it("hears of each learner's start, and of ben's failing check with its verdicts", async () => {
    const waiting = await api("/api/class");
    expect(waiting.labs[0].rows.map((r: { name: string; current: number }) => [r.name, r.current])).toEqual([
      ["ann", 1],
      ["ben", 1],
      ["cy", 1],
    ]);
    const ben = await check("ben", "--json");
    expect(ben.code).toBe(1);
    benFailing = JSON.parse(ben.stdout).probes.find((p: { ok: boolean; observe: boolean }) => !p.ok && !p.observe).description;
    const row = (await api("/api/class")).labs[0].rows.find((r: { name: string }) => r.name === "ben");
    expect(row).toMatchObject({ current: 1, cells: ["failed", "todo", "todo"], failing: [benFailing] });
    const detail = await api(`/api/learners/${row.learner}`);
    expect(detail.probes.find((p: { description: string }) => p.description === benFailing)).toMatchObject({ kind: "sysctl", ok: false });
  });

  it("follows ann through the whole lab done by herself", async () => {
    await doTheLab("ann", 1);
    const r = await check("ann");
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain("All steps done.");
  });

  it("brings cy to step 3 when the instructor offers it and cy accepts", async () => {
    expect((await check("cy")).code).toBe(1);
    const offered = await as("teacher", ["class", "catch-up", "--step", "3", "--learner", "cy"]);
    expect(offered.stdout.trim()).toBe("Offered step 3 to cy.");
    const seen = await check("cy");
    expect(seen.stdout).toContain("Your instructor offers to bring your lab to step 3: `lvs-lab solve --to 3 --name c-cy` applies the solutions of the steps before it that do not pass yet.");
    const caught = await as("cy", ["solve", "--to", "3", "--name", instance("cy")]);
    expect(caught.code, caught.stderr).toBe(0);
    expect(caught.stdout).toContain("Your lab is at the start of step 3: Send rs1's replies back through the director.");
    expect(caught.stdout).toContain("Steps 1, 2 count as solved with help.");
    await doTheLab("cy", 3);
    const done = await check("cy");
    expect(done.code, done.stdout).toBe(0);
    expect(done.stdout).not.toContain("Your instructor offers");
  });

  it("shows exactly that in /api/class and the CSV: ann done, ben stuck on step 1, cy caught up and done", async () => {
    await new Promise((r) => setTimeout(r, 3500));
    const grid = (await api("/api/class")).labs[0];
    const summary = grid.rows.map((r: any) => ({ name: r.name, current: r.current, cells: r.cells.join(" "), finished: r.finished, stuck: r.stuck, regressed: r.regressed, offer: r.offer }));
    expect(summary).toEqual([
      { name: "ann", current: 3, cells: "passed passed passed", finished: true, stuck: false, regressed: [], offer: undefined },
      { name: "ben", current: 1, cells: "failed todo todo", finished: false, stuck: true, regressed: [], offer: undefined },
      { name: "cy", current: 3, cells: "helped helped passed", finished: true, stuck: false, regressed: [], offer: undefined },
    ]);
    const csv = (await http(`${cls.url}/api/export.csv`, { token: cls.instructorToken })).text.trimEnd().split("\r\n");
    const withoutSeconds = (line: string) => line.split('","').filter((_, i) => i !== 8).join('","');
    expect(csv.map(withoutSeconds)).toEqual([
      '"learner","lab","instance","current_step","finished","passed","solved_with_help","hints","stuck","regressed_steps","failing","left","step_1","step_2","step_3"',
      '"ann","dnat","c-ann","3","true","3","0","0","false","","","false","passed","passed","passed"',
      `"ben","dnat","c-ben","1","false","0","0","0","true","","${benFailing}","false","failed","",""`,
      '"cy","dnat","c-cy","3","true","3","2","0","false","","","false","helped","helped","passed"',
    ]);
  });

  it("draws the same grid in `class watch` in an 80x24 tmux pane", async () => {
    // CI (the variable) makes ink print only the last frame; NO_COLOR keeps the capture plain.
    execFileSync("tmux", ["new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", `env -u CI XDG_STATE_HOME=${home.teacher} NO_COLOR=1 node ${BIN} class watch`]);
    // Generous: in CI this runs beside the emulated VM, and node with ink starts slowly then.
    const end = Date.now() + 60_000;
    let screen = "";
    while (Date.now() < end && !screen.includes("cy ")) {
      await new Promise((r) => setTimeout(r, 200));
      screen = execFileSync("tmux", ["capture-pane", "-p", "-t", SESSION], { encoding: "utf8" });
    }
    expect(screen).toMatch(/^lvs-lab class · Workshop +3 learners · live/);
    expect(screen).toMatch(/▶ ann +✔ ✔ ✔  done/);
    expect(screen).toMatch(/ {2}ben +✘ · · {2}1\/3 .* STUCK/);
    expect(screen).toMatch(/ {2}cy +✚ ✚ ✔ {2}done/);
    execFileSync("tmux", ["send-keys", "-t", SESSION, "Down", "Enter"]);
    const until = Date.now() + 10_000;
    while (Date.now() < until && !screen.includes("ben · dnat step 1/3")) {
      await new Promise((r) => setTimeout(r, 200));
      screen = execFileSync("tmux", ["capture-pane", "-p", "-t", SESSION], { encoding: "utf8" });
    }
    expect(screen).toContain("ben · dnat step 1/3: Let the director forward packets");
    expect(screen).toContain(`✘ ${benFailing}`.slice(0, 78));
    execFileSync("tmux", ["send-keys", "-t", SESSION, "q"]);
  });
});
