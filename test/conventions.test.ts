/**
 * The command line's conventions, without Docker: typo suggestions, commander's messages in
 * the learner's language, colour decided per stream (NO_COLOR, FORCE_COLOR, TERM=dumb),
 * shell completion (the tree walk, and each script run by its own shell), and the --name
 * that printed commands carry.
 */
import { execa } from "execa";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { commandTree, complete, completionScript } from "../src/cli/completion.js";
import { buildProgram } from "../src/cli/main.js";
import { colourLevel } from "../src/cli/output.js";
import { editDistance, suggestions } from "../src/cli/suggest.js";
import { setLanguage } from "../src/i18n/index.js";
import { instanceFlag, nameQuotedCommands } from "../src/lab/instance-flag.js";
import { labImageRef } from "../src/docker/image.js";
import { startLab } from "../src/lab/session.js";
import { freshProgress } from "../src/state/progress.js";
import { createController } from "../src/ui/controller.js";
import { BIN } from "./helpers/cli.js";
import { FakeEngine } from "./helpers/fake-engine.js";

afterEach(() => void setLanguage("en"));

/** Temporary directories the tests make, removed at the end. */
const made: string[] = [];
const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

const COMMANDS = ["list", "start", "check", "predict", "solve", "reset", "selftest", "shell", "exec", "status", "stop", "doctor", "image", "bundle", "lint", "vm", "class", "completion", "help"];

describe("typo suggestions", () => {
  it("prefer the command the typed word begins, then the fewest edits", () => {
    expect(suggestions("stat", COMMANDS)).toEqual(["status"]);
    expect(suggestions("strat", COMMANDS)).toEqual(["start"]);
    expect(suggestions("chek", COMMANDS)).toEqual(["check"]);
    expect(suggestions("st", COMMANDS)).toEqual(["stop", "start", "status"]);
    expect(suggestions("sel", COMMANDS)).toEqual(["selftest"]);
    expect(suggestions("xyzzy", COMMANDS)).toEqual([]);
    expect(suggestions("--nmae", ["--name", "--step", "--all", "--json"])).toEqual(["--name"]);
  });

  it("count an adjacent swap as one edit", () => {
    expect(editDistance("strat", "start")).toBe(1);
    expect(editDistance("stat", "start")).toBe(1);
    expect(editDistance("stat", "status")).toBe(2);
  });
});

const run = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { reject: false, env: { PATH: process.env.PATH!, LANG: "C.UTF-8", ...env }, extendEnv: false });

describe("commander's messages", () => {
  it("an unknown command: one sentence with the closest command, exit 2", async () => {
    const r = await run(["stat"]);
    expect([r.exitCode, r.stderr]).toEqual([2, "lvs-lab: unknown command 'stat'. Did you mean status?\n(run `lvs-lab --help` for the commands)"]);
  });

  it("in Chinese under LANG=zh_CN.UTF-8: unknown command, unknown option, missing argument", async () => {
    const zh = { LANG: "zh_CN.UTF-8" };
    expect((await run(["stat"], zh)).stderr).toBe("lvs-lab: 未知命令 'stat'。你是不是想用 status？\n（运行 `lvs-lab --help` 查看所有命令）");
    expect((await run(["check", "--nmae", "x"], zh)).stderr).toBe("lvs-lab: 未知选项 '--nmae'。你是不是想用 --name？\n（运行 `lvs-lab --help` 查看所有命令）");
    const missing = await run(["start"], zh);
    expect([missing.exitCode, missing.stderr]).toEqual([2, "lvs-lab: 缺少必需的参数 'lab'。\n（运行 `lvs-lab --help` 查看所有命令）"]);
    expect((await run(["check", "--name"], zh)).stderr).toBe("lvs-lab: 选项 '--name <name>' 缺少取值。\n（运行 `lvs-lab --help` 查看所有命令）");
  });

  it("in English: an option without its value, too many arguments", async () => {
    expect((await run(["check", "--step"])).stderr).toBe("lvs-lab: option '--step <n>' needs a value.\n(run `lvs-lab --help` for the commands)");
    expect((await run(["status", "extra"])).stderr).toBe("lvs-lab: too many arguments for 'status': 1 given, 0 expected.\n(run `lvs-lab --help` for the commands)");
  });
});

