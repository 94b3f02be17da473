/**
 * `lvs-lab shell` without a docker binary: the exec's TTY attached through the engine API
 * (dockerode), the terminal in raw mode, its size followed when the window changes, the
 * shell's exit code passed on. Run in a real terminal (a tmux pane) with a PATH that has
 * no docker.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cli } from "./helpers/cli.js";

const NAME = "engine-shell";
const SESSION = `lvs-lab-shell-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "lvs-lab-shell-"));
const state = { XDG_STATE_HOME: join(dir, "state"), XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? join(dir, "cache") };

const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", SESSION);

async function waitFor(what: RegExp, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    last = screen();
    if (what.test(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`waited ${timeoutMs} ms for ${String(what)}; the screen shows:\n${last}`);
}

const typeLine = (line: string) => {
  tmux("send-keys", "-t", SESSION, "-l", line);
  tmux("send-keys", "-t", SESSION, "Enter");
};

describe("lvs-lab shell through the engine API", () => {
  beforeAll(async () => {
    const started = await cli(["start", "dnat", "--name", NAME, "--no-ui"], state);
    expect(started.code, started.stderr).toBe(0);
  }, 600_000);

  afterAll(async () => {
    try {
      tmux("kill-session", "-t", SESSION);
    } catch {
      // already gone
    }
    await cli(["stop", "--name", NAME], state);
  });

  it("opens a shell on a node with no docker binary on PATH, follows the window's size, and passes on its exit code", async () => {
    // node alone on PATH: no docker command can be what attaches the terminal.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    const codeFile = join(dir, "code");
    const env = Object.entries({ ...state, PATH: bin, NO_COLOR: "1", HOME: process.env.HOME ?? "/root" })
      .map(([k, v]) => `${k}='${v}'`)
      .join(" ");
    tmux("new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30", `env -i ${env} ${process.execPath} ${BIN} shell client --name ${NAME}; echo $? > ${codeFile}; sleep 60`);
    await waitFor(/client:\/# *$/m);
    expect(() => execFileSync("sh", ["-c", "command -v docker"], { env: { PATH: bin } })).toThrow();
    typeLine("stty size; hostname");
    await waitFor(/^30 100\s*\nclient\s*$/m);
    tmux("resize-window", "-t", SESSION, "-x", "120", "-y", "40");
    typeLine("stty size");
    await waitFor(/^40 120\s*$/m);
    typeLine("exit 3");
    await new Promise<void>((resolve, reject) => {
      const end = Date.now() + 15_000;
      const poll = () => {
        try {
          if (readFileSync(codeFile, "utf8").trim() === "3") return resolve();
        } catch {
          // not yet written
        }
        if (Date.now() > end) return reject(new Error(`no exit code 3; the screen shows:\n${screen()}`));
        setTimeout(poll, 150);
      };
      poll();
    });
  }, 120_000);
});
