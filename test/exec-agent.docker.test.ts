/**
 * The command runner in each container (src/docker/exec-agent.ts) on the real engine: it
 * answers like `docker exec` (exit codes, separate output, environment, concurrency, a
 * daemon left behind), comes back when killed, and gives way to `docker exec` where it
 * cannot start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../src/docker/engine.js";
import { cli } from "./helpers/cli.js";

const NAME = "t-agent";
const engine = new Engine();
let director = "";

beforeAll(async () => {
  const started = await cli(["start", "dnat", "--name", NAME, "--no-ui", "--restart", "--no-vm"]);
  expect(started.code, started.stderr).toBe(0);
  director = (await engine.listContainers(NAME)).find((c) => c.labels["io.lvs-lab.node"] === "director")!.id;
}, 120_000);

afterAll(async () => {
  await cli(["stop", "--name", NAME]);
});

describe("the command runner in a lab container", () => {
  it("answers like docker exec: exit code, stdout and stderr apart, the environment", async () => {
    expect(await engine.execScript(director, 'echo "out $GREETING"; echo err >&2; exit 3', {})).toEqual({ exitCode: 3, stdout: "out \n", stderr: "err\n" });
    expect(await engine.exec(director, ["sh", "-c", 'echo "$GREETING"'], { env: { GREETING: "hello" } })).toEqual({ exitCode: 0, stdout: "hello\n", stderr: "" });
    expect((await engine.exec(director, ["no-such-command"])).exitCode).toBe(127);
  });

  it("runs commands side by side: a quick one is not held behind a slow one", async () => {
    const finished: string[] = [];
    await Promise.all([
      engine.execScript(director, "sleep 2; echo slow").then(() => finished.push("slow")),
      engine.execScript(director, "echo quick").then(() => finished.push("quick")),
    ]);
    expect(finished).toEqual(["quick", "slow"]);
  });

  it("answers when the command exits, though a daemon it started keeps running", async () => {
    const r = await engine.execScript(director, "setsid sleep 300 >/dev/null 2>&1 & sleep 30 & echo started", { timeoutMs: 20_000 });
    expect(r.stdout).toBe("started\n");
    await engine.execScript(director, "pkill -x sleep; true");
  });

  it("shows in ps under its own name, and comes back after a learner kills it", async () => {
    expect((await engine.execScript(director, "ps -eo args=")).stdout).toMatch(/^lvs-lab-agent /m);
    await engine.execScript(director, "pkill -f '^lvs-lab-agent '").catch(() => undefined);
    expect(await engine.execScript(director, "echo again")).toEqual({ exitCode: 0, stdout: "again\n", stderr: "" });
  });

  it("is not opened for the one command of a short-lived process (lvs-lab exec)", async () => {
    const fresh = new Engine();
    const client = (await engine.listContainers(NAME)).find((c) => c.labels["io.lvs-lab.node"] === "client")!.id;
    const r = await fresh.exec(client, ["ps", "-eo", "args="], { once: true });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toMatch(/^lvs-lab-agent /m);
  });

  it("gives way to docker exec in a container without python3", async () => {
    const other = new Engine();
    const client = (await engine.listContainers(NAME)).find((c) => c.labels["io.lvs-lab.node"] === "client")!.id;
    await engine.execScript(client, "mv /usr/bin/python3 /usr/bin/python3.away");
    try {
      expect(await other.execScript(client, "echo plain; exit 4")).toEqual({ exitCode: 4, stdout: "plain\n", stderr: "" });
      expect(await other.execScript(client, "echo still")).toEqual({ exitCode: 0, stdout: "still\n", stderr: "" });
    } finally {
      await engine.execScript(client, "mv /usr/bin/python3.away /usr/bin/python3");
    }
  });
});