describe("colour", () => {
  const ESC = "\x1b[";
  it("NO_COLOR wins over what chalk detected; otherwise chalk's level stands", () => {
    expect(colourLevel({ level: 2 }, { NO_COLOR: "1" })).toBe(0);
    expect(colourLevel({ level: 2 }, { NO_COLOR: "" })).toBe(2);
    expect(colourLevel(false, {})).toBe(0);
  });

  /** `lvs-lab list` from the real binary with only these variables, its stdout a pipe or a terminal (script(1) gives it a pty). */
  const list = async (env: Record<string, string>, terminal: boolean) => {
    const clean = { PATH: process.env.PATH!, LANG: "C.UTF-8", ...env };
    const r = terminal
      ? await execa("script", ["-qec", `node ${BIN} list`, "/dev/null"], { env: clean, extendEnv: false })
      : await execa("node", [BIN, "list"], { env: clean, extendEnv: false });
    return r.stdout;
  };

  it("in a pipe: none, unless FORCE_COLOR=1; NO_COLOR beats FORCE_COLOR", async () => {
    expect(await list({ TERM: "xterm-256color" }, false)).not.toContain(ESC);
    expect(await list({ TERM: "xterm-256color", FORCE_COLOR: "1" }, false)).toContain(ESC);
    expect(await list({ TERM: "xterm-256color", FORCE_COLOR: "1", NO_COLOR: "1" }, false)).not.toContain(ESC);
  });

  it("on a terminal: colour, but none with FORCE_COLOR=0, TERM=dumb or NO_COLOR", async () => {
    expect(await list({ TERM: "xterm-256color" }, true)).toContain(ESC);
    expect(await list({ TERM: "xterm-256color", FORCE_COLOR: "0" }, true)).not.toContain(ESC);
    expect(await list({ TERM: "dumb" }, true)).not.toContain(ESC);
    expect(await list({ TERM: "xterm-256color", NO_COLOR: "1" }, true)).not.toContain(ESC);
  });
});

