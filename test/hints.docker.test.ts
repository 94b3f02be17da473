/**
 * Against the real Docker engine: with two dnat labs running, every command lvs-lab prints
 * for the learner (start, check, predict, solve, the lesson's quoted commands) works as
 * printed — none of them meets "Several labs are running". And `check --json` of the real
 * lab is what the shipped schema says.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkReport } from "../src/cli/check-report.js";
import { nameQuotedCommands } from "../src/lab/instance-flag.js";
import { loadLab } from "../src/lesson/load.js";
import { BIN } from "./helpers/cli.js";

const NAMES = ["t-hints-a", "t-hints-b"];
let env: Record<string, string>;

/** The binary with this test's own state (progress, instance records) and cache (no VM of the others'). */
async function lvsLab(args: string[], input?: string) {
  const r = await execa("node", [BIN, ...args], { reject: false, env, input: input ?? "", timeout: 300_000 });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Every `lvs-lab …` command in a text, as the learner would copy it: quoted in backticks, or set off by two spaces. */
function printedCommands(text: string): string[] {
  const found = [...text.matchAll(/`(lvs-lab [^`]+)`|(?:^|\s{2})(lvs-lab \S.*?)(?=\s{2,}|$)/gm)].map((m) => (m[1] ?? m[2])!.trim());
  return [...new Set(found)];
}

/** Runs a printed command the way a learner fills its placeholders; a shell, on a terminal (script(1)), gets `exit 0` typed into it. */
async function runPrinted(command: string) {
  const words = command
    .split(/\s+/)
    .slice(1)
    .map((w) => (w === "<node>" ? "director" : w === "N" ? "2" : w));
  if (words[0] !== "shell") return lvsLab(words);
  const r = await execa("script", ["-qec", `node ${BIN} ${words.join(" ")}`, "/dev/null"], { reject: false, env, input: "exit 0\n", timeout: 120_000 });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

beforeAll(async () => {
  env = {
    ...(process.env as Record<string, string>),
    NO_COLOR: "1",
    XDG_STATE_HOME: await mkdtemp(join(tmpdir(), "lvs-lab-hints-state-")),
    XDG_CACHE_HOME: await mkdtemp(join(tmpdir(), "lvs-lab-hints-cache-")),
  };
  for (const name of NAMES) await lvsLab(["stop", "--name", name]);
}, 120_000);

afterAll(async () => {
  for (const name of NAMES) await lvsLab(["stop", "--name", name]);
  for (const dir of [env?.XDG_STATE_HOME, env?.XDG_CACHE_HOME]) if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe("two dnat labs at once: every printed command works as printed", () => {
  const starts: Record<string, string> = {};

  it("start prints shell, check and stop commands naming each instance", async () => {
    for (const name of NAMES) {
      const r = await lvsLab(["start", "dnat", "--name", name, "--no-ui"]);
      expect(r.code, r.stderr).toBe(0);
      starts[name] = r.stdout;
    }
    for (const name of NAMES) {
      expect(printedCommands(starts[name]!)).toEqual([`lvs-lab shell <node> --name ${name}`, `lvs-lab check --name ${name}`, `lvs-lab stop --name ${name}`]);
    }
  }, 300_000);

  it("shell and check as printed reach their own instance", async () => {
    for (const name of NAMES) {
      for (const command of printedCommands(starts[name]!).filter((c) => !c.includes(" stop "))) {
        const r = await runPrinted(command);
        expect(r.stderr, command).not.toContain("Several labs are running");
        // check exits 1: step 1 is not done yet; the shell exits as typed.
        expect(r.code, `${command}\n${r.stderr}`).toBe(command.includes(" check ") ? 1 : 0);
        if (command.includes(" check ")) expect(r.stdout).toContain(`Step 1/3: Let the director forward packets`);
      }
    }
  }, 300_000);

  it("a failing check's hint, predict's and solve's instructions, the lesson's quoted commands", async () => {
    const [a, b] = NAMES as [string, string];
    const failing = await lvsLab(["check", "--name", a]);
    expect(printedCommands(failing.stdout)).toEqual([`lvs-lab start dnat --name ${a}`]);
    const restart = await runPrinted(`lvs-lab start dnat --name ${a}`);
    expect([restart.code, restart.stderr]).toEqual([0, expect.stringContaining(`reattached to the running instance ${a}`)]);

    const solved = await lvsLab(["solve", "--name", b]);
    expect(printedCommands(solved.stdout)).toEqual([`lvs-lab check --name ${b}`]);
    const passed = await runPrinted(`lvs-lab check --name ${b}`);
    expect([passed.code, passed.stdout]).toEqual([0, expect.stringContaining("Next: step 2, Rewrite the destination with DNAT.")]);

    // Step 2 asks for a prediction first.
    const predict = await lvsLab(["predict", "--name", b]);
    expect(printedCommands(predict.stdout)).toEqual([`lvs-lab predict N --name ${b}`, `lvs-lab check --name ${b}`]);
    const predicted = await runPrinted(`lvs-lab predict N --name ${b}`);
    expect([predicted.code, predicted.stdout]).toEqual([0, expect.stringContaining("← your prediction")]);
    expect(printedCommands(predicted.stdout)).toEqual([`lvs-lab check --name ${b}`]);
    const measured = await runPrinted(`lvs-lab check --name ${b}`);
    expect([measured.code, measured.stderr]).toEqual([1, ""]);

    // The lesson as the UI shows it: `lvs-lab shell director` in step 2's prose names the instance.
    const lesson = await loadLab("dnat");
    const quoted = printedCommands(nameQuotedCommands(lesson.lesson.steps.map((s) => s.prose).join("\n"), ` --name ${b}`));
    expect(quoted).toContain(`lvs-lab shell director --name ${b}`);
    for (const command of quoted) {
      const r = await runPrinted(command);
      expect(r.stderr, command).not.toContain("Several labs are running");
      expect(r.code, `${command}\n${r.stderr}`).toBe(0);
    }
  }, 600_000);

  it("check --json of a real lab configured ahead: the schema's shape, step the one that holds the learner back", async () => {
    const [a] = NAMES as [string];
    const exec = (node: string, script: string) => lvsLab(["exec", node, "--name", a, "--", "sh", "-c", script]);
    const iface = /^\d+:\s+(\S+)\s+inet 198\./m.exec((await exec("director", "ip -o -4 addr show")).stdout)![1]!;
    const rs1 = /inet (10\.\d+\.\d+\.\d+)\//.exec((await exec("rs1", "ip -o -4 addr show eth0")).stdout)![1]!;
    expect((await exec("director", `sysctl -w net.ipv4.ip_forward=1 && iptables -t nat -A PREROUTING -i ${iface} -p tcp --dport 8001 -j DNAT --to-destination ${rs1}:8000`)).code).toBe(0);
    const r = await lvsLab(["check", "--name", a, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = checkReport.parse(JSON.parse(r.stdout));
    expect(report.steps.map((s) => [s.number, s.passed])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(report).toMatchObject({ passed: true, current: 3, step: { number: 3, id: "gateway", of: 3 }, finished: false });
    expect(report.probes).toEqual(report.steps[2]!.probes);
    // Step 2's observations (no answer comes back yet) are marked: shown, never counted.
    expect(report.steps[1]!.probes.filter((p) => p.observe).map((p) => p.kind)).toEqual(["http", "command"]);

    const finish = await lvsLab(["solve", "--name", a]);
    expect(finish.code, finish.stderr).toBe(0);
    const done = await lvsLab(["check", "--name", a]);
    expect(printedCommands(done.stdout)).toEqual([`lvs-lab stop --name ${a}`]);
    const stop = await runPrinted(`lvs-lab stop --name ${a}`);
    expect([stop.code, stop.stderr]).toEqual([0, expect.stringContaining(`stopped ${a}:`)]);
  }, 600_000);
});

describe("--json on start, reset and image", () => {
  it("start of a running instance, reset to a step, image build: one JSON document on stdout", async () => {
    const [, b] = NAMES as [string, string];
    const started = await lvsLab(["start", "dnat", "--name", b, "--json"]);
    expect(started.code, started.stderr).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ instance: b, lab: "dnat", reattached: true, step: { number: 2, id: "dnat-rule", of: 3 }, passed: ["forward"] });
    const reset = await lvsLab(["reset", "--name", b, "--step", "1", "--json"]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({ instance: b, step: { number: 1, id: "forward" } });
    const image = await lvsLab(["image", "build", "--json"]);
    expect(image.code, image.stderr).toBe(0);
    expect(JSON.parse(image.stdout)).toMatchObject({ image: expect.stringMatching(/^lvs-lab\//), engine: expect.any(String) });
  }, 300_000);
});
