/**
 * The command-line help in Chinese (`lvs-lab --help`, `lvs-lab start --help` with
 * LANG=zh_CN.UTF-8): every description from the catalogue, commander's own words too,
 * wrapped within 80 terminal columns; English help stays commander's.
 */
import type { Command } from "commander";
import stringWidth from "string-width";
import { afterEach, describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/main.js";
import { breakPieces } from "../src/text/breaks.js";
import { setLanguage } from "../src/i18n/index.js";

const sub = (program: Command, ...path: string[]) => path.reduce((c, name) => c.commands.find((s) => s.name() === name)!, program);
const helpOf = (cmd: Command) => cmd.helpInformation({ error: false });

afterEach(() => void setLanguage("en"));

describe("the help in Chinese", () => {
  it("lvs-lab --help: the commands described in Chinese, within 80 columns", () => {
    setLanguage("zh-CN");
    const text = helpOf(buildProgram());
    expect(text).toMatch(/^用法： lvs-lab \[options\] \[command\]\n\n在容器中动手学习 Linux IP 负载均衡/);
    expect(text).toContain("\n选项：\n");
    expect(text).toContain("\n命令：\n");
    expect(text).toMatch(/-V, --version +显示版本号/);
    expect(text).toMatch(/list \[options\] +列出所有实验/);
    expect(text).toMatch(/help \[command\] +显示命令的帮助/);
    for (const line of text.split("\n")) expect(stringWidth(line), line).toBeLessThanOrEqual(80);
    expect(text).not.toMatch(/[a-z]{3,} [a-z]{3,} [a-z]{3,}/); // no English sentence left
  });

  it("lvs-lab start --help and class serve --help: options in Chinese, defaults too, no line over 80 columns", () => {
    setLanguage("zh-CN");
    const program = buildProgram();
    const start = helpOf(sub(program, "start"));
    expect(start).toContain("用法： lvs-lab start [options] <lab>\n\n创建实验的容器和网络并显示课程（实验已在运行时重新连上）");
    expect(start).toMatch(/--name <name> +实例名（默认：实验的 id），用来同时运行多个实例/);
    expect(start).toMatch(/-h, --help +显示命令的帮助/);
    const serve = helpOf(sub(program, "class", "serve"));
    expect(serve).toMatch(/--port <port> +TCP 端口（默认："7700"）/);
    expect(serve).toMatch(/标记为卡住\n +（默认："5"）/);
    for (const line of [...start.split("\n"), ...serve.split("\n")]) expect(stringWidth(line), line).toBeLessThanOrEqual(80);
  });

  it("English help is commander's own", () => {
    const text = helpOf(sub(buildProgram(), "start"));
    expect(text).toContain("Usage: lvs-lab start [options] <lab>\n\ncreate a lab's containers and networks and show the lesson (reattaches when it\nalready runs)\n\nOptions:\n");
    expect(text).toContain("  --lang <lang>  lesson language (default: from the locale)\n");
    expect(text).toContain("  -h, --help     display help for command");
  });
});

describe("where a line may break", () => {
  it("keeps English words whole and breaks Chinese between characters, never before closing or after opening punctuation", () => {
    expect(breakPieces("rs1’s “quoted” reply…")).toEqual(["rs1’s", " “quoted”", " reply…"]);
    expect(breakPieces("一台虚拟机，运行内核（ip_vs、ipip）和 Docker")).toEqual(["一", "台", "虚", "拟", "机，", "运", "行", "内", "核", "（ip_vs、ipip）", "和", " Docker"]);
    expect(breakPieces("卡住（默认：\"5\"）")).toEqual(["卡", "住", "（默认：\"5\"）"]);
  });
});