describe("shell completion", () => {
  const tree = commandTree(buildProgram());

  it("commands at the start, the hidden __complete left out", () => {
    expect(complete(tree, [""]).candidates).toEqual(COMMANDS);
  });

  it("a subcommand's own commands; options after -, a command's and the global ones", () => {
    expect(complete(tree, ["vm", ""]).candidates).toEqual(["up", "down", "status", "help"]);
    const options = complete(tree, ["check", "--"]).candidates;
    expect(options).toEqual(expect.arrayContaining(["--name", "--step", "--all", "--json", "--watch", "--debug", "--help"]));
    expect(new Set(options).size).toBe(options.length);
  });

  it("lab names where a lab goes, instance names after --name and for stop", () => {
    expect(complete(tree, ["start", ""])).toEqual({ candidates: [], fill: "labs" });
    expect(complete(tree, ["selftest", "dnat", ""])).toEqual({ candidates: [], fill: "labs" });
    expect(complete(tree, ["check", "--name", ""])).toEqual({ candidates: [], fill: "instances" });
    expect(complete(tree, ["shell", "director", "--name", "w"])).toEqual({ candidates: [], fill: "instances" });
    expect(complete(tree, ["stop", ""])).toEqual({ candidates: [], fill: "instances" });
    // A value already given: back to the command's options.
    expect(complete(tree, ["check", "--name", "web", "--st"]).candidates).toContain("--step");
  });

  /** A PATH where `lvs-lab` is this checkout's binary, as a global install puts it. */
  async function pathWithBinary(): Promise<string> {
    const dir = await tempDir("lvs-lab-completion-");
    await writeFile(join(dir, "lvs-lab"), `#!/bin/sh\nexec node ${BIN} "$@"\n`);
    await chmod(join(dir, "lvs-lab"), 0o755);
    return `${dir}:${process.env.PATH}`;
  }

  it("bash: the script completes `lvs-lab stat` to status and `lvs-lab start d` to the d… labs", async () => {
    const PATH = await pathWithBinary();
    const words = async (...typed: string[]) => {
      const script = `${completionScript("bash")}\nCOMP_WORDS=(lvs-lab ${typed.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${typed.length}; _lvs_lab; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await execa("bash", ["-c", script], { env: { PATH } })).stdout.split("\n");
    };
    expect(await words("stat")).toEqual(["status"]);
    expect(await words("start", "d")).toEqual(["dnat", "dr"]);
    expect(await words("check", "--wa")).toEqual(["--watch"]);
  });

  it.runIf(existsSync("/usr/bin/zsh"))("zsh: sourced, the script registers _lvs_lab; in $fpath as _lvs-lab, compinit finds it", async () => {
    const sourced = `autoload -Uz compinit && compinit -u -D; ${completionScript("zsh")}\nprint -r -- $_comps[lvs-lab]`;
    expect((await execa("zsh", ["-fc", sourced])).stdout.trim()).toBe("_lvs_lab");
    const dir = await tempDir("lvs-lab-zsh-");
    await writeFile(join(dir, "_lvs-lab"), completionScript("zsh"));
    const autoloaded = `fpath=(${dir} $fpath); autoload -Uz compinit && compinit -u -D; print -r -- $_comps[lvs-lab]`;
    expect((await execa("zsh", ["-fc", autoloaded])).stdout.trim()).toBe("_lvs-lab");
  });

  it.runIf(existsSync("/usr/bin/fish"))("fish: `complete -C` offers status for `lvs-lab stat`", async () => {
    const PATH = await pathWithBinary();
    const r = await execa("fish", ["--no-config", "-c", `${completionScript("fish")}\ncomplete -C 'lvs-lab stat'`], { env: { PATH } });
    expect(r.stdout.split("\n")).toEqual(["status"]);
  });

  it("an unknown shell is one sentence and exit 2", async () => {
    const r = await run(["completion", "tcsh"]);
    expect([r.exitCode, r.stderr]).toEqual([2, "lvs-lab: Completion scripts exist for bash, zsh and fish, not tcsh."]);
  });
});

describe("printed commands name the instance where a bare one would not find it", () => {
  it("the lab's default instance alone: no flag; renamed, or beside another: --name", () => {
    expect(instanceFlag("dnat", "dnat", ["dnat"])).toBe("");
    expect(instanceFlag("web", "dnat", ["web"])).toBe(" --name web");
    expect(instanceFlag("dnat", "dnat", ["dnat", "web"])).toBe(" --name dnat");
  });

  it("lesson text: commands about the instance get the flag, the rest stay as written", () => {
    const text = "Open a shell on the director (`lvs-lab shell director`), then `lvs-lab check`; `lvs-lab list` shows labs; `lvs-lab stop --name x` stays.";
    expect(nameQuotedCommands(text, " --name web")).toBe(
      "Open a shell on the director (`lvs-lab shell director --name web`), then `lvs-lab check --name web`; `lvs-lab list` shows labs; `lvs-lab stop --name x` stays.",
    );
    expect(nameQuotedCommands(text, "")).toBe(text);
  });

  it("the UI's lesson: the quoted commands carry the flag the CLI computed", async () => {
    process.env.XDG_STATE_HOME = await tempDir("lvs-lab-conventions-");
    const engine = new FakeEngine();
    engine.images.add(labImageRef());
    const s = await startLab("dnat", engine, { name: "web" });
    const view = createController(s, freshProgress("dnat"), { interactiveShell: async () => 0, nameFlag: " --name web" }).view();
    expect(view.steps.map((st) => st.prose).join("\n")).toContain("(`lvs-lab shell director --name web`)");
    expect(view.steps.map((st) => st.prose).join("\n")).not.toMatch(/`lvs-lab (?:shell|check|solve)(?: [a-z0-9]+)?`/);
  });
});
